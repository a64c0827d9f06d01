/* floor: the fewest syscalls that make a small-file tree copy, on N threads: a measuring stick for
 * lmover, not a tool. Top-level entries are dealt to threads round-robin; any error aborts.
 *   floor copy SRC DST THREADS [meta]  dirs + file contents (+ owner, mode, times with "meta")
 *   floor stat SRC DST THREADS         lstat every entry on both sides: the floor of a no-op re-run
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { BUF = 1 << 20, MAX_THREADS = 256 };

static int copying, with_meta, threads, src_root, dst_root, top_count;
static char **top_names;

static void fail(const char *op, const char *name) {
  fprintf(stderr, "floor: %s %s: %s\n", op, name, strerror(errno));
  exit(1);
}

static void copy_one(int sdir, int ddir, const char *name, const struct stat *st, char *buf) {
  int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW);
  if (in < 0) fail("open", name);
  int out = openat(ddir, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
  if (out < 0) fail("create", name);
  for (ssize_t n; (n = read(in, buf, BUF)) > 0;)
    if (write(out, buf, (size_t)n) != n) fail("write", name);
  if (with_meta) {
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    if (fchown(out, st->st_uid, st->st_gid) || fchmod(out, st->st_mode & 07777) || futimens(out, times))
      fail("metadata", name);
  }
  close(in);
  close(out);
}

static void walk(int sdir, int ddir, char *buf);

static void visit(int sdir, int ddir, const char *name, char *buf) {
  struct stat st;
  if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW)) fail("stat", name);
  if (!S_ISDIR(st.st_mode)) {
    if (copying) {
      copy_one(sdir, ddir, name, &st, buf);
    } else {
      struct stat other;
      if (fstatat(ddir, name, &other, AT_SYMLINK_NOFOLLOW)) fail("stat target", name);
    }
    return;
  }
  if (copying && mkdirat(ddir, name, 0700) && errno != EEXIST) fail("mkdir", name);
  int s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (s < 0 || d < 0) fail("open dir", name);
  walk(s, d, buf);
  close(s);
  close(d);
}

static void walk(int sdir, int ddir, char *buf) {
  DIR *dir = fdopendir(dup(sdir));
  if (!dir) fail("fdopendir", "?");
  for (struct dirent *e; (e = readdir(dir));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) visit(sdir, ddir, e->d_name, buf);
  closedir(dir);
}

static void *thread_main(void *arg) {
  char *buf = malloc(BUF);
  for (long i = (long)arg; i < top_count; i += threads) visit(src_root, dst_root, top_names[i], buf);
  free(buf);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: floor copy|stat SRC DST THREADS [meta]\n");
    return 2;
  }
  copying = strcmp(argv[1], "copy") == 0;
  threads = atoi(argv[4]);
  with_meta = argc > 5;
  if (threads < 1 || threads > MAX_THREADS) return 2;
  if (copying) mkdir(argv[3], 0700);
  src_root = open(argv[2], O_RDONLY | O_DIRECTORY);
  dst_root = open(argv[3], O_RDONLY | O_DIRECTORY);
  if (src_root < 0 || dst_root < 0) fail("open root", argv[2]);
  DIR *dir = opendir(argv[2]);
  size_t cap = 1024;
  top_names = malloc(cap * sizeof *top_names);
  for (struct dirent *e; (e = readdir(dir));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if ((size_t)top_count == cap) top_names = realloc(top_names, (cap *= 2) * sizeof *top_names);
    top_names[top_count++] = strdup(e->d_name);
  }
  pthread_t pool[MAX_THREADS];
  for (long i = 0; i < threads; i++) pthread_create(&pool[i], NULL, thread_main, (void *)i);
  for (int i = 0; i < threads; i++) pthread_join(pool[i], NULL);
  return 0;
}
