// Project ids (the quota accounting unit of XFS, ext4 and Lustre) and the project-inherit flag of
// directories, through the generic FS_IOC_FSGETXATTR / FS_IOC_FSSETXATTR ioctls. They need an open
// file or directory: symlinks and special files keep the target filesystem's.
//
// Changing a project id changes the inode's ctime, so the unchanged rule (ctime) already notices a
// changed project id without reading it on every pass.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace lmover {

struct ProjectId {
  uint32_t id = 0;
  bool inherit = false;  // FS_XFLAG_PROJINHERIT: new entries in this directory get its id
  bool operator==(const ProjectId&) const = default;
};

// nullopt when the filesystem has no project ids (ENOTTY, EOPNOTSUPP, EINVAL). `dev` is the entry's
// st_dev: a filesystem that said so once is not asked again, because asking can cost a request of
// its own (FUSE opens the file on the server for the ioctl, and a directory too). Throws FsError.
std::optional<ProjectId> read_project_id(int fd, dev_t dev, std::string_view rel);

// Makes the entry open at `fd` carry `wanted`; returns true if written. A target that cannot hold
// project ids is warned about once per process and otherwise left alone (the copy goes on).
// Throws FsError for any other failure.
bool sync_project_id(int fd, const ProjectId& wanted, std::string_view rel);

}  // namespace lmover
