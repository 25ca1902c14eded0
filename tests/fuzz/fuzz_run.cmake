# fuzz_run.cmake: the `fuzz/analyze` CTest test. Writes the seed corpus, then
# runs the fuzzer for RUNS inputs (one job, fixed RNG seed) over a scratch
# copy of it; any crash, leak, sanitizer report or invariant failure fails.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/seeds ${WORK}/corpus ${WORK}/artifacts)
execute_process(COMMAND ${SEEDS} ${WORK}/seeds RESULT_VARIABLE seeds_result)
if(NOT seeds_result EQUAL 0)
  message(FATAL_ERROR "make_seeds failed")
endif()
execute_process(
  COMMAND ${FUZZER} -runs=${RUNS} -seed=1 -max_len=8192 -timeout=20 -rss_limit_mb=2048
    -artifact_prefix=${WORK}/artifacts/ ${WORK}/corpus ${WORK}/seeds
  RESULT_VARIABLE fuzz_result)
if(NOT fuzz_result EQUAL 0)
  message(FATAL_ERROR "the fuzzer found a problem (exit ${fuzz_result}); see ${WORK}/artifacts")
endif()
