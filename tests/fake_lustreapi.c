/* A stand-in for liblustreapi.so, for tests on machines without Lustre. It exports the llapi_*
 * functions lmover resolves, with the C signatures of lustre-release's lustreapi.h and the return
 * conventions of its liblustreapi*.c (each function below names the upstream file it follows; a
 * fake that answers otherwise hides the very bugs it is there to find), and keeps its "filesystem"
 * in xattrs the real Lustre also keeps internally, so lmover never copies them as plain xattrs: a
 * file's layout in trusted.lov (as text, one line per component), a directory's MDT and striping
 * in trusted.lmv, a file's HSM state in trusted.hsm ("states=0xd archive=1"). The kernel's side
 * (ioctls lmover makes itself, restores that reads of released files would start) is
 * fake_lustre_kernel.c, an LD_PRELOAD shim. The target's limits come from the environment:
 *   FAKE_LUSTRE_OSTS (default 8), FAKE_LUSTRE_POOLS (default "fast,slow"), FAKE_LUSTRE_MDTS (4).
 * A layout the "target" cannot honour (an unknown pool, more stripes than OSTs, extents with gaps)
 * fails with EINVAL, as a strict MDS would. Created files get their layout instantiated as Lustre
 * does: a default count becomes 1, "all OSTs" the OST count, a default stripe size 1 MiB. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/syscall.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define LAYOUT_DEFAULT 0x1000000000000002ULL
#define LAYOUT_WIDE 0x1000000000000003ULL
#define PATTERN_MDT 2ULL
#define MAX_COMPS 16

struct comp {
  uint64_t start, end, count, size, pattern;
  char pool[16];
  uint32_t mirror_id, flags; /* FLR: llc_mirror_id, llc_flags (LCME_FL_*) */
};

struct llapi_layout {
  bool composite;
  int n, cur;
  struct comp c[MAX_COMPS];
  uint16_t mirror_count; /* FLR: llot_mirror_count, 0 for a file without mirrors */
  uint32_t flags;        /* llot_flags: LCM_FL_RDONLY (in sync), _WRITE_PENDING, _SYNC_PENDING */
};

#define LCME_FL_STALE 0x1u
#define LCME_FL_PREF_WR 0x4u
#define LCME_FL_NOSYNC 0x20u
#define LCME_FL_PARITY 0x80u
#define LCM_FL_RDONLY 0x1u
#define LCM_FL_WRITE_PENDING 0x2u
#define LCM_FL_SYNC_PENDING 0x3u

static long env_long(const char *name, long fallback) {
  const char *v = getenv(name);
  return v && *v ? atol(v) : fallback;
}

static bool pool_exists(const char *pool) {
  const char *pools = getenv("FAKE_LUSTRE_POOLS");
  if (!pools) pools = "fast,slow";
  size_t n = strlen(pool);
  for (const char *p = pools; *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == n && strncmp(p, pool, n) == 0) return true;
    if (!comma) break;
    p = comma + 1;
  }
  return false;
}

/* __llapi_comp_alloc (liblustreapi_layout.c): pattern, size and count all LLAPI_LAYOUT_DEFAULT. */
static void comp_defaults(struct comp *c) {
  memset(c, 0, sizeof *c);
  c->end = ~0ULL;
  c->count = LAYOUT_DEFAULT;
  c->size = LAYOUT_DEFAULT;
  c->pattern = LAYOUT_DEFAULT;
}

struct llapi_layout *llapi_layout_alloc(void) {
  struct llapi_layout *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->n = 1;
  comp_defaults(&l->c[0]);
  return l;
}

void llapi_layout_free(struct llapi_layout *layout) { free(layout); }

/* Text form: "composite N\n" then per component "start end count size pattern pool|-\n". An FLR
 * file's: "composite 1 mirrors=M flr=S\n" (S the LCM_FL_* state) and per component the same plus
 * " m=MIRROR_ID f=FLAGS" (LCME_FL_*, decimal). */
