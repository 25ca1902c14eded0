/* sra.h: the stack relocation allocator, public API.
 *
 * sra_alloc() allocates from its *caller's* stack frame.  It relocates its
 * own calling stub (saved RBP, return address) lower on the stack, points RBP
 * at the copy and returns with `leave; ret`, so the caller resumes with RSP
 * lowered by the allocation.  The block lives until the caller returns.
 *
 * x86-64 System V only.
 *
 * Layout of one allocation of `size` bytes, R = caller's RSP before the call:
 *
 *   plain (libsra.a), reserved = SRA_ROUND16(size) + 16
 *     [R-16, R)             stub remnant: caller's RBP, return address
 *     [p, p+size)           the block, p = R - reserved (16-byte aligned)
 *
 *   audit (libsra_audit.a), reserved = SRA_ROUND16(size) + 32
 *     [R-32, R)             struct sra_audit_header (its last 16 bytes are
 *                           the stub remnant)
 *     [p, p+size)           the block, p = R - reserved
 *
 * After the call the caller's RSP is p - 0 (= R - reserved); the relocated
 * stub copy that `leave; ret` consumed lies just below it, in released stack.
 */
#ifndef SRA_H
#define SRA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if !defined(__x86_64__)
#error "sra supports x86-64 only"
#endif

/** Bytes of the thread's stack that sra_alloc never hands out: a request
 *  that would leave less than this between the new RSP and the lowest
 *  usable stack address returns NULL. */
#define SRA_STACK_RESERVE ((size_t)32 * 1024)

/** Round n up to a multiple of 16. */
#define SRA_ROUND16(n) (((size_t)(n) + 15u) & ~(size_t)15u)

/** Size of the audit header that sits directly above each block in audit mode. */
#define SRA_AUDIT_HEADER_SIZE 32u

/** Stub remnant size (saved RBP + return address). */
#define SRA_STUB_SIZE 16u

/** Magic mixed into the audit header's integrity check. */
#define SRA_AUDIT_MAGIC UINT64_C(0x5352416175646974) /* "SRAaudit" */

/** The audit header, at p + SRA_ROUND16(size), 16-byte aligned, 32 bytes.
 *
 *  check = fold32(SRA_AUDIT_MAGIC ^ size ^ seq ^ saved_rbp ^ call_site ^ addr)
 *  where addr is the header's own address and fold32(x) = (x ^ (x >> 32))
 *  truncated to 32 bits.  A write past the block's end changes `size` first
 *  and the check no longer matches.  sra_audit_header_valid() computes it. */
struct sra_audit_header {
  uint64_t size;      /**< requested size in bytes */
  uint32_t seq;       /**< per-thread sequence number, first allocation is 1 */
  uint32_t check;     /**< integrity check, see above */
  uint64_t saved_rbp; /**< caller's RBP at the call (stub remnant, low half) */
  uint64_t call_site; /**< return address of the sra_alloc call (stub remnant) */
};

/** Compute the check word of a header located at address `addr`. */
static inline uint32_t sra_audit_check(uint64_t size, uint32_t seq,
                                       uint64_t saved_rbp, uint64_t call_site,
                                       uint64_t addr) {
  uint64_t x = SRA_AUDIT_MAGIC ^ size ^ (uint64_t)seq ^ saved_rbp ^ call_site ^ addr;
  return (uint32_t)(x ^ (x >> 32));
}

/** True if the header at `h` (read from address `addr`) is intact. */
static inline int sra_audit_header_valid(const struct sra_audit_header *h,
                                         uint64_t addr) {
  return h->check ==
         sra_audit_check(h->size, h->seq, h->saved_rbp, h->call_site, addr);
}

/** Raw entry point.  Allocates `size` bytes from the caller's frame and
 *  returns a 16-byte aligned pointer, or NULL if the allocation would leave
 *  less than SRA_STACK_RESERVE of the thread's stack.
 *
 *  Only safe in a caller whose frame the compiler already treats as dynamic
 *  (it restores RSP from RBP on return and never addresses its frame through
 *  RSP after the call).  A VLA alone does not guarantee the second half: GCC
 *  may store a later call's stack argument at 0(%rsp), into the block, and
 *  Clang may tail-call with a pointer to the block after releasing the
 *  frame.  Use SRA_ALLOC() instead; `frameaudit lint` finds raw calls in
 *  unsafe callers.
 *
 *  The first call on a thread finds the stack's bounds with
 *  pthread_getattr_np(), which is not async-signal-safe: a thread that may
 *  allocate in a signal handler calls sra_stack_remaining() once first.  A
 *  handler running on an alternate signal stack (sigaltstack) must not
 *  allocate: the bound checked is the thread's own stack. */
void *sra_alloc(size_t size);

/** Bytes between the current RSP and the lowest usable address of the
 *  calling thread's stack (including the reserve). */
size_t sra_stack_remaining(void);

/* An opaque zero the optimiser cannot see through. */
static inline __attribute__((always_inline)) size_t sra__opaque_zero(void) {
  size_t z = 0;
  __asm__ volatile("" : "+r"(z));
  return z;
}

/* How far above RSP the compiler put a dynamic allocation: the size of the
 * outgoing-argument area it keeps at the bottom of a dynamic frame.  Zero
 * for Clang and for GCC's default tuning (arguments are pushed); non-zero
 * under GCC -maccumulate-outgoing-args (also implied by -mtune=intel and a
 * few -march values), where later calls store stack arguments at 0(%rsp)
 * and up, which after sra_alloc is the block. */
static inline __attribute__((always_inline)) size_t sra__dyn_offset(void *dyn) {
  uintptr_t sp;
  __asm__ volatile("movq %%rsp, %0" : "=r"(sp) : "r"(dyn));
  return (size_t)((uintptr_t)dyn - sp);
}

/* `gap`, made to depend on `p` so the second alloca cannot move above the
 * sra_alloc call that produced p. */
static inline __attribute__((always_inline)) size_t sra__after(size_t gap, void *p) {
  __asm__ volatile("" : "+r"(gap) : "r"(p));
  return gap;
}

/** The safe form.  `size` is evaluated first (a call in it cannot leave
 *  pushed arguments behind for a later call to reuse through RSP).  A
 *  zero-sized alloca whose size the compiler cannot know and whose result
 *  escapes makes the calling frame dynamic, so both GCC and Clang keep a
 *  frame pointer, address the frame through RBP, flush deferred argument
 *  pops, and restore RSP from RBP on every return path: the lowered RSP is
 *  then harmless.  If the compiler keeps an outgoing-argument area below
 *  its dynamic allocations, a second alloca of that size moves the area
 *  below the block (never taken with default GCC or Clang flags). */
#define SRA_ALLOC(size)                                                  \
  __extension__({                                                        \
    size_t sra__n = (size);                                              \
    void *sra__dyn = __builtin_alloca(sra__opaque_zero());               \
    __asm__ volatile("" : : "r"(sra__dyn) : "memory");                   \
    size_t sra__gap = sra__dyn_offset(sra__dyn);                         \
    void *sra__p = sra_alloc(sra__n);                                    \
    if (__builtin_expect(sra__gap != 0, 0)) {                            \
      void *sra__out = __builtin_alloca(sra__after(sra__gap, sra__p));   \
      __asm__ volatile("" : : "r"(sra__out) : "memory");                 \
    }                                                                    \
    sra__p;                                                              \
  })

#ifdef __cplusplus
}
#endif

#endif /* SRA_H */
