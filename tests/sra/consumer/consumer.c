/* consumer.c: a user of the installed allocator.  Allocates through
 * SRA_ALLOC, checks the block, and in audit builds (CONSUMER_AUDIT=1) that
 * the header above it validates, which proves the audit library was linked. */
#include <stdio.h>
#include <string.h>

#include <sra.h>

__attribute__((noinline)) static int use(size_t n) {
  unsigned char *p = SRA_ALLOC(n);
  if (!p || (uintptr_t)p % 16)
    return 1;
  memset(p, 0x3c, n);
#if CONSUMER_AUDIT
  const struct sra_audit_header *h = (const void *)(p + SRA_ROUND16(n));
  if (!sra_audit_header_valid(h, (uint64_t)(uintptr_t)h) || h->size != n)
    return 2;
#endif
  for (size_t i = 0; i < n; i++)
    if (p[i] != 0x3c)
      return 3;
  return 0;
}

int main(void) {
  int rc = use(37) | use(0) | use(4096);
  printf("consumer (%s): %s, %zu bytes of stack left\n", CONSUMER_AUDIT ? "audit" : "plain",
         rc ? "FAILED" : "ok", sra_stack_remaining());
  return rc;
}