static int encode(const struct llapi_layout *l, char *buf, size_t len) {
  int off = snprintf(buf, len, "composite %d", l->composite ? 1 : 0);
  if (l->mirror_count) off += snprintf(buf + off, len - off, " mirrors=%u flr=%u", l->mirror_count, l->flags);
  off += snprintf(buf + off, len - off, "\n");
  for (int i = 0; i < l->n; i++) {
    const struct comp *c = &l->c[i];
    off += snprintf(buf + off, len - off, "%llu %llu %llu %llu %llu %s", (unsigned long long)c->start,
                    (unsigned long long)c->end, (unsigned long long)c->count, (unsigned long long)c->size,
                    (unsigned long long)c->pattern, c->pool[0] ? c->pool : "-");
    if (l->mirror_count) off += snprintf(buf + off, len - off, " m=%u f=%u", c->mirror_id, c->flags);
    off += snprintf(buf + off, len - off, "\n");
  }
  return off;
}

static struct llapi_layout *decode(const char *text) {
  struct llapi_layout *l = llapi_layout_alloc();
  int composite = 0, used = 0;
  unsigned mirrors = 0, state = 0;
  if (sscanf(text, "composite %d%n", &composite, &used) < 1) { free(l); errno = EINVAL; return NULL; }
  if (sscanf(text + used, " mirrors=%u flr=%u", &mirrors, &state) == 2) {
    l->mirror_count = (uint16_t)mirrors;
    l->flags = state;
  }
  used += (int)strcspn(text + used, "\n");
  if (text[used] == '\n') used++;
  l->composite = composite;
  l->n = 0;
  const char *p = text + used;
  while (*p && l->n < MAX_COMPS) {
    struct comp *c = &l->c[l->n];
    unsigned long long s, e, n, z, pat;
    char pool[16];
    if (sscanf(p, "%llu %llu %llu %llu %llu %15s%n", &s, &e, &n, &z, &pat, pool, &used) < 6) break;
    c->start = s, c->end = e, c->count = n, c->size = z, c->pattern = pat;
    strcpy(c->pool, strcmp(pool, "-") ? pool : "");
    p += used;
    unsigned mirror_id = 0, flags = 0;
    if (sscanf(p, " m=%u f=%u%n", &mirror_id, &flags, &used) == 2) p += used;
    c->mirror_id = mirror_id;
    c->flags = flags;
    l->n++;
    while (*p == '\n') p++;
  }
  return l;
}

/* liblustreapi_layout.c: no lustre.lov (ENODATA) gives a layout of defaults, not NULL; a
 * directory without a default layout reads so. A fake file without one is a file Lustre made
 * with the filesystem default, instantiated. */
struct llapi_layout *llapi_layout_get_by_fd(int fd, uint32_t flags) {
  (void)flags;
  char buf[4096];
  ssize_t n = fgetxattr(fd, "trusted.lov", buf, sizeof buf - 1);
  if (n < 0) {
    struct stat st;
    if (errno != ENODATA || fstat(fd, &st) < 0) return NULL;
    struct llapi_layout *l = llapi_layout_alloc();
    if (!S_ISDIR(st.st_mode)) {
      l->c[0].count = 1;
      l->c[0].size = 1 << 20;
      l->c[0].pattern = 0;
    }
    return l;
  }
  buf[n] = 0;
  return decode(buf);
}

bool llapi_layout_is_composite(struct llapi_layout *layout) { return layout->composite; }

int llapi_layout_comp_use(struct llapi_layout *layout, uint32_t pos) {
  switch (pos) {
    case 1: layout->cur = 0; return 0;
    case 2: layout->cur = layout->n - 1; return 0;
    case 3: if (layout->cur + 1 >= layout->n) { errno = ENOENT; return 1; } layout->cur++; return 0;
    case 4: if (layout->cur == 0) { errno = ENOENT; return 1; } layout->cur--; return 0;
  }
  errno = EINVAL;
  return -1;
}

int llapi_layout_comp_add(struct llapi_layout *layout) {
  if (layout->n == MAX_COMPS) { errno = EINVAL; return -1; }
  layout->composite = true;
  comp_defaults(&layout->c[layout->n]);
  layout->cur = layout->n++;
  return 0;
}

int llapi_layout_comp_extent_get(const struct llapi_layout *layout, uint64_t *start, uint64_t *end) {
  *start = layout->c[layout->cur].start;
  *end = layout->c[layout->cur].end;
  return 0;
}

