/* callers.c: sra_alloc callers for the lint tests, built by test_compiled.py
 * with gcc and clang at every optimisation level and flag set.
 *
 * Every SRA_ALLOC caller must lint clean. Raw sra_alloc calls are judged by
 * the objdump oracle (lintlib.py); the tests tell raw from SRA_ALLOC calls by
 * the source line of the call, so keep each raw call's `sra_alloc(` on the
 * line of the call and never on a line that also says SRA_ALLOC.
 */
#include <sra.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#define NI __attribute__((noinline))
#else
#define NI __attribute__((noinline, noipa))
#endif

extern void use(void *p, size_t n);
extern long many(long a, long b, long c, long d, long e, long f, long g, long h, void *p);
extern long seven(long a, long b, long c, long d, long e, long f, long g);
struct big { long v[8]; };
extern struct big make_big(long x);
extern void take_big(struct big b);

/* --- SRA_ALLOC callers: all must be clean --- */
NI void s_basic(size_t n) { char *p = SRA_ALLOC(n); memset(p, 1, n); use(p, n); }
NI long s_args(size_t n, long x) {
  char *p = SRA_ALLOC(n);
  long local[4] = {x, x + 1, x + 2, x + 3};
  long r = many(x, x, x, x, x, x, local[1], local[3], p);
  use(local, 4);
  return r + local[2];
}
NI void s_loop(size_t n, int k) {
  for (int i = 0; i < k; i++) {
    char *p = SRA_ALLOC(n);
    use(p, n);
  }
}
NI int s_switch(size_t n, int k) {
  char *p = SRA_ALLOC(n);
  switch (k) {
  case 0: use(p, 1); return 3;
  case 1: use(p, 2); return 7;
  case 2: use(p, 3); return 11;
  case 3: use(p, 4); return 13;
  case 4: use(p, 5); return 17;
  case 5: use(p, 6); return 19;
  case 6: use(p, 7); return 23;
  default: return 0;
  }
}
NI void s_vla(size_t n, int m) { char vla[m]; char *p = SRA_ALLOC(n); use(vla, m); use(p, n); }
NI void s_big(size_t n, long x) {
  char *p = SRA_ALLOC(n);
  struct big b = make_big(x);
  take_big(b);
  use(p, n);
  use(&b, sizeof b);
}
NI void s_noreturn(size_t n, int k) { char *p = SRA_ALLOC(n); if (k < 0) abort(); use(p, n); }
NI void s_early(size_t n, int k) { if (k == 0) return; char *p = SRA_ALLOC(n); use(p, n); }
NI void s_two(size_t n) { char *p = SRA_ALLOC(n); char *q = SRA_ALLOC(n * 2); use(p, n); use(q, n); }
NI void s_bigframe(size_t n) { char buf[20000]; char *p = SRA_ALLOC(n); use(buf, sizeof buf); use(p, n); }
NI void s_aligned(size_t n) { _Alignas(64) char buf[64]; char *p = SRA_ALLOC(n); use(buf, 64); use(p, n); }
NI void s_varargs(size_t n, ...) {
  va_list ap;
  va_start(ap, n);
  char *p = SRA_ALLOC(n);
  use(p, (size_t)va_arg(ap, int));
  va_end(ap);
}
NI long s_recurse(size_t n, int d) { char *p = SRA_ALLOC(n); use(p, n); return d > 0 ? s_recurse(n, d - 1) + 1 : 0; }
NI long s_tailish(size_t n, long x) { char *p = SRA_ALLOC(n); use(p, n); return many(x, x, x, x, x, x, x, x, p); }
NI double s_float(size_t n, double d) { char *p = SRA_ALLOC(n); use(p, n); return d * 2.5; }
NI long s_seven_around(size_t n) {
  long a = seven(1, 2, 3, 4, 5, 6, 7);
  char *p = SRA_ALLOC(n);
  use(p, n);
  return a + seven(1, 2, 3, 4, 5, 6, (long)p);
}

/* --- raw callers: judged by the oracle --- */
NI void *raw_tail(size_t n) {
  return sra_alloc(n);
}
NI void raw_pops(size_t n) {
  char *p = sra_alloc(n);
  use(p, n);
}
NI long raw_add(size_t n, long x) {
  long local[6] = {x, x + 1, x + 2, x + 3, x + 4, x + 5};
  use(local, sizeof local);
  char *p = sra_alloc(n);
  use(p, n);
  return local[0] + local[5];
}
NI long raw_reload(size_t n, long x) {
  long local[4] = {x, x + 1, x + 2, x + 3};
  use(local, sizeof local);
  char *p = sra_alloc(n);
  use(local, (size_t)p);
  return local[2];
}
NI void raw_in_vla(size_t n, int m) {
  char vla[m];
  memset(vla, 1, (size_t)m);
  char *p = sra_alloc(n);
  use(p, n);
  use(vla, (size_t)m);
}
NI long raw_deferred(size_t n, int m) {
  char vla[m];
  memset(vla, 1, (size_t)m);
  long s = seven(1, 2, 3, 4, 5, 6, 0x77777777);
  char *p = sra_alloc(n);
  memset(p, 0xee, 64);
  s += seven(1, 2, 3, 4, 5, 6, 0x77777777);
  use(vla, (size_t)m);
  return s + p[0];
}
