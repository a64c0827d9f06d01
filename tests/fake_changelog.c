/* The changelog and FID functions of the fake liblustreapi (built into the same library as
 * fake_lustreapi.c), with lustre-release's signatures (lustreapi.h) and return conventions
 * (liblustreapi_chlg.c, liblustreapi_fid.c, liblustreapi_root.c). Records go out packed exactly as
 * llapi_changelog_recv hands them out: struct changelog_rec (packed, 64 bytes), then the extensions
 * its cr_flags name (rename, jobid, extra flags) in that order, then the name ("tname\0sname" for
 * a rename), each record calloc'ed and freed by llapi_changelog_free.
 *
 * The "MDS" is a directory, $FAKE_LUSTRE_CHANGELOG, that the test writes as it mutates the tree:
 *   <mdt>.log    one record a line: INDEX TYPE FLAGS TFID PFID NAME [SFID SPFID SNAME]
 *                (FIDs as [0xseq:0xoid:0xver] or 0; names hex-encoded, "-" for none)
 *   <mdt>.users  the registered users, one a line: NAME CLEARED_INDEX [CLEARED_AT]
 * A clear rewrites the user's line and purges the records every user has cleared, as mdd does;
 * like mdd_changelog_clear_cb, a clear that is not older than the user's index (the same index
 * again too) sets CLEARED_AT (the user's cur_time, which changelog_gc judges idleness by).
 * The filesystem is mounted at $FAKE_LUSTRE_MOUNT, named $FAKE_LUSTRE_FSNAME (default "lustre"),
 * with $FAKE_LUSTRE_MDTS MDTs (default 4). A FID is the inode number (as llapi_fd2fid of the fake);
 * fid2path indexes the mount once per process (the tests mutate before lmover runs); for benches,
 * $FAKE_LUSTRE_INDEX_ROOT indexes another view of the same files instead (the directory a FUSE
 * delay layer mirrors: the MDS resolves FIDs itself, without client lookups), and
 * $FAKE_LUSTRE_FID2PATH_US sleeps that long in each fid2path call (its round trip to the MDS);
 * $FAKE_LUSTRE_INDEX_FILE, lines "INO<tab>PATH" (relative to the mount, "" for its root), replaces
 * the walk: an index the bench's MDS keeps as it changes the tree, as a real MDS resolves FIDs
 * from its own, so that a bench does not time the fake's walk.
 * Built with -DFAKE_NO_START_USER it lacks llapi_changelog_start_user, as libraries before LU-19296 (2026) do. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct lu_fid {
  uint64_t f_seq;
  uint32_t f_oid, f_ver;
};

/* lustre_user.h */
struct changelog_rec {
  uint16_t cr_namelen;
  uint16_t cr_flags;
  uint32_t cr_type;
  uint64_t cr_index;
  uint64_t cr_prev;
  uint64_t cr_time;
  struct lu_fid cr_tfid;
  struct lu_fid cr_pfid;
} __attribute__((packed));
struct changelog_ext_rename {
  struct lu_fid cr_sfid, cr_spfid;
};
struct changelog_ext_jobid {
  char cr_jobid[32];
};
struct changelog_ext_extra_flags {
  uint64_t cr_extra_flags;
};
#define CLF_VERSION 0x1000
#define CLF_RENAME 0x2000
#define CLF_JOBID 0x4000
#define CLF_EXTRA_FLAGS 0x8000
#define CHANGELOG_FLAG_JOBID 0x04
#define CHANGELOG_FLAG_EXTRA_FLAGS 0x08
#define CR_MAXSIZE 4096 /* at least __ALIGN_KERNEL(2 * NAME_MAX + 2 + the largest offset, 8) */
#define FID_SEQ_FAKE 0x200000400ULL

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v && *v ? v : fallback;
}

static int mdt_count(void) { return atoi(env_or("FAKE_LUSTRE_MDTS", "4")); }

/* "fsname-MDT0001" -> 1, or -1 when it names no MDT of this filesystem. */
static int mdt_of(const char *device) {
  const char *fs = env_or("FAKE_LUSTRE_FSNAME", "lustre");
  size_t n = strlen(fs);
  unsigned idx;
  if (strncmp(device, fs, n) != 0 || sscanf(device + n, "-MDT%04x", &idx) != 1) return -1;
  return (int)idx < mdt_count() ? (int)idx : -1;
}

