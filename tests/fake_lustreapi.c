/* A stand-in for liblustreapi.so, for tests on machines without Lustre. It exports the llapi_*
 * functions lmover resolves, with the C signatures of lustre-release's lustreapi.h, and keeps its
 * "filesystem" in xattrs the real Lustre also keeps internally, so lmover never copies them as plain
 * xattrs: a file's layout in trusted.lov (as text, one line per component), a directory's MDT in
 * trusted.lmv. The target's limits come from the environment:
 *   FAKE_LUSTRE_OSTS (default 8), FAKE_LUSTRE_POOLS (default "fast,slow"), FAKE_LUSTRE_MDTS (4).
 * A layout the "target" cannot honour (an unknown pool, more stripes than OSTs, extents with gaps)
 * fails with EINVAL, as a strict MDS would. Created files get their layout instantiated as Lustre
 * does: a default count becomes 1, "all OSTs" the OST count, a default stripe size 1 MiB. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
};

struct llapi_layout {
  bool composite;
  int n, cur;
  struct comp c[MAX_COMPS];
};

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

static void comp_defaults(struct comp *c) {
  memset(c, 0, sizeof *c);
  c->end = ~0ULL;
  c->count = LAYOUT_DEFAULT;
  c->size = LAYOUT_DEFAULT;
}

struct llapi_layout *llapi_layout_alloc(void) {
  struct llapi_layout *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->n = 1;
  comp_defaults(&l->c[0]);
  return l;
}

void llapi_layout_free(struct llapi_layout *layout) { free(layout); }

/* Text form: "composite N\n" then per component "start end count size pattern pool|-\n". */
static int encode(const struct llapi_layout *l, char *buf, size_t len) {
  int off = snprintf(buf, len, "composite %d\n", l->composite ? 1 : 0);
  for (int i = 0; i < l->n; i++) {
    const struct comp *c = &l->c[i];
    off += snprintf(buf + off, len - off, "%llu %llu %llu %llu %llu %s\n", (unsigned long long)c->start,
                    (unsigned long long)c->end, (unsigned long long)c->count, (unsigned long long)c->size,
                    (unsigned long long)c->pattern, c->pool[0] ? c->pool : "-");
  }
  return off;
}

static struct llapi_layout *decode(const char *text) {
  struct llapi_layout *l = llapi_layout_alloc();
  int composite = 0, used = 0;
  if (sscanf(text, "composite %d\n%n", &composite, &used) < 1) { free(l); errno = EINVAL; return NULL; }
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
    l->n++;
    p += used;
    while (*p == '\n') p++;
  }
  return l;
}

struct llapi_layout *llapi_layout_get_by_fd(int fd, uint32_t flags) {
  (void)flags;
  char buf[4096];
  ssize_t n = fgetxattr(fd, "trusted.lov", buf, sizeof buf - 1);
  if (n < 0) {
    struct stat st;
    if (errno != ENODATA || fstat(fd, &st) < 0) return NULL;
    if (S_ISDIR(st.st_mode)) return NULL; /* no default layout: ENODATA */
    struct llapi_layout *l = llapi_layout_alloc(); /* the filesystem default, instantiated */
    l->c[0].count = 1;
    l->c[0].size = 1 << 20;
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
  if (start >= end) { errno = EINVAL; return -1; }
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

int llapi_layout_pool_name_get(const struct llapi_layout *layout, char *pool_name, size_t pool_name_len) {
  size_t n = strlen(layout->c[layout->cur].pool);
  if (n + 1 > pool_name_len) { errno = EINVAL; return -1; }
  memcpy(pool_name, layout->c[layout->cur].pool, n + 1);
  return (int)n;
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
    if (given.composite && i > 0 && c->start != given.c[i - 1].end) { errno = EINVAL; return -1; }
    if (c->pattern == PATTERN_MDT) c->count = 0;
    else if (c->count == LAYOUT_DEFAULT) c->count = 1;
    else if (c->count == LAYOUT_WIDE) c->count = (uint64_t)osts;
    if (c->size == LAYOUT_DEFAULT) c->size = 1 << 20;
  }
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

int llapi_dir_create_pool(const char *name, int flags, int stripe_offset, int stripe_count, int stripe_pattern,
                          const char *poolname) {
  (void)stripe_pattern, (void)poolname;
  long mdts = env_long("FAKE_LUSTRE_MDTS", 4);
  if (stripe_offset < -1 || stripe_offset >= mdts || stripe_count < -1 || stripe_count > mdts) return -EINVAL;
  if (mkdir(name, (mode_t)flags) < 0) return -errno;
  char buf[48];
  int len = stripe_count ? snprintf(buf, sizeof buf, "mdt=%d stripes=%d", stripe_offset, stripe_count == -1 ? (int)mdts : stripe_count)
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