int llapi_layout_comp_extent_set(struct llapi_layout *layout, uint64_t start, uint64_t end) {
  if (start > end) { errno = EINVAL; return -1; }
  layout->composite = true;
  layout->c[layout->cur].start = start;
  layout->c[layout->cur].end = end;
  return 0;
}

#define FIELD(name, field)                                                                  \
  int llapi_layout_##name##_get(const struct llapi_layout *layout, uint64_t *value) {      \
    *value = layout->c[layout->cur].field;                                                  \
    return 0;                                                                               \
  }                                                                                         \
  int llapi_layout_##name##_set(struct llapi_layout *layout, uint64_t value) {             \
    layout->c[layout->cur].field = value;                                                   \
    return 0;                                                                               \
  }
FIELD(stripe_count, count)
FIELD(stripe_size, size)
FIELD(pattern, pattern)

/* liblustreapi_layout.c and llapi_layout_pool_name_get(3): snprintf into the buffer, return 0
 * (not the length), -1 with errno on bad arguments. */
int llapi_layout_pool_name_get(const struct llapi_layout *layout, char *pool_name, size_t pool_name_len) {
  if (!pool_name) { errno = EINVAL; return -1; }
  snprintf(pool_name, pool_name_len, "%s", layout->c[layout->cur].pool);
  return 0;
}

int llapi_layout_pool_name_set(struct llapi_layout *layout, const char *pool_name) {
  if (strlen(pool_name) > 15) { errno = EINVAL; return -1; }
  strcpy(layout->c[layout->cur].pool, pool_name);
  return 0;
}

int llapi_layout_file_create(const char *path, int open_flags, int mode, const struct llapi_layout *layout) {
  struct llapi_layout given;
  if (layout) {
    given = *layout;
  } else {
    memset(&given, 0, sizeof given);
    given.n = 1;
    comp_defaults(&given.c[0]);
  }
  long osts = env_long("FAKE_LUSTRE_OSTS", 8);
  for (int i = 0; i < given.n; i++) {
    struct comp *c = &given.c[i];
    if (c->pool[0] && !pool_exists(c->pool)) { errno = EINVAL; return -1; }
    if (c->count != LAYOUT_DEFAULT && c->count != LAYOUT_WIDE && c->count > (uint64_t)osts) { errno = EINVAL; return -1; }
    /* A mirrored layout's extents start over at 0 with each mirror (lod_verify_striping): they
     * must, and must then cover the whole file again; so must the mirror count match. */
    bool new_mirror = i > 0 && c->mirror_id != given.c[i - 1].mirror_id;
    if (given.composite && i > 0 && c->start != (new_mirror ? 0 : given.c[i - 1].end)) { errno = EINVAL; return -1; }
    if (new_mirror && given.c[i - 1].end != ~0ULL) { errno = EINVAL; return -1; }
    c->flags &= ~LCME_FL_STALE; /* a new file's mirrors are all in sync: it has no data yet */
    if (c->pattern == LAYOUT_DEFAULT) c->pattern = 0;
    if (c->pattern == PATTERN_MDT) c->count = 0;
    else if (c->count == LAYOUT_DEFAULT) c->count = 1;
    else if (c->count == LAYOUT_WIDE) c->count = (uint64_t)osts;
    if (c->size == LAYOUT_DEFAULT) c->size = 1 << 20;
  }
  int mirrors = given.n ? 1 : 0;
  for (int i = 1; i < given.n; i++) mirrors += given.c[i].mirror_id != given.c[i - 1].mirror_id;
  if (mirrors > 1 && (getenv("FAKE_LUSTRE_NO_FLR") || given.mirror_count != mirrors)) { errno = EINVAL; return -1; }
  if (mirrors > 1) given.flags = LCM_FL_RDONLY;
  int fd = open(path, open_flags | O_CREAT | O_EXCL, (mode_t)mode);
  if (fd < 0) return -1;
  char buf[4096];
  int len = encode(&given, buf, sizeof buf);
  if (fsetxattr(fd, "trusted.lov", buf, (size_t)len, 0) < 0) {
    int err = errno;
    close(fd);
    unlink(path);
    errno = err;
    return -1;
  }
  return fd;
}

