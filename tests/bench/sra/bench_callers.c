/* bench_callers.c: the allocation strategies sra_bench compares, each in a
 * noinline caller that allocates n bytes, touches the block and returns.
 *
 * Compiled twice: once as is (SRA_ALLOC -> the plain libsra.a) and once with
 * BENCH_AUDIT, which renames sra_alloc to the audit build of the same
 * assembly linked into this benchmark (both libraries define sra_alloc, so
 * they cannot be linked side by side under one name).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sra.h>

#include "bench_callers.h"

/* Writes the first and last byte and one per cache line in between, and
 * reads them back: every strategy pays for the same touches. */
static inline __attribute__((always_inline)) unsigned touch(unsigned char *p, size_t n) {
  unsigned s = 0;
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i += 64)
    p[i] = (unsigned char)i;
  p[n - 1] = 1;
  __asm__ volatile("" : : "r"(p) : "memory");
  for (size_t i = 0; i < n; i += 64)
    s += p[i];
  return s + p[n - 1];
}

#ifdef BENCH_AUDIT

__attribute__((noinline)) unsigned bench_sra_audit(size_t n) {
  unsigned char *p = SRA_ALLOC(n);
  return touch(p, n);
}

#else

__attribute__((noinline)) unsigned bench_sra_plain(size_t n) {
  unsigned char *p = SRA_ALLOC(n);
  return touch(p, n);
}

__attribute__((noinline)) unsigned bench_alloca(size_t n) {
  unsigned char *p = __builtin_alloca(n);
  return touch(p, n);
}

__attribute__((noinline)) unsigned bench_vla(size_t n) {
  unsigned char p[n];
  return touch(p, n);
}

__attribute__((noinline)) unsigned bench_malloc(size_t n) {
  unsigned char *p = malloc(n);
  if (!p)
    abort();
  unsigned s = touch(p, n);
  free(p);
  return s;
}

/* A per-thread bump arena with mark/release, the usual hand-rolled
 * alternative to stack allocation. */
#define BENCH_ARENA_SIZE (1u << 20)
static _Alignas(16) unsigned char bench_arena[BENCH_ARENA_SIZE];
static __thread size_t bench_arena_top;

__attribute__((noinline)) unsigned bench_arena_alloc(size_t n) {
  size_t mark = bench_arena_top;
  size_t need = (n + 15) & ~(size_t)15;
  if (need > BENCH_ARENA_SIZE - mark)
    abort();
  unsigned char *p = bench_arena + mark;
  bench_arena_top = mark + need;
  unsigned s = touch(p, n);
  bench_arena_top = mark;
  return s;
}

#endif
