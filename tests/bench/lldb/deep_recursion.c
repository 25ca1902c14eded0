/* deep_recursion.c: the LLDB benchmark's debuggee. THREADS threads (the
 * main thread is one of them) each recurse DEPTH frames deep through a
 * frame-pointer function that takes a small block with SRA_ALLOC every EVERY
 * frames (0: never), then meet at a barrier; the main thread then aborts, so
 * the core holds THREADS x DEPTH frames of live recursion.
 *
 *   deep_recursion THREADS DEPTH [EVERY]
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <sra.h>

static pthread_barrier_t all_deep;
static pthread_t main_thread;
static size_t depth_wanted, every;
static volatile int released; /* never set: the threads wait for the core */

__attribute__((noinline)) static void reached_bottom(void) {
  pthread_barrier_wait(&all_deep);
  if (pthread_equal(pthread_self(), main_thread))
    abort(); /* every thread is DEPTH frames deep now */
  while (!released)
    pthread_barrier_wait(&all_deep); /* never passes */
}

__attribute__((noinline)) static size_t recurse(size_t depth) {
  volatile unsigned char *block = NULL;
  if (every && depth % every == 0) {
    block = SRA_ALLOC(24);
    memset((void *)block, (int)depth, 24);
  }
  size_t r = 0;
  if (depth + 1 < depth_wanted)
    r = recurse(depth + 1);
  else
    reached_bottom();
  return r + (block ? block[0] : 1); /* not a tail call: the frame stays */
}

static void *worker(void *arg) {
  (void)arg;
  recurse(0);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s THREADS DEPTH [EVERY]\n", argv[0]);
    return 2;
  }
  size_t threads = strtoul(argv[1], NULL, 0);
  depth_wanted = strtoul(argv[2], NULL, 0);
  every = argc > 3 ? strtoul(argv[3], NULL, 0) : 0;
  if (threads < 1 || depth_wanted < 1)
    return 2;
  /* The main thread is one of the THREADS: its stack must hold DEPTH frames
   * too. Its size is RLIMIT_STACK at exec, so run again with a larger one
   * (only when the limit is too small; the hard limit bounds it). */
  const size_t stack_size = (depth_wanted * 256 + (1u << 20) + 4095) & ~(size_t)4095;
  struct rlimit lim;
  if (getrlimit(RLIMIT_STACK, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
      lim.rlim_cur < stack_size && (lim.rlim_max == RLIM_INFINITY || lim.rlim_max >= stack_size)) {
    lim.rlim_cur = stack_size;
    if (setrlimit(RLIMIT_STACK, &lim) == 0) {
      execv("/proc/self/exe", argv);
      perror("execv /proc/self/exe");
      return 1;
    }
  }
  main_thread = pthread_self();
  pthread_barrier_init(&all_deep, NULL, (unsigned)threads);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  /* Room for DEPTH frames and their blocks, not much more: the kernel
   * writes every page of every thread stack into the core. */
  pthread_attr_setstacksize(&attr, stack_size);
  for (size_t i = 1; i < threads; ++i) {
    pthread_t t;
    if (pthread_create(&t, &attr, worker, NULL) != 0) {
      perror("pthread_create");
      return 1;
    }
  }
  worker(NULL);
  return 0;
}
