# fuzz_common.cmake: the fuzzing run both CTest fuzz tests end with: RUNS
# inputs (one job, fixed RNG seed) over a scratch corpus grown from the seeds
# in ${WORK}/seeds; any crash, hang, leak, sanitizer report or invariant
# failure fails the test.
function(fuzz_run_corpus max_len)
  execute_process(
    COMMAND ${FUZZER} -runs=${RUNS} -seed=1 -max_len=${max_len} -timeout=20 -rss_limit_mb=2048
      -artifact_prefix=${WORK}/artifacts/ ${WORK}/corpus ${WORK}/seeds
    RESULT_VARIABLE fuzz_result)
  if(NOT fuzz_result EQUAL 0)
    message(FATAL_ERROR "the fuzzer found a problem (exit ${fuzz_result}); see ${WORK}/artifacts")
  endif()
endfunction()
