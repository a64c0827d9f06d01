/* The kernel's side of the fake Lustre (fake_lustreapi.c is the library's), as an LD_PRELOAD shim
 * over libc, for the calls lmover makes to the filesystem itself:
 *
 * - The directory LMV ioctls of lustre_user.h, answered from the xattrs the fake keeps:
 *   LL_IOC_LMV_GETSTRIPE with LMV_MAGIC_V1 (a directory's stripes, from trusted.lmv
 *   "mdt=M stripes=N hash=H"; ENODATA for a plain directory; E2BIG with the count when the caller's
 *   buffer is too small, as llite/dir.c does) or LMV_USER_MAGIC (its default LMV, from trusted.dmv
 *   "count=C offset=O hash=H inherit=I rr=R pool=P"; ENODATA without one), and
 *   LL_IOC_LMV_SET_DEFAULT_STRIPE, which writes trusted.dmv. ENOTTY on anything not a directory.
 * - What a real client does on a released (HSM) file: any read, mmap, SEEK_DATA/SEEK_HOLE or
 *   FIEMAP starts a restore from the archive. Each such call on a file whose trusted.hsm says
 *   released is appended to $FAKE_LUSTRE_RESTORES (one line, the file's path): the count of
 *   restores lmover would have triggered. Only when that variable is set.
 * - What a client does on the first write to an FLR file whose mirrors are in sync: all but the
 *   written mirror turn stale (fake_lustre_mark_written in the fake library, which keeps the
 *   layout; reached through the library lmover already loaded, $LMOVER_LUSTREAPI).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

struct lu_fid {
  uint64_t f_seq;
  uint32_t f_oid, f_ver;
};
struct lmv_user_mds_data {
  struct lu_fid lum_fid;
  uint32_t lum_padding, lum_mds;
} __attribute__((packed));
struct lmv_user_md_v1 {
  uint32_t lum_magic;
  int32_t lum_stripe_count;
  uint32_t lum_stripe_offset, lum_hash_type, lum_type;
  uint8_t lum_max_inherit, lum_max_inherit_rr;
  uint16_t lum_padding1;
  uint32_t lum_padding2, lum_padding3;
  char lum_pool_name[16];
  struct lmv_user_mds_data lum_objects[];
} __attribute__((packed));

#define LMV_MAGIC_V1 0x0CD20CD0
#define LMV_USER_MAGIC 0x0CD30CD0
#define LL_IOC_LMV_GETSTRIPE _IOWR('f', 241, struct lmv_user_md_v1)
#define LL_IOC_LMV_SET_DEFAULT_STRIPE _IOWR('f', 246, struct lmv_user_md_v1)

#define REAL(name) static __typeof__(name) *real_##name; if (!real_##name) real_##name = dlsym(RTLD_NEXT, #name)

static int released(int fd) {
  const char *log = getenv("FAKE_LUSTRE_RESTORES");
  if (!log || !*log) return 0;
  char buf[128];
  ssize_t n = fgetxattr(fd, "trusted.hsm", buf, sizeof buf - 1);
  if (n <= 0) return 0;
  buf[n] = 0;
  unsigned states = 0;
  sscanf(buf, "states=%x", &states);
  return (states & 0x4) != 0;
}

static void count_restore(int fd) {
  if (!released(fd)) return;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  path[n > 0 ? n : 0] = 0;
  int out = open(getenv("FAKE_LUSTRE_RESTORES"), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (out < 0) return;
  dprintf(out, "%s\n", path);
  close(out);
}

static void count_write(int fd) {
  static int (*mark)(int);
  if (!mark) {
    const char *lib = getenv("LMOVER_LUSTREAPI");
    void *handle = lib ? dlopen(lib, RTLD_NOW | RTLD_NOLOAD) : NULL;  /* only once lmover loaded it */
    if (!handle) return;
    mark = (int (*)(int))dlsym(handle, "fake_lustre_mark_written");
    if (!mark) return;
  }
  mark(fd);
}

ssize_t write(int fd, const void *buf, size_t n) {
  REAL(write);
  count_write(fd);
  return real_write(fd, buf, n);
}
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
  REAL(pwrite);
  count_write(fd);
  return real_pwrite(fd, buf, n, off);
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off) {
  REAL(pwrite64);
  count_write(fd);
  return real_pwrite64(fd, buf, n, off);
}
ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off) {
  REAL(pwritev);
  count_write(fd);
  return real_pwritev(fd, iov, n, off);
}

