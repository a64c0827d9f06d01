#include "nasty_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "test_support.h"

namespace lmover::test {
namespace {

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = char(rng());
  return s;
}

void check(int rc, const std::string& what) {
  if (rc < 0) throw std::runtime_error(what + ": " + strerror(errno));
}

void make_socket(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // bind() needs a short path: bind relative to the directory.
  std::string dir = path.substr(0, path.rfind('/'));
  std::string name = path.substr(path.rfind('/') + 1);
  int cwd = open(".", O_RDONLY);
  check(chdir(dir.c_str()), "chdir " + dir);
  strncpy(addr.sun_path, name.c_str(), sizeof addr.sun_path - 1);
  check(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), "bind " + path);
  check(fchdir(cwd), "fchdir");
  close(cwd);
  close(fd);
}

void sparse_file(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
  check(fd, "create " + path);
  check(ftruncate(fd, 64 << 20), "truncate");
  std::string data = random_bytes(5000, 7);
  check(int(pwrite(fd, data.data(), data.size(), 1 << 20)), "pwrite");
  check(int(pwrite(fd, data.data(), data.size(), (40 << 20) + 123)), "pwrite");
  close(fd);
}

const timespec kOld = ts(1000000000, 123456789);  // 2001-09-09, ns set
const timespec kOlder = ts(900000000, 987654321);
const timespec kDirTime = ts(1100000000, 500000000);

// Sets every entry's atime and mtime below `dir_fd`, leaves before their directory (touching a
// child never changes the parent's times, but creating does, so this runs after all creation).
// By fds: the tree is deeper than PATH_MAX.
void set_tree_times(int dir_fd) {
  DIR* dir = fdopendir(dup(dir_fd));
  std::vector<std::pair<std::string, bool>> children;
  while (dirent* e = readdir(dir)) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) children.emplace_back(e->d_name, e->d_type == DT_DIR);
  }
  closedir(dir);
  for (const auto& [name, is_dir] : children) {
    if (is_dir) {
      int sub = openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      check(sub, "open " + name);
      set_tree_times(sub);
      timespec t[2] = {kDirTime, kDirTime};
      check(futimens(sub, t), "futimens " + name);
      close(sub);
    } else {
      timespec t[2] = {kOld, kOld};
      check(utimensat(dir_fd, name.c_str(), t, AT_SYMLINK_NOFOLLOW), "utimensat " + name);
    }
  }
}

}  // namespace

void build_deep_chain(const std::string& root, int levels) {
  std::string name(200, 'd');
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY);
  check(fd, "open " + root);
  for (int i = 0; i < levels; ++i) {
    name[0] = char('a' + i % 26);
    check(mkdirat(fd, name.c_str(), 0755), "mkdirat deep");
    int next = openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY);
    check(next, "openat deep");
    close(fd);
    fd = next;
  }
  int f = openat(fd, "bottom.txt", O_WRONLY | O_CREAT, 0600);
  check(f, "create bottom");
  check(int(write(f, "deep", 4)), "write bottom");
  close(f);
  close(fd);
}

// cap_net_bind_service,cap_net_admin+ep as the kernel stores it (struct vfs_cap_data, revision 2,
// little-endian): what `setcap` writes, without needing setcap.
void set_capabilities(const std::string& path) {
  const uint32_t words[5] = {0x02000000u | 0x1u, (1u << 10) | (1u << 12), 0, 0, 0};
  set_xattr(path, "security.capability", std::string(reinterpret_cast<const char*>(words), sizeof words));
}