static void file_of(char *out, size_t size, const char *device, const char *ext) {
  snprintf(out, size, "%s/%s.%s", env_or("FAKE_LUSTRE_CHANGELOG", "/nonexistent"), device, ext);
}

static int parse_fid(const char *s, struct lu_fid *fid) {
  memset(fid, 0, sizeof *fid);
  if (strcmp(s, "0") == 0) return 0;
  unsigned long long seq;
  unsigned oid, ver;
  if (sscanf(s, "[%llx:%x:%x]", &seq, &oid, &ver) != 3 && sscanf(s, "%llx:%x:%x", &seq, &oid, &ver) != 3) return -EINVAL;
  fid->f_seq = seq;
  fid->f_oid = oid;
  fid->f_ver = ver;
  return 0;
}

static size_t unhex(const char *s, char *out) {
  size_t n = 0;
  if (strcmp(s, "-") == 0) return 0;
  for (; s[0] && s[1]; s += 2) {
    unsigned v;
    sscanf(s, "%2x", &v);
    out[n++] = (char)v;
  }
  return n;
}

/* ---- users ---- */

/* The cleared index of `user` on `device`, or -1 if it is not registered. */
__attribute__((unused)) static long long user_cleared(const char *device, const char *user) {
  char path[PATH_MAX], name[64];
  long long cleared;
  file_of(path, sizeof path, device, "users");
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long long found = -1;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "%63s %lld", name, &cleared) == 2 && strcmp(name, user) == 0) found = cleared;
  }
  fclose(f);
  return found;
}

/* ---- reading ---- */

struct fake_reader {
  unsigned magic;
  int flags;
  char **lines;
  size_t n, next;
};
#define READER_MAGIC 0xCA8E1080

int llapi_changelog_start(void **priv, int flags, const char *device, long long startrec) {
  if (mdt_of(device) < 0) return -ENOENT; /* no /dev/changelog-<device> */
  struct fake_reader *r = calloc(1, sizeof *r);
  if (!r) return -ENOMEM;
  r->magic = READER_MAGIC;
  r->flags = flags;
  char path[PATH_MAX];
  file_of(path, sizeof path, device, "log");
  FILE *f = fopen(path, "r");
  if (f) {
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
      if (strtoll(line, NULL, 10) < startrec) continue; /* lseek(fd, startrec) */
      r->lines = realloc(r->lines, (r->n + 1) * sizeof *r->lines);
      r->lines[r->n++] = strdup(line);
    }
    free(line);
    fclose(f);
  }
  *priv = r;
  return 0;
}

#ifndef FAKE_NO_START_USER
/* As upstream: the reader is started, then the user filter set; a failure of the filter returns
 * -errno with *priv still set (the caller finis it). */
int llapi_changelog_start_user(void **priv, int flags, const char *device, const char *username, uint64_t mask,
                               long long startrec) {
  (void)mask;
  int rc = llapi_changelog_start(priv, flags, device, startrec);
  if (rc != 0) return rc;
  return user_cleared(device, username) < 0 ? -ENOENT : 0;
}
#endif

int llapi_changelog_fini(void **priv) {
  struct fake_reader *r = *priv;
  if (!r || r->magic != READER_MAGIC) return -EINVAL;
  for (size_t i = 0; i < r->n; ++i) free(r->lines[i]);
  free(r->lines);
  free(r);
  *priv = NULL;
  return 0;
}