int llapi_file_fget_mdtidx(int fd, int *mdtidx) {
  char buf[32];
  ssize_t n = fgetxattr(fd, "trusted.lmv", buf, sizeof buf - 1);
  if (n < 0) { *mdtidx = 0; return 0; }
  buf[n] = 0;
  return sscanf(buf, "mdt=%d", mdtidx) == 1 ? 0 : -EINVAL;
}

/* liblustreapi.c: 0 or -errno. The pattern argument is the hash type (a union in struct
 * llapi_stripe_param), checked as dir_stripe_limit_check does; 0 is the default hash. */
int llapi_dir_create_pool(const char *name, int flags, int stripe_offset, int stripe_count, int stripe_pattern,
                          const char *poolname) {
  (void)poolname;
  long mdts = env_long("FAKE_LUSTRE_MDTS", 4);
  if (stripe_offset < -1 || stripe_offset >= mdts || stripe_count < -1 || stripe_count > mdts) return -EINVAL;
  if ((stripe_pattern & 0xffff) >= 5) return -EINVAL; /* LMV_HASH_TYPE_MAX */
  if (mkdir(name, (mode_t)flags) < 0) return -errno;
  char buf[64];
  unsigned hash = stripe_pattern ? (unsigned)stripe_pattern : 2; /* LMV_HASH_TYPE_DEFAULT: fnv_1a_64 */
  int len = stripe_count ? snprintf(buf, sizeof buf, "mdt=%d stripes=%d hash=%u", stripe_offset,
                                    stripe_count == -1 ? (int)mdts : stripe_count, hash)
                         : snprintf(buf, sizeof buf, "mdt=%d", stripe_offset);
  if (setxattr(name, "trusted.lmv", buf, (size_t)len, 0) < 0) return -errno;
  return 0;
}

