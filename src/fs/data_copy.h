// Copying the bytes of one regular file. Holes stay holes (SEEK_DATA/SEEK_HOLE), data moves with
// copy_file_range where the kernel allows it (server-side copy, reflinks) and with pread/pwrite
// otherwise. The source size is the one stat'ed before the copy; a file that changes meanwhile is
// the caller's to notice (passes/entry_copy.h, changed_since), since a writer may put the mtime back.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "fs/entry_meta.h"

namespace lmover {

// Calls `segment(data, hole)` for each stretch of data of the file open at `fd` within [begin, end)
// (SEEK_DATA/SEEK_HOLE; a filesystem without holes shows one). Throws FsError naming `rel`.
void for_each_data_segment(int fd, off_t begin, off_t end, std::string_view rel,
                           const std::function<void(off_t, off_t)>& segment);

// Copies `src.size` bytes from `in_fd` to the empty file `out_fd`; returns bytes written.
uint64_t copy_data(int in_fd, int out_fd, const EntryMeta& src, std::string_view rel);

// Copies bytes [begin, end) of the source to the same offsets of `out_fd`, a file already as
// long as the source (ftruncate'd), whose holes stay holes: the piece one chunk task copies.
uint64_t copy_data_range(int in_fd, int out_fd, const EntryMeta& src, off_t begin, off_t end, std::string_view rel);

// Whether the files open at `a` and `b` hold the same bytes: both read to the end, or to the first
// difference. Throws FsError naming `rel`.
bool same_bytes(int a, int b, std::string_view rel);

}  // namespace lmover
