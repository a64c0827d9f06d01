#include "fs/data_copy.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "fs/fs_error.h"

namespace lmover {
namespace {

constexpr size_t kBufSize = 1 << 20;
constexpr size_t kRangeChunk = 1 << 30;  // bounded calls keep a huge copy interruptible
// Below this size one pread + one pwrite beat copy_file_range, whose splice machinery costs more
// than it saves on small files (measured on tmpfs: 100k files of 0-16 KiB, 1.6 s vs 1.3 s);
// above it, server-side copies and reflinks make copy_file_range worth asking for.
constexpr off_t kCopyRangeMinSize = 1 << 20;

// copy_file_range is refused between some filesystems (EXDEV) or by old kernels (ENOSYS); once
// refused, the rest of the run uses pread/pwrite without asking again.
std::atomic<bool> g_copy_range_usable{true};

bool copy_range_refused(int err) { return err == EXDEV || err == ENOSYS || err == EOPNOTSUPP || err == EINVAL; }

uint64_t copy_with_buffer(int in, int out, off_t off, off_t len, std::string_view rel) {
  // Page-aligned, as the kernel copies whole pages fastest (and O_DIRECT would require).
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<char, Free> buf(static_cast<char*>(std::aligned_alloc(4096, kBufSize)));
  if (!buf) throw FsError("allocate a copy buffer", rel, ENOMEM);
  uint64_t done = 0;
  while (len > 0) {
    ssize_t n = pread(in, buf.get(), static_cast<size_t>(std::min<off_t>(len, kBufSize)), off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw FsError("read", rel, errno);
    }
    if (n == 0) break;  // the source shrank
    for (ssize_t written = 0; written < n;) {
      ssize_t w = pwrite(out, buf.get() + written, static_cast<size_t>(n - written), off + written);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw FsError("write", rel, errno);
      }
      written += w;
    }
    off += n;
    len -= n;
    done += static_cast<uint64_t>(n);
  }
  return done;
}

// Copies [off, off+len) to the same offsets of `out`.
uint64_t copy_range(int in, int out, off_t off, off_t len, std::string_view rel) {
  uint64_t done = 0;
  while (len > 0 && g_copy_range_usable.load(std::memory_order_relaxed)) {
    loff_t in_off = off, out_off = off;
    ssize_t n = copy_file_range(in, &in_off, out, &out_off, static_cast<size_t>(std::min<off_t>(len, kRangeChunk)), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (done == 0 && copy_range_refused(errno)) {
        g_copy_range_usable = false;
        break;
      }
      throw FsError("copy", rel, errno);
    }
    if (n == 0) return done;  // the source shrank
    off += n;
    len -= n;
    done += static_cast<uint64_t>(n);
  }
  return done + copy_with_buffer(in, out, off, len, rel);
}

}  // namespace

void for_each_data_segment(int fd, off_t begin, off_t end, std::string_view rel,
                           const std::function<void(off_t, off_t)>& segment) {
  for (off_t pos = begin; pos < end;) {
    off_t data = lseek(fd, pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole remains
      throw FsError("seek data", rel, errno);
    }
    if (data >= end) break;
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) throw FsError("seek hole", rel, errno);
    hole = std::min(hole, end);
    segment(data, hole);
    pos = hole;
  }
}

uint64_t copy_data_range(int in_fd, int out_fd, const EntryMeta& src, off_t begin, off_t end, std::string_view rel) {
  end = std::min<off_t>(end, src.size);
  if (begin >= end) return 0;
  bool sparse = src.blocks * 512 < src.size;
  if (end - begin < kCopyRangeMinSize && !sparse) return copy_with_buffer(in_fd, out_fd, begin, end - begin, rel);
  if (!sparse) return copy_range(in_fd, out_fd, begin, end - begin, rel);

  uint64_t done = 0;
  for_each_data_segment(in_fd, begin, end, rel, [&](off_t data, off_t hole) { done += copy_range(in_fd, out_fd, data, hole - data, rel); });
  return done;
}

uint64_t copy_data(int in_fd, int out_fd, const EntryMeta& src, std::string_view rel) {
  if (src.size == 0) return 0;
  uint64_t done = copy_data_range(in_fd, out_fd, src, 0, src.size, rel);
  // The trailing hole, if any, exists only as the file size.
  if (src.blocks * 512 < src.size) check(ftruncate(out_fd, src.size), "truncate", rel);
  return done;
}

}  // namespace lmover

namespace lmover {
namespace {

// Reads up to `size` bytes at `off`: fewer only at the end of the file.
size_t read_full(int fd, char* buf, size_t size, off_t off, std::string_view rel) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = pread(fd, buf + got, size - got, off + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw FsError("read", rel, errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

}  // namespace

bool same_bytes(int a, int b, std::string_view rel) {
  constexpr size_t kCompareBuf = 256 << 10;
  thread_local std::unique_ptr<char[]> left(new char[kCompareBuf]), right(new char[kCompareBuf]);
  for (off_t off = 0;; off += static_cast<off_t>(kCompareBuf)) {
    size_t n = read_full(a, left.get(), kCompareBuf, off, rel);
    size_t m = read_full(b, right.get(), kCompareBuf, off, rel);
    if (n != m || std::memcmp(left.get(), right.get(), n) != 0) return false;
    if (n < kCompareBuf) return true;
  }
}

}  // namespace lmover
