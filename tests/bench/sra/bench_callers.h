/* bench_callers.h: the benchmarked callers (bench_callers.c). */
#ifndef BENCH_CALLERS_H
#define BENCH_CALLERS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

unsigned bench_sra_plain(size_t n);
unsigned bench_sra_audit(size_t n);
unsigned bench_alloca(size_t n);
unsigned bench_vla(size_t n);
unsigned bench_malloc(size_t n);
unsigned bench_arena_alloc(size_t n);

#ifdef __cplusplus
}
#endif

#endif
