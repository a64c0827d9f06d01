// Does io_uring overlap metadata round trips as well as threads do? Stats every entry of a tree
// (listed first, untimed) two ways at the same depth N: N threads calling fstatat, and one thread
// keeping N IORING_OP_STATX requests in flight. On a latency-bound filesystem both should approach
// entries x latency / N; bench/latency.sh's delay layer is where it is meant to run.
//
//   cc -O2 -o uring_stat bench/uring_stat.c -luring -lpthread && ./uring_stat TREE 32
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct entry { int dir; char *name; };
static struct entry *entries;
static size_t count, cap;
static atomic_size_t next_index;

static void list(int dir) {
  DIR *d = fdopendir(dup(dir));
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (count == cap) entries = realloc(entries, (cap = cap ? 2 * cap : 4096) * sizeof *entries);
    entries[count++] = (struct entry){dir, strdup(e->d_name)};
    if (e->d_type == DT_DIR) list(openat(dir, e->d_name, O_RDONLY | O_DIRECTORY));
  }
  closedir(d);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void *stat_worker(void *arg) {
  (void)arg;
  struct stat st;
  for (size_t i; (i = atomic_fetch_add(&next_index, 1)) < count;) {
    if (fstatat(entries[i].dir, entries[i].name, &st, AT_SYMLINK_NOFOLLOW)) perror(entries[i].name);
  }
  return NULL;
}

static double with_threads(int n) {
  pthread_t t[n];
  atomic_store(&next_index, 0);
  double t0 = now();
  for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, stat_worker, NULL);
  for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
  return now() - t0;
}

static double with_uring(unsigned depth) {
  struct io_uring ring;
  if (io_uring_queue_init(depth, &ring, 0)) { perror("io_uring_queue_init"); exit(1); }
  // statx is always handed to io-wq kernel workers: let there be as many as requests in flight.
  unsigned workers[2] = {depth, depth};
  if (io_uring_register_iowq_max_workers(&ring, workers) < 0) fprintf(stderr, "io-wq workers not set\n");
  struct statx *out = calloc(depth, sizeof *out);
  double t0 = now();
  size_t submitted = 0, done = 0;
  unsigned in_flight = 0;
  unsigned free_slots[depth];
  for (unsigned i = 0; i < depth; i++) free_slots[i] = i;
  unsigned nfree = depth;
  while (done < count) {
    while (nfree && submitted < count) {
      unsigned slot = free_slots[--nfree];
      struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
      io_uring_prep_statx(sqe, entries[submitted].dir, entries[submitted].name, AT_SYMLINK_NOFOLLOW,
                          STATX_BASIC_STATS, &out[slot]);
      io_uring_sqe_set_data64(sqe, slot);
      submitted++, in_flight++;
    }
    io_uring_submit_and_wait(&ring, 1);
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      if (cqe->res < 0) fprintf(stderr, "statx: %s\n", strerror(-cqe->res));
      free_slots[nfree++] = (unsigned)io_uring_cqe_get_data64(cqe);
      seen++;
    }
    io_uring_cq_advance(&ring, seen);
    done += seen, in_flight -= seen;
  }
  double s = now() - t0;
  io_uring_queue_exit(&ring);
  free(out);
  return s;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s TREE DEPTH [RUNS]\n", argv[0]); return 2; }
  int depth = atoi(argv[2]), runs = argc > 3 ? atoi(argv[3]) : 3;
  list(open(argv[1], O_RDONLY | O_DIRECTORY));
  double best_t = 1e9, best_u = 1e9;
  for (int r = 0; r < runs; r++) {  // alternated, best of RUNS
    double t = with_threads(depth), u = with_uring((unsigned)depth);
    if (t < best_t) best_t = t;
    if (u < best_u) best_u = u;
  }
  printf("%zu entries, depth %d: %d threads %.3f s, io_uring (1 thread) %.3f s, ratio %.2f\n", count, depth, depth,
         best_t, best_u, best_u / best_t);
  return 0;
}
