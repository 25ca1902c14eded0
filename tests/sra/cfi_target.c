/* cfi_target.c: a fixed call chain main -> cfi_outer -> cfi_caller ->
 * sra_alloc for single-stepping through the allocator under a debugger.
 *
 *   cfi_target first    the thread's first allocation (slow path that finds
 *                       the stack bound, calls into the C runtime)
 *   cfi_target normal   an ordinary allocation of 100 bytes
 *   cfi_target fail     a refused request (NULL, RSP untouched)
 *
 * The tests break on the call instruction in cfi_caller and step every
 * instruction of sra_alloc, checking the unwound caller chain each time.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sra.h>

volatile size_t cfi_size = 100;

__attribute__((noinline)) int cfi_caller(void) {
  unsigned char *p = SRA_ALLOC(cfi_size);
  if (p)
    memset(p, 0x11, cfi_size);
  __asm__ volatile("" : : "r"(p) : "memory");
  return p != NULL;
}

__attribute__((noinline)) int cfi_outer(void) {
  int r = cfi_caller();
  __asm__ volatile("" : : : "memory");
  return r + 1;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "normal";
  if (strcmp(mode, "first") != 0)
    (void)sra_stack_remaining(); /* takes the slow path now, not in the stepped call */
  if (strcmp(mode, "fail") == 0)
    cfi_size = SIZE_MAX / 2;
  int r = cfi_outer();
  printf("cfi_target %s: %s\n", mode, r == 2 ? "allocated" : "refused");
  return (r == 2) == (strcmp(mode, "fail") != 0) ? 0 : 1;
}
