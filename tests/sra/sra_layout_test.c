/* sra_layout_test.c: the allocator's exact layout for every size 0..4096.
 *
 * Built twice (plain and audit, SRA_TEST_AUDIT=0/1).  For each size n a
 * dynamic frame makes one anchor allocation and then a raw sra_alloc(n), so
 * the second call starts from RSP = anchor (R): the test checks p = R -
 * reserved exactly, 16-byte alignment, that the stub remnant or the audit
 * header sits at p + ROUND16(n) and describes the call (size, sequence,
 * saved RBP, call site, check word; a flipped bit fails the check), that the block is writable to
 * its last byte without touching what lies above it, and that RSP is restored when the frame
 * returns.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sra.h>

#ifndef SRA_TEST_AUDIT
#error "build with -DSRA_TEST_AUDIT=0 or 1"
#endif

#define EXTRA (SRA_TEST_AUDIT ? SRA_AUDIT_HEADER_SIZE : SRA_STUB_SIZE)

static int failures;
#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      if (failures++ < 20) {                                                                       \
        fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);                   \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
      }                                                                                            \
    }                                                                                              \
  } while (0)

static uint32_t expected_seq;

struct probe {
  uintptr_t anchor, p, rbp;
  uint64_t above[4]; /* the 32 bytes at p + ROUND16(n) right after the call */
};

/* Frame pointer kept explicitly (also forced by SRA_ALLOC) so RBP is known. */
__attribute__((noinline)) static void probe(size_t n, struct probe *out) {
  unsigned char *anchor = SRA_ALLOC(16); /* makes the frame dynamic; RSP is now anchor */
  unsigned char *p = sra_alloc(n);
  memcpy(out->above, p + SRA_ROUND16(n), sizeof out->above);
  out->anchor = (uintptr_t)anchor;
  out->p = (uintptr_t)p;
  out->rbp = (uintptr_t)__builtin_frame_address(0);
  /* The whole block is writable and writing it leaves the stub/header. */
  memset(p, 0xa5, n);
  uint64_t again[4];
  memcpy(again, p + SRA_ROUND16(n), sizeof again);
  CHECK(!memcmp(again, out->above, sizeof again),
        "n=%zu: writing the block changed what is above it", n);
  __asm__ volatile("" : : "r"(anchor), "r"(p) : "memory");
}

static uintptr_t current_sp(void) {
  uintptr_t sp;
  __asm__ volatile("movq %%rsp, %0" : "=r"(sp));
  return sp;
}

int main(void) {
  uintptr_t sp_before = current_sp();
  for (size_t n = 0; n <= 4096; n++) {
    struct probe pr;
    probe(n, &pr);
    expected_seq += 2; /* the anchor, then the probe */
    size_t reserved = SRA_ROUND16(n) + EXTRA;
    CHECK(pr.p % 16 == 0, "n=%zu: p=%#lx not 16-byte aligned", n, (unsigned long)pr.p);
    CHECK(pr.anchor - pr.p == reserved, "n=%zu: reserved %lu, expected %zu", n,
          (unsigned long)(pr.anchor - pr.p), reserved);
    uintptr_t top = pr.p + SRA_ROUND16(n);
    CHECK(top + EXTRA == pr.anchor, "n=%zu: remnant not at the top of the reservation", n);
#if SRA_TEST_AUDIT
    struct sra_audit_header h;
    memcpy(&h, pr.above, sizeof h);
    CHECK(h.size == n, "n=%zu: header size %lu", n, (unsigned long)h.size);
    CHECK(h.seq == expected_seq, "n=%zu: header seq %u, expected %u", n, h.seq, expected_seq);
    CHECK(h.saved_rbp == pr.rbp, "n=%zu: header saved_rbp %#lx, rbp %#lx", n,
          (unsigned long)h.saved_rbp, (unsigned long)pr.rbp);
    CHECK(h.check == sra_audit_check(h.size, h.seq, h.saved_rbp, h.call_site, top),
          "n=%zu: check word wrong", n);
    CHECK(sra_audit_header_valid(&h, top), "n=%zu: header invalid", n);
    /* A one-byte change anywhere in the header invalidates it. */
    for (size_t b = 0; b < sizeof h; b++) {
      if (b >= 12 && b < 16)
        continue; /* the check word itself */
      struct sra_audit_header bad = h;
      ((unsigned char *)&bad)[b] ^= 0x01;
      CHECK(!sra_audit_header_valid(&bad, top), "n=%zu: flipping header byte %zu undetected", n, b);
    }
    uint64_t call_site = h.call_site;
#else
    CHECK(pr.above[0] == pr.rbp, "n=%zu: stub saved rbp %#lx, rbp %#lx", n,
          (unsigned long)pr.above[0], (unsigned long)pr.rbp);
    uint64_t call_site = pr.above[1];
#endif
    /* The call site is the raw call's return address: a direct call to
     * sra_alloc (e8 rel32) ends there, inside probe(). */
    const unsigned char *cs = (const unsigned char *)call_site;
    int32_t rel;
    memcpy(&rel, cs - 4, sizeof rel);
    CHECK(cs[-5] == 0xe8 && call_site + (intptr_t)rel == (uintptr_t)&sra_alloc,
          "n=%zu: call site %#lx does not follow a call to sra_alloc", n, (unsigned long)call_site);
    CHECK(call_site > (uintptr_t)&probe && call_site < (uintptr_t)&probe + 4096,
          "n=%zu: call site %#lx outside probe()", n, (unsigned long)call_site);
    CHECK(current_sp() == sp_before, "n=%zu: RSP not restored after the frame returned", n);
  }
  if (failures) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("sra layout (%s): sizes 0..4096 ok\n", SRA_TEST_AUDIT ? "audit" : "plain");
  return 0;
}
