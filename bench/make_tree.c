/* make_tree: deterministic benchmark trees.
 *   make_tree small DIR   100k files of 0-16 KiB in 2000 dirs (40 x 50 dirs, 50 files each)
 *   make_tree empty DIR   1M empty files in 10k dirs (100 x 100 dirs, 100 files each)
 *   make_tree big DIR     2 files of 2 GiB and one sparse 8 GiB file with 64 MiB of data
 *   make_tree big4 DIR    4 files of 1 GiB;  make_tree big1 DIR: one file of 4 GiB
 *   make_tree touch DIR N rewrites every 100th file (same size, new bytes) with mtime N: "1% changed"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static void die(const char *what, const char *path) {
  fprintf(stderr, "make_tree: %s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

static void put(const char *path, size_t size, const char *buf) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("create", path);
  if (size && write(fd, buf, size) != (ssize_t)size) die("write", path);
  close(fd);
}

static void tree(const char *root, int tops, int subs, int files, size_t max_size, int touch, long mtime) {
  static char buf[1 << 20];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (char)next();
  char path[4096];
  long n = 0;
  if (!touch && mkdir(root, 0755) && errno != EEXIST) die("mkdir", root);
  for (int t = 0; t < tops; t++) {
    snprintf(path, sizeof path, "%s/top%03d", root, t);
    if (!touch && mkdir(path, 0755)) die("mkdir", path);
    for (int s = 0; s < subs; s++) {
      snprintf(path, sizeof path, "%s/top%03d/dir%03d", root, t, s);
      if (!touch && mkdir(path, 0755)) die("mkdir", path);
      for (int f = 0; f < files; f++, n++) {
        size_t size = max_size ? next() % (max_size + 1) : 0;
        snprintf(path, sizeof path, "%s/top%03d/dir%03d/file%04d", root, t, s, f);
        if (!touch) {
          put(path, size, buf + (next() % 4096));
        } else if (n % 100 == 0) {
          struct stat st;
          if (stat(path, &st)) die("stat", path);
          put(path, (size_t)st.st_size, buf + (mtime % 4096));
          struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
          utimensat(AT_FDCWD, path, ts, 0);
        }
      }
    }
  }
}

/* A directory-heavy tree: a x b x c leaf directories under a x b and a middle ones, every
   directory holding one empty file: the shape where per-task costs, not bytes, decide. */
static void dirs(const char *root, int a, int b, int c) {
  char path[4096];
  if (mkdir(root, 0755) && errno != EEXIST) die("mkdir", root);
  for (int i = 0; i < a; i++) {
    snprintf(path, sizeof path, "%s/d%03d", root, i);
    if (mkdir(path, 0755)) die("mkdir", path);
    snprintf(path, sizeof path, "%s/d%03d/f", root, i);
    put(path, 0, "");
    for (int j = 0; j < b; j++) {
      snprintf(path, sizeof path, "%s/d%03d/d%03d", root, i, j);
      if (mkdir(path, 0755)) die("mkdir", path);
      snprintf(path, sizeof path, "%s/d%03d/d%03d/f", root, i, j);
      put(path, 0, "");
      for (int k = 0; k < c; k++) {
        snprintf(path, sizeof path, "%s/d%03d/d%03d/d%03d", root, i, j, k);
        if (mkdir(path, 0755)) die("mkdir", path);
        snprintf(path, sizeof path, "%s/d%03d/d%03d/d%03d/f", root, i, j, k);
        put(path, 0, "");
      }
    }
  }
}

/* `files` files of `mib` MiB of random data, plus, if `sparse`, an 8 GiB file with 64 MiB of data */
static void big(const char *root, int files, int mib, int sparse) {
  static char buf[1 << 20];
  char path[4096];
  if (mkdir(root, 0755) && errno != EEXIST) die("mkdir", root);
  for (int i = 0; i < files; i++) {
    snprintf(path, sizeof path, "%s/big%d", root, i);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) die("create", path);
    for (int mb = 0; mb < mib; mb++) {
      for (size_t k = 0; k < sizeof buf; k += 8) *(uint64_t *)(buf + k) = next();
      if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) die("write", path);
    }
    close(fd);
  }
  if (!sparse) return;
  snprintf(path, sizeof path, "%s/sparse", root);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, 8LL << 30)) die("create", path);
  for (int mb = 0; mb < 64; mb++)
    if (pwrite(fd, buf, sizeof buf, (off_t)mb * (128LL << 20)) != (ssize_t)sizeof buf) die("write", path);
  close(fd);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: make_tree small|empty|big|big4|big1|dirs30k|dirs300k|dirs1m|touch DIR [MTIME]\n");
    return 2;
  }
  const char *kind = argv[1], *dir = argv[2];
  if (!strcmp(kind, "small")) tree(dir, 40, 50, 50, 16384, 0, 0);
  else if (!strcmp(kind, "empty")) tree(dir, 100, 100, 100, 0, 0, 0);
  else if (!strcmp(kind, "big")) big(dir, 2, 2048, 1);
  else if (!strcmp(kind, "big4")) big(dir, 4, 1024, 0);      /* four 1 GiB files */
  else if (!strcmp(kind, "big1")) big(dir, 1, 4096, 0);      /* one 4 GiB file */
  else if (!strcmp(kind, "dirs30k")) dirs(dir, 30, 30, 32);    /* 29 730 dirs, as many files */
  else if (!strcmp(kind, "dirs300k")) dirs(dir, 60, 50, 99);   /* 300 060 */
  else if (!strcmp(kind, "dirs1m")) dirs(dir, 100, 100, 99);   /* 1 000 100 */
  else if (!strcmp(kind, "touch") && argc > 3) {
    /* the same walk as "small" or "empty", decided by what is on disk */
    struct stat st;
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/top099", dir);
    int empty = stat(probe, &st) == 0;
    tree(dir, empty ? 100 : 40, empty ? 100 : 50, empty ? 100 : 50, empty ? 0 : 16384, 1, atol(argv[3]));
  } else {
    fprintf(stderr, "make_tree: unknown kind %s\n", kind);
    return 2;
  }
  return 0;
}