int llapi_changelog_recv(void *priv, struct changelog_rec **rech) {
  struct fake_reader *r = priv;
  if (!r || r->magic != READER_MAGIC || !rech) return -EINVAL;
  *rech = NULL;
  if (r->next == r->n) return 1;
  const char *line = r->lines[r->next++];
  long long index;
  unsigned type, flags;
  char tfid[64], pfid[64], name[2 * NAME_MAX + 4], sfid[64] = "0", spfid[64] = "0", sname[2 * NAME_MAX + 4] = "-";
  int got = sscanf(line, "%lld %u %x %63s %63s %511s %63s %63s %511s", &index, &type, &flags, tfid, pfid, name, sfid,
                   spfid, sname);
  if (got < 6) return -EINVAL;
  bool rename = got == 9;
  char *rec = calloc(1, CR_MAXSIZE);
  if (!rec) return -ENOMEM;
  struct changelog_rec h = {0};
  h.cr_flags = CLF_VERSION | (flags & 0x0fff);
  h.cr_type = type;
  h.cr_index = (uint64_t)index;
  h.cr_time = 0;
  struct lu_fid f;
  parse_fid(tfid, &f);
  memcpy(&h.cr_tfid, &f, sizeof f);
  parse_fid(pfid, &f);
  memcpy(&h.cr_pfid, &f, sizeof f);
  size_t at = sizeof h;
  if (rename) {
    h.cr_flags |= CLF_RENAME;
    struct changelog_ext_rename ext;
    parse_fid(sfid, &ext.cr_sfid);
    parse_fid(spfid, &ext.cr_spfid);
    memcpy(rec + at, &ext, sizeof ext);
    at += sizeof ext;
  }
  if (r->flags & CHANGELOG_FLAG_JOBID) {
    h.cr_flags |= CLF_JOBID;
    struct changelog_ext_jobid job = {{0}};
    snprintf(job.cr_jobid, sizeof job.cr_jobid, "fake.%u", type);
    memcpy(rec + at, &job, sizeof job);
    at += sizeof job;
  }
  if (r->flags & CHANGELOG_FLAG_EXTRA_FLAGS) {
    h.cr_flags |= CLF_EXTRA_FLAGS;
    struct changelog_ext_extra_flags extra = {0}; /* no extra extension asked for (set_xflags) */
    memcpy(rec + at, &extra, sizeof extra);
    at += sizeof extra;
  }
  size_t n = unhex(name, rec + at);
  if (rename) {
    rec[at + n] = '\0';
    n += 1 + unhex(sname, rec + at + n + 1);
  }
  h.cr_namelen = (uint16_t)n;
  memcpy(rec, &h, sizeof h);
  *rech = (struct changelog_rec *)rec;
  return 0;
}

int llapi_changelog_free(struct changelog_rec **rech) {
  free(*rech);
  *rech = NULL;
  return 0;
}

/* ---- clearing ---- */

int llapi_changelog_clear(const char *mdtname, const char *idstr, long long endrec) {
  if (endrec < 0) return -EINVAL;
  if (mdt_of(mdtname) < 0) return -ENOENT;
  char user[64];
  snprintf(user, sizeof user, "%s", idstr);
  char *dash = strchr(user, '-'); /* "cl1-name" clears as "cl1" */
  if (dash) *dash = '\0';
  char path[PATH_MAX], tmp[PATH_MAX + 8], name[64];
  file_of(path, sizeof path, mdtname, "users");
  FILE *in = fopen(path, "r");
  if (!in) return -ENOENT;
  snprintf(tmp, sizeof tmp, "%s.new", path);
  FILE *out = fopen(tmp, "w");
  long long cleared, at, oldest = -1;
  bool found = false;
  char entry[256];
  while (fgets(entry, sizeof entry, in)) {
    at = 0;
    if (sscanf(entry, "%63s %lld %lld", name, &cleared, &at) < 2) continue;
    if (strcmp(name, user) == 0) {
      found = true;
      if (endrec >= cleared) cleared = endrec, at = (long long)time(NULL);
    }
    fprintf(out, "%s %lld %lld\n", name, cleared, at);
    if (oldest < 0 || cleared < oldest) oldest = cleared;
  }
  fclose(in);
  fclose(out);
  if (!found) {
    unlink(tmp);
    return -ENOENT;
  }
  rename(tmp, path);
  /* Purge what every user has cleared. */
  file_of(path, sizeof path, mdtname, "log");
  snprintf(tmp, sizeof tmp, "%s.new", path);
  in = fopen(path, "r");
  if (!in) return 0;
  out = fopen(tmp, "w");
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, in) > 0) {
    if (strtoll(line, NULL, 10) > oldest) fputs(line, out);
  }
  free(line);
  fclose(in);
  fclose(out);
  rename(tmp, path);
  return 0;
}

/* ---- mounts, MDTs, FIDs ---- */

static const char *mount_dir(void) { return getenv("FAKE_LUSTRE_MOUNT"); }

int llapi_search_mounts(const char *pathname, int index, char *mntdir, char *fsname) {
  (void)index;
  const char *mnt = mount_dir();
  size_t n = mnt ? strlen(mnt) : 0;
  if (!mnt || strncmp(pathname, mnt, n) != 0 || (pathname[n] != '/' && pathname[n] != '\0')) return -ENODEV;
  strcpy(mntdir, mnt);
  if (fsname) strcpy(fsname, env_or("FAKE_LUSTRE_FSNAME", "lustre"));
  return 0;
}