ssize_t read(int fd, void *buf, size_t n) {
  REAL(read);
  count_restore(fd);
  return real_read(fd, buf, n);
}
ssize_t pread(int fd, void *buf, size_t n, off_t off) {
  REAL(pread);
  count_restore(fd);
  return real_pread(fd, buf, n, off);
}
ssize_t pread64(int fd, void *buf, size_t n, off64_t off) {
  REAL(pread64);
  count_restore(fd);
  return real_pread64(fd, buf, n, off);
}
ssize_t readv(int fd, const struct iovec *iov, int n) {
  REAL(readv);
  count_restore(fd);
  return real_readv(fd, iov, n);
}
ssize_t preadv(int fd, const struct iovec *iov, int n, off_t off) {
  REAL(preadv);
  count_restore(fd);
  return real_preadv(fd, iov, n, off);
}
ssize_t copy_file_range(int in, off64_t *in_off, int out, off64_t *out_off, size_t n, unsigned flags) {
  REAL(copy_file_range);
  count_restore(in);
  count_write(out);
  return real_copy_file_range(in, in_off, out, out_off, n, flags);
}
ssize_t sendfile(int out, int in, off_t *off, size_t n) {
  REAL(sendfile);
  count_restore(in);
  return real_sendfile(out, in, off, n);
}
ssize_t splice(int in, loff_t *in_off, int out, loff_t *out_off, size_t n, unsigned flags) {
  REAL(splice);
  count_restore(in);
  return real_splice(in, in_off, out, out_off, n, flags);
}
void *mmap(void *addr, size_t n, int prot, int flags, int fd, off_t off) {
  REAL(mmap);
  if (fd >= 0) count_restore(fd);
  return real_mmap(addr, n, prot, flags, fd, off);
}
off_t lseek(int fd, off_t off, int whence) {
  REAL(lseek);
  if (whence == SEEK_DATA || whence == SEEK_HOLE) count_restore(fd);
  return real_lseek(fd, off, whence);
}
off64_t lseek64(int fd, off64_t off, int whence) {
  REAL(lseek64);
  if (whence == SEEK_DATA || whence == SEEK_HOLE) count_restore(fd);
  return real_lseek64(fd, off, whence);
}

static int get_lmv(int fd, struct lmv_user_md_v1 *lum) {
  char buf[256];
  if (lum->lum_magic == LMV_USER_MAGIC) {
    ssize_t n = fgetxattr(fd, "trusted.dmv", buf, sizeof buf - 1);
    if (n < 0) return -1; /* ENODATA: no default LMV */
    buf[n] = 0;
    int count = 0, offset = -1;
    unsigned hash = 0, inherit = 0, rr = 0;
    char pool[17] = "";
    sscanf(buf, "count=%d offset=%d hash=%u inherit=%u rr=%u pool=%16s", &count, &offset, &hash, &inherit, &rr, pool);
    if (strcmp(pool, "-") == 0) pool[0] = 0;
    memset(lum, 0, sizeof *lum);
    lum->lum_magic = LMV_USER_MAGIC;
    lum->lum_stripe_count = count;
    lum->lum_stripe_offset = (uint32_t)offset;
    lum->lum_hash_type = hash;
    lum->lum_max_inherit = (uint8_t)inherit;
    lum->lum_max_inherit_rr = (uint8_t)rr;
    memcpy(lum->lum_pool_name, pool, strlen(pool));
    return 0;
  }
  if (lum->lum_magic != LMV_MAGIC_V1) { errno = EINVAL; return -1; }
  ssize_t n = fgetxattr(fd, "trusted.lmv", buf, sizeof buf - 1);
  int mdt = 0, stripes = 0;
  unsigned hash = 2;
  if (n > 0) {
    buf[n] = 0;
    sscanf(buf, "mdt=%d stripes=%d hash=%u", &mdt, &stripes, &hash);
  }
  if (stripes <= 1) { errno = ENODATA; return -1; }
  if (lum->lum_stripe_count < stripes) {
    lum->lum_stripe_count = stripes;
    errno = E2BIG;
    return -1;
  }
  int room = lum->lum_stripe_count;
  memset(lum, 0, sizeof *lum + sizeof(struct lmv_user_mds_data) * (size_t)room);
  lum->lum_magic = LMV_MAGIC_V1;
  lum->lum_stripe_count = stripes;
  lum->lum_stripe_offset = (uint32_t)mdt;
  lum->lum_hash_type = hash;
  for (int i = 0; i < stripes; i++) lum->lum_objects[i].lum_mds = (uint32_t)(mdt + i);
  return 0;
}

static int set_default_lmv(int fd, const struct lmv_user_md_v1 *lum) {
  if (lum->lum_magic != LMV_USER_MAGIC) { errno = EINVAL; return -1; }
  char pool[17] = {0}, buf[256];
  memcpy(pool, lum->lum_pool_name, 16);
  int len = snprintf(buf, sizeof buf, "count=%d offset=%d hash=%u inherit=%u rr=%u pool=%s", lum->lum_stripe_count,
                     (int)lum->lum_stripe_offset, lum->lum_hash_type, lum->lum_max_inherit, lum->lum_max_inherit_rr,
                     pool[0] ? pool : "-");
  return fsetxattr(fd, "trusted.dmv", buf, (size_t)len, 0);
}

int ioctl(int fd, unsigned long request, ...) {
  REAL(ioctl);
  va_list ap;
  va_start(ap, request);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  if (request == LL_IOC_LMV_GETSTRIPE || request == LL_IOC_LMV_SET_DEFAULT_STRIPE) {
    struct stat st;
    if (fstat(fd, &st) < 0) return -1;
    if (!S_ISDIR(st.st_mode)) { errno = ENOTTY; return -1; }
    return request == LL_IOC_LMV_GETSTRIPE ? get_lmv(fd, arg) : set_default_lmv(fd, arg);
  }
  if (request == FS_IOC_FIEMAP) count_restore(fd);
  return real_ioctl(fd, request, arg);
}
