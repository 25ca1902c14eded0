/* sra_limits_test.c: the safety reserve, on the main thread and on pthreads
 * with custom stack sizes (and a caller-provided stack).
 *
 * On each thread: requests that would leave less than SRA_STACK_RESERVE
 * return NULL (including SIZE_MAX and sizes near it, which must not wrap);
 * a binary search finds the largest size granted from one call site and
 * checks it is exact: that block leaves at least the reserve below it and
 * 16 bytes more would not.  The stack's low bound is computed here the same
 * way the runtime does (pthread_getattr_np, page-rounded up).  Granted
 * blocks near the limit are written end to end, so a wrong bound faults.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <sra.h>

#ifndef SRA_TEST_AUDIT
#error "build with -DSRA_TEST_AUDIT=0 or 1"
#endif
#define EXTRA (SRA_TEST_AUDIT ? SRA_AUDIT_HEADER_SIZE : SRA_STUB_SIZE)

static int failures;
#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      failures++;                                                                                  \
      fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);                     \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
    }                                                                                              \
  } while (0)

static uintptr_t stack_low(void) {
  pthread_attr_t attr;
  void *addr;
  size_t size;
  if (pthread_getattr_np(pthread_self(), &attr) || pthread_attr_getstack(&attr, &addr, &size)) {
    fprintf(stderr, "pthread_getattr_np failed\n");
    exit(2);
  }
  pthread_attr_destroy(&attr);
  return ((uintptr_t)addr + 4095u) & ~(uintptr_t)4095u;
}

/* One allocation from a fresh dynamic frame, always entered with the same
 * RSP from the same loop: returns p (0 on NULL) and R, the RSP at the call. */
__attribute__((noinline)) static uintptr_t try_alloc(size_t n, uintptr_t *r_out, int touch) {
  unsigned char *anchor = SRA_ALLOC(0); /* RSP = anchor = R for the next call */
  unsigned char *p = sra_alloc(n);
  *r_out = (uintptr_t)anchor;
  if (p && touch) {
    memset(p, 0x5a, n); /* the whole block must be mapped stack */
    volatile unsigned char sink = p[0];
    (void)sink;
  }
  __asm__ volatile("" : : "r"(anchor) : "memory");
  return (uintptr_t)p;
}

static void check_thread(const char *what) {
  uintptr_t low = stack_low();
  uintptr_t r;
  size_t remaining = sra_stack_remaining();
  CHECK(remaining > 0, "%s: sra_stack_remaining() is 0", what);

  /* Hopeless requests. */
  static const size_t huge[] = {SIZE_MAX, SIZE_MAX - 15, SIZE_MAX - 16, SIZE_MAX / 2,
                                (size_t)1 << 40};
  for (size_t i = 0; i < sizeof huge / sizeof *huge; i++)
    CHECK(try_alloc(huge[i], &r, 0) == 0, "%s: sra_alloc(%#zx) did not return NULL", what, huge[i]);
  CHECK(try_alloc(remaining, &r, 0) == 0, "%s: sra_alloc(remaining=%zu) did not return NULL", what,
        remaining);

  /* R for this call site (0 if even the anchor allocation was refused). */
  uintptr_t p0 = try_alloc(0, &r, 0);
  if (!r || !p0) {
    /* Only legitimate if the stack is nearly all reserve already; the
     * slack covers the frames between here and the allocation. */
    CHECK(remaining < SRA_STACK_RESERVE + EXTRA + 1024,
          "%s: %zu bytes of stack left, yet sra_alloc(0) returned NULL", what, remaining);
    printf("%s: %zu bytes left, within the reserve: every request returns NULL (ok)\n", what,
           remaining);
    return;
  }
  size_t room = r - low;

  /* Largest granted size, by bisection over multiples of 16. */
  size_t lo = 0, hi = room / 16 + 1; /* lo*16 granted, hi*16 refused */
  CHECK(try_alloc(hi * 16, &r, 0) == 0, "%s: %zu bytes granted", what, hi * 16);
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (try_alloc(mid * 16, &r, 0))
      lo = mid;
    else
      hi = mid;
  }
  size_t max = lo * 16;
  uintptr_t p = try_alloc(max, &r, 1);
  CHECK(p != 0, "%s: largest size %zu not granted again", what, max);
  CHECK(p - low >= SRA_STACK_RESERVE, "%s: block at %#lx leaves %lu < reserve", what,
        (unsigned long)p, (unsigned long)(p - low));
  CHECK(p - low < SRA_STACK_RESERVE + 16, "%s: block at %#lx leaves %lu: 16 more bytes would fit",
        what, (unsigned long)p, (unsigned long)(p - low));
  CHECK(p == r - SRA_ROUND16(max) - EXTRA, "%s: p != R - reserved", what);
  /* Odd sizes round like multiples of 16: max - 15 granted, max + 1 refused. */
  if (max >= 15)
    CHECK(try_alloc(max - 15, &r, 1) != 0, "%s: %zu refused though %zu granted", what, max - 15,
          max);
  CHECK(try_alloc(max + 1, &r, 0) == 0, "%s: %zu granted though over the limit", what, max + 1);
  printf("%s: largest block %zu bytes, leaves %lu bytes (reserve %zu)\n", what, max,
         (unsigned long)(p - low), (size_t)SRA_STACK_RESERVE);
}

static void *thread_main(void *arg) {
  check_thread(arg);
  return NULL;
}

static void run_thread(size_t stack_size, void *own_stack, const char *what) {
  pthread_attr_t attr;
  pthread_t th;
  pthread_attr_init(&attr);
  if (own_stack)
    pthread_attr_setstack(&attr, own_stack, stack_size);
  else
    pthread_attr_setstacksize(&attr, stack_size);
  if (pthread_create(&th, &attr, thread_main, (void *)what)) {
    fprintf(stderr, "%s: pthread_create failed\n", what);
    exit(2);
  }
  pthread_join(th, NULL);
  pthread_attr_destroy(&attr);
}

int main(void) {
  /* Smallest first: glibc reuses a cached stack up to four times larger
   * than requested, so a 16 KiB thread after a 64 KiB one gets 64 KiB. */
  run_thread(PTHREAD_STACK_MIN > 16384 ? PTHREAD_STACK_MIN : 16384, NULL, "pthread 16 KiB");
  run_thread(64 * 1024, NULL, "pthread 64 KiB");
  run_thread(1024 * 1024, NULL, "pthread 1 MiB");
  check_thread("main thread");
  size_t own = 256 * 1024;
  void *mem =
      mmap(NULL, own, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (mem == MAP_FAILED)
    return 2;
  run_thread(own, mem, "pthread own 256 KiB stack");
  munmap(mem, own);
  if (failures) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  return 0;
}