void build_nasty_tree(const std::string& r) {
  // Regular files of many sizes.
  make_dir(r + "/files");
  const size_t sizes[] = {0, 1, 4095, 4096, 4097, 65536, (1 << 20) + 3, 3 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; ++i) {
    write_file(r + "/files/size" + std::to_string(sizes[i]), random_bytes(sizes[i], unsigned(i)));
  }
  sparse_file(r + "/files/sparse");
  write_file(r + "/files/rewrite-me", "AAAA");
  write_file(r + "/files/rename-me", "rename");
  write_file(r + "/files/delete-me", "delete");
  write_file(r + "/files/becomes-dir", "file");
  write_file(r + "/files/becomes-fifo", "file");
  write_file(r + "/files/meta-only", "meta");

  // Odd names: not UTF-8, a newline, 255 bytes, a leading dash.
  make_dir(r + "/names");
  write_file(r + "/names/\xff\xfe-latin1-\xe9", "x");
  write_file(r + "/names/new\nline", "n");
  write_file(r + "/names/" + std::string(255, 'L'), "long");
  write_file(r + "/names/-dash", "d");
  make_dir(r + "/names/dir-\x80\x81");

  // Hard links: a group across directories, a group inside one directory.
  make_dir(r + "/links");
  make_dir(r + "/links/a");
  make_dir(r + "/links/b");
  write_file(r + "/links/a/one", "linked content");
  check(link((r + "/links/a/one").c_str(), (r + "/links/b/two").c_str()), "link");
  check(link((r + "/links/a/one").c_str(), (r + "/links/three").c_str()), "link");
  write_file(r + "/links/a/pair", "pair");
  check(link((r + "/links/a/pair").c_str(), (r + "/links/a/pair2").c_str()), "link");
  write_file(r + "/links/a/to-break", "break");
  check(link((r + "/links/a/to-break").c_str(), (r + "/links/b/to-break").c_str()), "link");
  write_file(r + "/links/lonely", "lonely");

  // Symlinks: relative, absolute, dangling, non-UTF-8 target, owned by someone else.
  make_dir(r + "/symlinks");
  check(symlink("../files/size1", (r + "/symlinks/rel").c_str()), "symlink");
  check(symlink("/etc/passwd", (r + "/symlinks/abs").c_str()), "symlink");
  check(symlink("does/not/exist", (r + "/symlinks/dangling").c_str()), "symlink");
  check(symlink("t\xff\xfe", (r + "/symlinks/binary-target").c_str()), "symlink");
  check(lchown((r + "/symlinks/rel").c_str(), 4242, 4343), "lchown");
  check(symlink("x", (r + "/symlinks/becomes-file").c_str()), "symlink");
  set_xattr(r + "/symlinks/abs", "trusted.on-symlink", "yes");

  // Specials.
  make_dir(r + "/special");
  check(mkfifo((r + "/special/fifo").c_str(), 0620), "mkfifo");
  make_socket(r + "/special/sock");
  check(mknod((r + "/special/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), "mknod c");
  check(mknod((r + "/special/blk").c_str(), S_IFBLK | 0660, makedev(7, 200)), "mknod b");

  // Modes and owners: setuid/setgid/sticky, numeric ids nobody has, 000, read-only dirs with content.
  make_dir(r + "/modes");
  write_file(r + "/modes/setuid", "suid");
  check(chown((r + "/modes/setuid").c_str(), 1001, 1002), "chown");
  check(chmod((r + "/modes/setuid").c_str(), 06755), "chmod");
  make_dir(r + "/modes/setgid-dir", 02775);
  make_dir(r + "/modes/sticky", 01777);
  write_file(r + "/modes/zero", "zero");
  check(chmod((r + "/modes/zero").c_str(), 0), "chmod");
  make_dir(r + "/modes/closed");
  write_file(r + "/modes/closed/inside", "hidden");
  make_dir(r + "/modes/closed/sub");
  write_file(r + "/modes/readonly-file", "ro");
  make_dir(r + "/modes/readonly");
  write_file(r + "/modes/readonly/inside", "ro");
  check(chown((r + "/modes/closed").c_str(), 5000, 5001), "chown");

  // Xattrs in every namespace we may use, and POSIX ACLs (access and default).
  make_dir(r + "/attrs");
  write_file(r + "/attrs/x", "x");
  set_xattr(r + "/attrs/x", "user.plain", "value");
  set_xattr(r + "/attrs/x", "user.binary", std::string("\0\1\2\xff", 4));
  set_xattr(r + "/attrs/x", "trusted.admin", "t");
  set_xattr(r + "/attrs/x", "security.lmover-test", "s");
  write_file(r + "/attrs/acl", "acl");
  set_acl(r + "/attrs/acl", "u::rw-,u:1234:r--,g::r--,g:77:rw-,m::rw-,o::---");
  make_dir(r + "/attrs/default-acl");
  set_acl(r + "/attrs/default-acl", "u::rwx,u:99:r-x,g::r-x,m::r-x,o::---", true);
  set_xattr(r + "/attrs/default-acl", "user.dir", "d");
  write_file(r + "/attrs/default-acl/child", "inherits");
  // File capabilities (the kernel drops them on chown and on write): root-owned and foreign-owned.
  write_file(r + "/attrs/cap-root", "ptp helper");
  set_capabilities(r + "/attrs/cap-root");
  write_file(r + "/attrs/cap-foreign", "foreign helper");
  check(chown((r + "/attrs/cap-foreign").c_str(), 2345, 2346), "chown");
  check(chmod((r + "/attrs/cap-foreign").c_str(), 0750), "chmod");
  set_capabilities(r + "/attrs/cap-foreign");

  // Directories that will change type or go away.
  make_dir(r + "/becomes-file");
  write_file(r + "/becomes-file/content", "c");
  make_dir(r + "/delete-tree");
  make_dir(r + "/delete-tree/sub");
  write_file(r + "/delete-tree/sub/f", "f");
  make_dir(r + "/rename-dir");
  write_file(r + "/rename-dir/f", "f");

  build_deep_chain(r, 30);  // 30 x 201 bytes: far beyond PATH_MAX (4096)

  // Times last, leaves before their directories, so nothing bumps them again.
  int root_fd = open(r.c_str(), O_RDONLY | O_DIRECTORY);
  set_tree_times(root_fd);
  set_times(r + "/files/size1", kOlder, kOld);
  set_times(r + "/symlinks/rel", kOlder, kOld);
  timespec t[2] = {kDirTime, kDirTime};
  check(futimens(root_fd, t), "futimens root");
  close(root_fd);

  // Closed directories last: their content was written above.
  check(chmod((r + "/modes/readonly").c_str(), 0555), "chmod");
  check(chmod((r + "/modes/closed").c_str(), 0), "chmod");
  set_times(r + "/modes/closed", kOlder, kOld);
}

void mutate_nasty_tree(const std::string& r) {
  // Same size, new content, new mtime.
  write_file(r + "/files/rewrite-me", "BBBB");
  set_times(r + "/files/rewrite-me", kOld, ts(1000000001, 1));
  check(rename((r + "/files/rename-me").c_str(), (r + "/files/renamed").c_str()), "rename");
  check(unlink((r + "/files/delete-me").c_str()), "unlink");
  // file -> dir, dir -> file, symlink -> file, file -> fifo
  check(unlink((r + "/files/becomes-dir").c_str()), "unlink");
  make_dir(r + "/files/becomes-dir");
  write_file(r + "/files/becomes-dir/now-inside", "inside");
  run_shell("rm -rf '" + r + "/becomes-file'");
  write_file(r + "/becomes-file", "now a file");
  check(unlink((r + "/symlinks/becomes-file").c_str()), "unlink");
  write_file(r + "/symlinks/becomes-file", "was a symlink");
  check(unlink((r + "/files/becomes-fifo").c_str()), "unlink");
  check(mkfifo((r + "/files/becomes-fifo").c_str(), 0600), "mkfifo");
  // Metadata only: xattr, ACL, mode, owner.
  set_xattr(r + "/files/meta-only", "user.added", "later");
  set_acl(r + "/attrs/acl", "u::rw-,u:1234:rw-,g::r--,m::rw-,o::r--");
  check(chmod((r + "/modes/readonly-file").c_str(), 0400), "chmod");
  check(chown((r + "/links/lonely").c_str(), 777, 778), "chown");
  check(removexattr((r + "/attrs/x").c_str(), "user.plain"), "removexattr");
  // New content and a new owner for the capable files: each must get its capabilities back.
  write_file(r + "/attrs/cap-root", "ptp helper, v2");
  set_capabilities(r + "/attrs/cap-root");
  check(chown((r + "/attrs/cap-foreign").c_str(), 2347, 2346), "chown");
  set_capabilities(r + "/attrs/cap-foreign");
  // A new hard link to an existing file, and a broken one.
  check(link((r + "/links/lonely").c_str(), (r + "/links/a/lonely-twin").c_str()), "link");
  check(unlink((r + "/links/b/to-break").c_str()), "unlink");
  write_file(r + "/links/b/to-break", "break");
  // Trees renamed and deleted.
  check(rename((r + "/rename-dir").c_str(), (r + "/renamed-dir").c_str()), "rename");
  run_shell("rm -rf '" + r + "/delete-tree'");
  run_shell("chmod 755 '" + r + "/modes/readonly' && rm '" + r + "/modes/readonly/inside' && chmod 555 '" + r +
            "/modes/readonly'");
}

}  // namespace lmover::test