/* Opens `path` and, with a layout, sets it: on a directory that makes its default layout. */
int llapi_layout_file_open(const char *path, int open_flags, mode_t mode, const struct llapi_layout *layout) {
  int fd = open(path, open_flags, mode);
  if (fd < 0 && errno == EISDIR && !(open_flags & O_DIRECTORY)) fd = open(path, O_DIRECTORY | O_RDONLY);
  if (layout == NULL || fd < 0) return fd;
  for (int i = 0; i < layout->n; i++) {
    if (layout->c[i].pool[0] && !pool_exists(layout->c[i].pool)) { close(fd); errno = EINVAL; return -1; }
  }
  char buf[4096];
  int len = encode(layout, buf, sizeof buf);
  if (fsetxattr(fd, "trusted.lov", buf, (size_t)len, 0) < 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

/* ---- FLR: mirrors, their flags, resync under a lease ---- */

/* liblustreapi_layout.c: 0, or -1 with errno (EINVAL) for each of these. */
int llapi_layout_comp_flags_get(const struct llapi_layout *layout, uint32_t *flags) {
  if (!flags) { errno = EINVAL; return -1; }
  *flags = layout->c[layout->cur].flags;
  return 0;
}

int llapi_layout_comp_flags_set(struct llapi_layout *layout, uint32_t flags) {
  if (flags & LCME_FL_PARITY) { errno = EINVAL; return -1; } /* as upstream: not through this */
  layout->c[layout->cur].flags |= flags;
  return 0;
}

int llapi_layout_mirror_id_get(const struct llapi_layout *layout, uint32_t *id) {
  if (!id) { errno = EINVAL; return -1; }
  *id = layout->c[layout->cur].mirror_id;
  return 0;
}

int llapi_layout_mirror_count_set(struct llapi_layout *layout, uint16_t count) {
  if (count == 0 || count > 256) { errno = EINVAL; return -1; } /* LUSTRE_MIRROR_COUNT_MAX */
  layout->mirror_count = count;
  return 0;
}

int llapi_layout_flags_get(struct llapi_layout *layout, uint32_t *flags) {
  *flags = layout->flags;
  return 0;
}

/* Appends src's components to *dst (allocated when NULL), their mirror ids after dst's. */
int llapi_layout_merge(struct llapi_layout **dst, const struct llapi_layout *src) {
  if (!src || src->n == 0) return 0;
  if (!*dst) {
    *dst = llapi_layout_alloc();
    if (!*dst) { errno = ENOMEM; return -1; }
    (*dst)->n = 0;
  }
  struct llapi_layout *d = *dst;
  uint32_t offset = 0;
  for (int i = 0; i < d->n; i++) offset = d->c[i].mirror_id > offset ? d->c[i].mirror_id : offset;
  if (d->n + src->n > MAX_COMPS) { errno = EINVAL; return -1; }
  for (int i = 0; i < src->n; i++) {
    d->c[d->n] = src->c[i];
    d->c[d->n].mirror_id = (src->c[i].mirror_id ? src->c[i].mirror_id : 1) + offset;
    d->n++;
  }
  d->composite = true;
  d->cur = d->n - 1;
  return 0;
}

struct llapi_resync_comp {
  uint64_t lrc_start, lrc_end;
  uint32_t lrc_mirror_id, lrc_id;
  bool lrc_synced;
};
struct ll_ioc_lease {
  uint32_t lil_mode, lil_flags, lil_count;
  uint32_t lil_ids[];
};
#define LL_LEASE_WRLCK 0x2u
#define LL_LEASE_UNLCK 0x4u
#define LL_LEASE_RESYNC 0x1u
#define LL_LEASE_RESYNC_DONE 0x2u
#define LEASE_XATTR "trusted.fake_lease" /* the fake MDS's record of the lease: "resync" or "synced" */

/* A component's id is its place in the layout, from 1 (enough for a fake: no component is ever
 * deleted from one). */
int llapi_mirror_find_stale(struct llapi_layout *layout, struct llapi_resync_comp *comp, size_t comp_size,
                            uint16_t *mirror_ids, int ids_nr) {
  (void)mirror_ids;
  int idx = 0;
  for (int i = 0; i < layout->n; i++) {
    const struct comp *c = &layout->c[i];
    if (!(c->flags & LCME_FL_STALE) || (ids_nr == 0 && (c->flags & LCME_FL_NOSYNC))) continue;
    comp[idx] = (struct llapi_resync_comp){c->start, c->end, c->mirror_id, (uint32_t)i + 1, true};
    if (++idx >= (int)comp_size) return -EINVAL;
  }
  return idx;
}

static int store_layout(int fd, const struct llapi_layout *l) {
  char buf[4096];
  int len = encode(l, buf, sizeof buf);
  return fsetxattr(fd, "trusted.lov", buf, (size_t)len, 0) < 0 ? -errno : 0;
}

/* What the client does on the first write to a mirrored file in sync (lov_io / lod): the mirror
 * written (the one preferred for writes, else the first) stays, every other one turns stale and
 * the file write-pending. Called by the kernel shim (fake_lustre_kernel.c) on writes. */
int fake_lustre_mark_written(int fd) {
  struct llapi_layout *l = llapi_layout_get_by_fd(fd, 0);
  if (!l) return -1;
  if (l->mirror_count > 1 && (l->flags & 0xB) == LCM_FL_RDONLY) {
    uint32_t primary = l->c[0].mirror_id;
    for (int i = 0; i < l->n; i++) {
      if (l->c[i].flags & LCME_FL_PREF_WR) { primary = l->c[i].mirror_id; break; }
    }
    for (int i = 0; i < l->n; i++) {
      if (l->c[i].mirror_id != primary) l->c[i].flags |= LCME_FL_STALE;
    }
    l->flags = LCM_FL_WRITE_PENDING;
    store_layout(fd, l);
  }
  llapi_layout_free(l);
  return 0;
}

/* liblustreapi_lease.c over llite's ll_file_set_lease: a write lease needs a descriptor open for
 * writing (EPERM) and no other opener (EBUSY, not checked here); taking one returns 0, giving it
 * back the mode it had (0: it was lost); -errno on failure. FAKE_LUSTRE_NO_RESYNC: a target that
 * cannot resync (EOPNOTSUPP). */
int llapi_lease_set(int fd, const struct ll_ioc_lease *data) {
  char held[16] = "";
  ssize_t n = fgetxattr(fd, LEASE_XATTR, held, sizeof held - 1);
  held[n > 0 ? n : 0] = 0;
  if (data->lil_mode == LL_LEASE_UNLCK) {
    if (!held[0]) return 0;
    fremovexattr(fd, LEASE_XATTR);
    if (!(data->lil_flags & LL_LEASE_RESYNC_DONE) || strcmp(held, "synced") != 0) return LL_LEASE_WRLCK;
    struct llapi_layout *l = llapi_layout_get_by_fd(fd, 0);
    if (!l) return -errno;
    for (uint32_t k = 0; k < data->lil_count; k++) {
      if (data->lil_ids[k] >= 1 && data->lil_ids[k] <= (uint32_t)l->n) l->c[data->lil_ids[k] - 1].flags &= ~LCME_FL_STALE;
    }
    bool stale = false;
    for (int i = 0; i < l->n; i++) stale |= (l->c[i].flags & LCME_FL_STALE) && !(l->c[i].flags & LCME_FL_NOSYNC);
    l->flags = stale ? LCM_FL_WRITE_PENDING : LCM_FL_RDONLY;
    int rc = store_layout(fd, l);
    llapi_layout_free(l);
    return rc < 0 ? rc : (int)LL_LEASE_WRLCK;
  }
  if (data->lil_mode != LL_LEASE_WRLCK) return -EINVAL;
  if ((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY) return -EPERM;
  if (getenv("FAKE_LUSTRE_NO_RESYNC")) return -EOPNOTSUPP;
  if (held[0]) return -EBUSY;
  if (data->lil_flags & LL_LEASE_RESYNC) {
    struct llapi_layout *l = llapi_layout_get_by_fd(fd, 0);
    if (!l) return -errno;
    bool pending = (l->flags & 0xB) == LCM_FL_WRITE_PENDING;
    if (pending) l->flags = LCM_FL_SYNC_PENDING;
    int rc = pending ? store_layout(fd, l) : -EALREADY;
    llapi_layout_free(l);
    if (rc < 0) return rc;
  }
  return fsetxattr(fd, LEASE_XATTR, "resync", 6, 0) < 0 ? -errno : 0;
}

/* liblustreapi_layout.c: 0 or -errno. It reads the good mirror and writes the stale ones through
 * the descriptor, which liblustreapi_mirror.c wants opened O_DIRECT; the writes move the file's
 * mtime, as a real resync's do. The components become in sync when the lease is given back. */
int llapi_mirror_resync_many(int fd, struct llapi_layout *layout, struct llapi_resync_comp *comp_array, int comp_size,
                             uint64_t start, uint64_t end) {
  (void)layout, (void)comp_array, (void)start, (void)end;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -errno;
  if (!(flags & O_DIRECT) || (flags & O_ACCMODE) != O_RDWR) return -EINVAL;
  char held[16] = "";
  ssize_t n = fgetxattr(fd, LEASE_XATTR, held, sizeof held - 1);
  if (n <= 0) return -ENOLCK;
  if (comp_size <= 0) return 0;
  if (futimens(fd, NULL) < 0) return -errno;
  return fsetxattr(fd, LEASE_XATTR, "synced", 6, 0) < 0 ? -errno : 0;
}

/* ---- The client mount a path is on ---- */

/* liblustreapi.c: the mount's LOV uuid "FSNAME-clilov-INSTANCE" split at "-clilov-"; 0 or
 * -errno (-EINVAL without it). The fake's uuid is the path's trusted.fake_clilov (a root made to
 * look like a mount of that filesystem); a path without one is not on Lustre (-ENOTTY, the
 * ioctl's answer elsewhere). */
int llapi_get_fsname_instance(const char *path, char *fsname, size_t fsname_len, char *instance, size_t instance_len) {
  char uuid[128];
  ssize_t n = getxattr(path, "trusted.fake_clilov", uuid, sizeof uuid - 1);
  if (n < 0) return errno == ENODATA ? -ENOTTY : -errno;
  uuid[n] = 0;
  char *mark = strstr(uuid, "-clilov-");
  if (!mark || (!fsname && !instance)) return -EINVAL;
  *mark = 0;
  if (instance) snprintf(instance, instance_len, "%s", mark + strlen("-clilov-"));
  if (fsname) snprintf(fsname, fsname_len, "%s", uuid);
  return 0;
}

/* ---- HSM, FIDs and data versions ---- */

struct lu_fid {
  uint64_t f_seq;
  uint32_t f_oid;
  uint32_t f_ver;
};
struct hsm_extent {
  uint64_t offset, length;
} __attribute__((packed));
struct hsm_user_state {
  uint32_t hus_states, hus_archive_id, hus_in_progress_state, hus_in_progress_action;
  struct hsm_extent hus_in_progress_location;
  char hus_extended_info[];
};
struct hsm_request {
  uint32_t hr_action, hr_archive_id;
  uint64_t hr_flags;
  uint32_t hr_itemcount, hr_data_len;
};
struct hsm_user_item {
  struct lu_fid hui_fid;
  struct hsm_extent hui_extent;
} __attribute__((packed));
struct hsm_user_request {
  struct hsm_request hur_request;
  struct hsm_user_item hur_user_item[];
} __attribute__((packed));

#define HS_RELEASED 0x4
#define HUA_RESTORE 11

static void read_hsm(int fd, unsigned *states, unsigned *archive) {
  char buf[128];
  *states = 0, *archive = 0;
  ssize_t n = fgetxattr(fd, "trusted.hsm", buf, sizeof buf - 1);
  if (n <= 0) return;
  buf[n] = 0;
  sscanf(buf, "states=%x archive=%u", states, archive);
}

static int write_hsm(int fd, unsigned states, unsigned archive) {
  char buf[64];
  int len = snprintf(buf, sizeof buf, "states=0x%x archive=%u", states, archive);
  return fsetxattr(fd, "trusted.hsm", buf, (size_t)len, 0);
}

/* liblustreapi_hsm.c: the LL_IOC_HSM_STATE_GET ioctl, 0 or -errno. */
int llapi_hsm_state_get_fd(int fd, struct hsm_user_state *hus) {
  struct stat st;
  if (fstat(fd, &st) < 0) return -errno;
  memset(hus, 0, sizeof *hus);
  unsigned states, archive;
  read_hsm(fd, &states, &archive);
  hus->hus_states = states;
  hus->hus_archive_id = archive;
  return 0;
}

/* liblustreapi_fid.c: 0 or -errno. A fake FID in the normal sequence range (FID_SEQ_NORMAL,
 * 0x200000400, so lhsmtool_posix --rebind would take it) made of the inode number. */
int llapi_fd2fid(int fd, struct lu_fid *fid) {
  struct stat st;
  memset(fid, 0, sizeof *fid);
  if (fstat(fd, &st) < 0) return -errno;
  fid->f_seq = 0x200000400ULL + (st.st_ino >> 32);
  fid->f_oid = (uint32_t)st.st_ino;
  fid->f_ver = 0;
  return 0;
}

/* liblustreapi_swap.c: 0 or -errno; 0 in *data_version for a file without objects. The fake's
 * version is a hash of the bytes (read with the raw syscall: the kernel shim counts reads of
 * released files as restores, and a data version never restores); a released file keeps the
 * one it had (trusted.hsm may say "dv=N"). */
int llapi_get_data_version(int fd, uint64_t *data_version, uint64_t flags) {
  (void)flags;
  if (!data_version) return -EFAULT;
  struct stat st;
  if (fstat(fd, &st) < 0) return -errno;
  if (!S_ISREG(st.st_mode)) return -EINVAL;
  unsigned states, archive;
  read_hsm(fd, &states, &archive);
  uint64_t h = 1469598103934665603ULL ^ (uint64_t)st.st_size;
  if (states & HS_RELEASED) {
    char buf[128];
    ssize_t n = fgetxattr(fd, "trusted.hsm", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    const char *dv = strstr(buf, "dv=");
    *data_version = dv ? strtoull(dv + 3, NULL, 0) : h;
    return 0;
  }
  char chunk[65536];
  for (off_t off = 0;;) {
    long n = syscall(SYS_pread64, fd, chunk, sizeof chunk, off);
    if (n < 0) return -errno;
    if (n == 0) break;
    for (long i = 0; i < n; i++) h = (h ^ (unsigned char)chunk[i]) * 1099511628211ULL;
    off += n;
  }
  *data_version = h | 1;
  return 0;
}

/* liblustreapi_hsm.c: creates `dst` (O_CREAT|O_WRONLY, no O_EXCL; an existing file fails when its
 * striping is set: EEXIST) released, with the uid, gid, mode, size, atime and mtime of `st`;
 * 0 or a negative errno, and the half-made file unlinked. */
int llapi_hsm_import(const char *dst, int archive, const struct stat *st, unsigned long long stripe_size,
                     int stripe_offset, int stripe_count, int stripe_pattern, char *pool_name, struct lu_fid *newfid) {
  (void)stripe_offset, (void)stripe_pattern;
  if (pool_name && *pool_name && !pool_exists(pool_name)) return -EINVAL;
  if (access(dst, F_OK) == 0) return -EEXIST;
  int fd = open(dst, O_CREAT | O_WRONLY, st->st_mode & 07777);
  if (fd < 0) return -errno;
  int rc = 0;
  struct timespec times[2] = {st->st_atim, st->st_mtim};
  char lov[256];
  snprintf(lov, sizeof lov, "composite 0\n0 %llu %d %llu 0 %s\n", (unsigned long long)~0ULL, stripe_count > 0 ? stripe_count : 1,
           stripe_size ? stripe_size : 1ULL << 20, pool_name && *pool_name ? pool_name : "-");
  if (ftruncate(fd, st->st_size) < 0 || fchown(fd, st->st_uid, st->st_gid) < 0 || fchmod(fd, st->st_mode & 07777) < 0 ||
      fsetxattr(fd, "trusted.lov", lov, strlen(lov), 0) < 0 || write_hsm(fd, 0xd, (unsigned)archive) < 0 ||
      futimens(fd, times) < 0) {
    rc = -errno;
  } else {
    rc = llapi_fd2fid(fd, newfid);
  }
  close(fd);
  if (rc) unlink(dst);
  return rc;
}

/* liblustreapi_hsm.c: calloc'ed, freed with free(). */
struct hsm_user_request *llapi_hsm_user_request_alloc(int itemcount, int data_len) {
  return calloc(1, sizeof(struct hsm_user_request) + sizeof(struct hsm_user_item) * (size_t)itemcount + (size_t)data_len);
}

/* The fake coordinator: a RESTORE request is done at once (the copytool brings the data back: here
 * the bytes never left, so the released bit is cleared), unless FAKE_LUSTRE_HSM_STUCK is set (the
 * request is taken and nothing happens, as with a dead copytool). Each request's item count is
 * appended to $FAKE_LUSTRE_HSM_LOG as "restore N". The files are found by walking the tree the
 * path lies in (a real coordinator knows them by FID). */
static __thread const struct hsm_user_request *pending_request;

static int restore_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)ftw;
  if (type != FTW_F) return 0;
  struct lu_fid fid = {0x200000400ULL + (st->st_ino >> 32), (uint32_t)st->st_ino, 0};
  for (uint32_t i = 0; i < pending_request->hur_request.hr_itemcount; i++) {
    struct lu_fid want;
    memcpy(&want, &pending_request->hur_user_item[i].hui_fid, sizeof want);
    if (want.f_seq != fid.f_seq || want.f_oid != fid.f_oid) continue;
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return 0;
    unsigned states, archive;
    read_hsm(fd, &states, &archive);
    if (states & HS_RELEASED) write_hsm(fd, states & ~HS_RELEASED, archive);
    close(fd);
  }
  return 0;
}

/* liblustreapi_hsm.c: 0 or -errno. */
int llapi_hsm_request(const char *path, const struct hsm_user_request *request) {
  struct stat st;
  if (stat(path, &st) < 0) return -errno;
  if (request->hur_request.hr_action != HUA_RESTORE) return -EOPNOTSUPP;
  const char *log = getenv("FAKE_LUSTRE_HSM_LOG");
  if (log && *log) {
    FILE *f = fopen(log, "a");
    if (f) {
      fprintf(f, "restore %u\n", request->hur_request.hr_itemcount);
      fclose(f);
    }
  }
  if (getenv("FAKE_LUSTRE_HSM_STUCK")) return 0;
  char root[4096];
  if (!realpath(path, root)) return -errno; /* /proc/self/fd/N: walk the directory it is */
  pending_request = request;
  nftw(root, restore_one, 32, FTW_PHYS | FTW_MOUNT);
  pending_request = NULL;
  return 0;
}
