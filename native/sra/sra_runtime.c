/* sra_runtime.c: the allocator's per-thread state and its slow paths. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>

#include "sra.h"

/* Lowest usable address of this thread's stack (0 until first use) and the
 * audit sequence counter.  Initial-exec TLS: the assembly reads them with
 * @gottpoff. */
__attribute__((tls_model("initial-exec"))) __thread uint64_t sra__stack_low;
__attribute__((tls_model("initial-exec"))) __thread uint32_t sra__seq;

uint64_t sra__init_stack_low(void);

uint64_t sra__init_stack_low(void) {
  pthread_attr_t attr;
  void *addr = 0;
  size_t size = 0;
  uint64_t low = 1; /* never 0 again: on failure everything but the reserve check passes */
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    if (pthread_attr_getstack(&attr, &addr, &size) == 0 && addr)
      low = (uint64_t)(uintptr_t)addr;
    pthread_attr_destroy(&attr);
  }
  /* Keep the bound page aligned so RSP - low stays a multiple of 16. */
  low = (low + 4095u) & ~(uint64_t)4095u;
  sra__stack_low = low;
  return low;
}

size_t sra_stack_remaining(void) {
  uint64_t low = sra__stack_low;
  if (!low)
    low = sra__init_stack_low();
  uintptr_t sp;
  __asm__ volatile("movq %%rsp, %0" : "=r"(sp));
  return sp > low ? (size_t)(sp - low) : 0;
}
