/* support.c: the callees and main of callers.c (separate file, so the
 * compiler cannot see through them). */
#include <stddef.h>

struct big { long v[8]; };
void use(void *p, size_t n) { (void)p; (void)n; __asm__ volatile("" ::: "memory"); }
long many(long a, long b, long c, long d, long e, long f, long g, long h, void *p) {
  return a + b + c + d + e + f + g + h + (long)p;
}
long seven(long a, long b, long c, long d, long e, long f, long g) { return a + b + c + d + e + f + g; }
struct big make_big(long x) {
  struct big b = {{x}};
  return b;
}
void take_big(struct big b) { use(&b, sizeof b); }
int main(void) { return 0; }