int llapi_get_obd_count(char *mnt, int *count, int is_mdt) {
  struct stat st;
  if (stat(mnt, &st) < 0) return -errno;
  *count = is_mdt ? mdt_count() : atoi(env_or("FAKE_LUSTRE_OSTS", "8"));
  return 0;
}

static struct lu_fid fid_of_ino(ino_t ino) {
  struct lu_fid f = {FID_SEQ_FAKE + ((uint64_t)ino >> 32), (uint32_t)ino, 0};
  return f;
}

int llapi_path2fid(const char *path, struct lu_fid *fid) {
  struct stat st;
  memset(fid, 0, sizeof *fid);
  if (lstat(path, &st) < 0) return -errno;
  *fid = fid_of_ino(st.st_ino);
  return 0;
}

/* The mount's names by inode, in walk order (a file's links in a stable order). */
struct name_entry {
  ino_t ino;
  size_t seq; /* walk order: a file's links keep it */
  char *path;
};
static struct name_entry *names;
static size_t names_n, names_cap;
static size_t mount_len;

static void add_name(ino_t ino, const char *rel);

static int index_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)flag;
  (void)ftw;
  const char *rel = path + mount_len;
  while (*rel == '/') ++rel;
  add_name(st->st_ino, rel);
  return 0;
}

/* By inode, then in walk order (a file's links in a stable order). */
static int by_ino(const void *a, const void *b) {
  const struct name_entry *x = a, *y = b;
  if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void add_name(ino_t ino, const char *rel) {
  if (names_n == names_cap) {
    names_cap = names_cap ? names_cap * 2 : 1024;
    names = realloc(names, names_cap * sizeof *names);
  }
  names[names_n].ino = ino;
  names[names_n].seq = names_n;
  names[names_n].path = strdup(rel);
  ++names_n;
}

static void load_index(const char *file) {
  FILE *f = fopen(file, "r");
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while (f && (n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] == '\n') line[n - 1] = '\0';
    char *tab = strchr(line, '\t');
    if (!tab) continue;
    *tab = '\0';
    add_name((ino_t)strtoull(line, NULL, 10), tab + 1);
  }
  free(line);
  if (f) fclose(f);
}

static void index_mount_once(void) {
  if (!mount_dir()) return;
  if (getenv("FAKE_LUSTRE_INDEX_FILE")) {
    load_index(getenv("FAKE_LUSTRE_INDEX_FILE"));
  } else {
    const char *root = env_or("FAKE_LUSTRE_INDEX_ROOT", mount_dir());
    mount_len = strlen(root);
    nftw(root, index_one, 64, FTW_PHYS | FTW_MOUNT);
  }
  qsort(names, names_n, sizeof *names, by_ino);
}

/* Once per process, whatever the number of threads asking at once (lmover resolves on many). */
static void index_mount(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, index_mount_once);
}

/* The first index entry of `ino`, or names_n. */
static size_t first_of(ino_t ino) {
  size_t lo = 0, hi = names_n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (names[mid].ino < ino) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* As the kernel's OBD_IOC_FID2PATH: link number *linkno of the entry, relative to the root ("" for
 * the root itself), and *linkno moved on when it has more links. -ENOENT when it is gone. */
int llapi_fid2path(const char *device, const char *fidstr, char *path, int pathlen, long long *recno, int *linkno) {
  (void)recno;
  if (!device || !*device) return -EINVAL;
  long delay_us = atol(env_or("FAKE_LUSTRE_FID2PATH_US", "0"));
  if (delay_us > 0) usleep((useconds_t)delay_us);
  struct lu_fid fid;
  if (parse_fid(fidstr, &fid) < 0) return -EINVAL;
  if (fid.f_seq < FID_SEQ_FAKE) return -ENOENT;
  ino_t ino = (ino_t)(((fid.f_seq - FID_SEQ_FAKE) << 32) | fid.f_oid);
  index_mount();
  int want = linkno ? *linkno : 0, seen = 0;
  const char *found = NULL;
  bool more = false;
  for (size_t i = first_of(ino); i < names_n && names[i].ino == ino; ++i) {
    if (seen == want) found = names[i].path;
    else if (seen > want) more = true;
    ++seen;
  }
  if (!found) return -ENOENT;
  if ((int)strlen(found) >= pathlen) return -ERANGE;
  strcpy(path, found);
  if (linkno && more) *linkno = want + 1;
  return 0;
}
