// An LD_PRELOAD shim that holds lmover still in the middle of reading one source file, so a test can
// change the source exactly then: while a copy is reading it, between two chunks, or with a run
// frozen while it holds its lock. Real reads, real files: only the timing is the test's.
//
//   LMOVER_SHIM_NAME    base name of the file whose read is held (required)
//   LMOVER_SHIM_OFFSET  hold only a read that starts at or past this offset (default 0)
//   LMOVER_SHIM_SKIP    let this many such reads pass first (default 0)
//   LMOVER_SHIM_AFTER   1: hold once the read has returned (the bytes are read: a change now is
//                       one the copy cannot have seen), else before it
//   LMOVER_SHIM_DIR     directory of the hand-shake files: the shim creates "held" when it holds a
//                       read and goes on when the test creates "go" (or after 30 s)
//
// Only the first such read of the process is held. pread and copy_file_range are covered:
// data_copy.cc uses pread below 1 MiB and copy_file_range above.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int held_once;
static atomic_int seen;

static int is_target(int fd, off_t offset) {
  const char* name = getenv("LMOVER_SHIM_NAME");
  if (!name || atomic_load(&held_once)) return 0;
  const char* min = getenv("LMOVER_SHIM_OFFSET");
  if (min && offset < atoll(min)) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = 0;
  const char* base = strrchr(path, '/');
  base = base ? base + 1 : path;
  // Only the source side: a target file has the same name, so O_WRONLY descriptors are left alone.
  int flags = fcntl(fd, F_GETFL);
  if (strcmp(base, name) != 0 || (flags & O_ACCMODE) != O_RDONLY) return 0;
  const char* skip = getenv("LMOVER_SHIM_SKIP");
  return atomic_fetch_add(&seen, 1) >= (skip ? atoi(skip) : 0);
}

static void hold(void) {
  if (atomic_exchange(&held_once, 1)) return;
  const char* dir = getenv("LMOVER_SHIM_DIR");
  if (!dir) return;
  char held[4096], go[4096];
  snprintf(held, sizeof held, "%s/held", dir);
  snprintf(go, sizeof go, "%s/go", dir);
  close(open(held, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  struct stat st;
  for (int i = 0; i < 30000 && stat(go, &st) != 0; ++i) {
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
}

static int hold_after(void) {
  const char* after = getenv("LMOVER_SHIM_AFTER");
  return after && strcmp(after, "1") == 0;
}

ssize_t pread(int fd, void* buf, size_t count, off_t offset) {
  static ssize_t (*real)(int, void*, size_t, off_t);
  if (!real) real = (ssize_t(*)(int, void*, size_t, off_t))dlsym(RTLD_NEXT, "pread");
  if (!is_target(fd, offset)) return real(fd, buf, count, offset);
  if (!hold_after()) hold();
  ssize_t n = real(fd, buf, count, offset);
  if (hold_after()) hold();
  return n;
}

ssize_t pread64(int fd, void* buf, size_t count, off_t offset) { return pread(fd, buf, count, offset); }

ssize_t copy_file_range(int fd_in, off_t* off_in, int fd_out, off_t* off_out, size_t len, unsigned flags) {
  static ssize_t (*real)(int, off_t*, int, off_t*, size_t, unsigned);
  if (!real) real = (ssize_t(*)(int, off_t*, int, off_t*, size_t, unsigned))dlsym(RTLD_NEXT, "copy_file_range");
  if (!is_target(fd_in, off_in ? *off_in : lseek(fd_in, 0, SEEK_CUR))) return real(fd_in, off_in, fd_out, off_out, len, flags);
  if (!hold_after()) hold();
  ssize_t n = real(fd_in, off_in, fd_out, off_out, len, flags);
  if (hold_after()) hold();
  return n;
}
