// Do writers of one file overlap? Writes MIB MiB three ways: one thread into one file, N threads
// into one file (each its own byte range, as lmover's chunks of one big file do), and N threads
// into a file each; ROUNDS rounds in rotated order, best and every time printed. Where the filesystem takes a file's writes
// under one lock (tmpfs, ext4 and XFS buffered writes: the inode's i_rwsem), the first is no faster
// than one thread; Lustre locks byte ranges, so chunks of one file can overlap there.
//
//   cc -O2 -o one_file_writers bench/one_file_writers.c -lpthread && ./one_file_writers /dev/shm 2 4096 4
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { kMaxThreads = 64, kBuffer = 1 << 20 };

struct writer {
  int fd;
  off_t begin, end;  // the byte range this thread writes
};

static void *write_range(void *arg) {
  struct writer *w = arg;
  char *buf = aligned_alloc(4096, kBuffer);
  memset(buf, 0x5a, kBuffer);
  for (off_t pos = w->begin; pos < w->end; pos += kBuffer) {
    if (pwrite(w->fd, buf, kBuffer, pos) != kBuffer) {
      perror("pwrite");
      exit(1);
    }
  }
  free(buf);
  return NULL;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

// Writes `total` bytes with `n` threads, into one file or one file each; returns seconds.
static double run(const char *dir, int n, off_t total, int one_file) {
  struct writer w[kMaxThreads];
  pthread_t threads[kMaxThreads];
  char path[4096];
  off_t per = total / n / kBuffer * kBuffer;
  for (int i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/one_file_writers.%d", dir, one_file ? 0 : i);
    if (!one_file || i == 0) {
      unlink(path);
      w[i].fd = open(path, O_WRONLY | O_CREAT, 0600);
      if (w[i].fd < 0) {
        perror(path);
        exit(1);
      }
    } else {
      w[i].fd = w[0].fd;
    }
    w[i].begin = one_file ? i * per : 0;
    w[i].end = w[i].begin + per;
  }
  double t0 = now();
  for (int i = 0; i < n; i++) pthread_create(&threads[i], NULL, write_range, &w[i]);
  for (int i = 0; i < n; i++) pthread_join(threads[i], NULL);
  double t = now() - t0;
  for (int i = 0; i < n; i++) {
    if (!one_file || i == 0) close(w[i].fd);
    snprintf(path, sizeof path, "%s/one_file_writers.%d", dir, one_file ? 0 : i);
    if (!one_file || i == 0) unlink(path);
  }
  return t;
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: one_file_writers DIR THREADS MIB [ROUNDS]\n");
    return 2;
  }
  int n = atoi(argv[2]), rounds = argc == 5 ? atoi(argv[4]) : 3;
  off_t total = (off_t)atoll(argv[3]) << 20;
  if (n < 1 || n > kMaxThreads || total < (off_t)n * kBuffer || rounds < 1 || rounds > 100) {
    fprintf(stderr, "one_file_writers: 1-%d threads, at least 1 MiB each, 1-100 rounds\n", kMaxThreads);
    return 2;
  }
  const struct { const char *what; int threads, one_file; } ways[3] = {
      {"one thread", 1, 1}, {"threads into one file", n, 1}, {"threads, a file each", n, 0}};
  double times[3][100];
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < 3; k++) {
      int way = (k + r) % 3;  // the first run after a deletion pays for freeing memory: rotate
      sleep(1);
      times[way][r] = run(argv[1], ways[way].threads, total, ways[way].one_file);
    }
  }
  for (int way = 0; way < 3; way++) {
    double best = times[way][0];
    for (int r = 1; r < rounds; r++) best = times[way][r] < best ? times[way][r] : best;
    printf("%d MiB, %d %-22s best %.2f s, all", (int)(total >> 20), ways[way].threads, ways[way].what, best);
    for (int r = 0; r < rounds; r++) printf(" %.2f", times[way][r]);
    printf("\n");
  }
  return 0;
}
