# fuzz_run.cmake: the `fuzz/analyze` CTest test. Writes the seed corpus, then
# runs the fuzzer for RUNS inputs (one job, fixed RNG seed) over a scratch
# copy of it; any crash, leak, sanitizer report or invariant failure fails.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/seeds ${WORK}/corpus ${WORK}/artifacts)
execute_process(COMMAND ${SEEDS} ${WORK}/seeds RESULT_VARIABLE seeds_result)
if(NOT seeds_result EQUAL 0)
  message(FATAL_ERROR "make_seeds failed")
endif()
include(${CMAKE_CURRENT_LIST_DIR}/fuzz_common.cmake)
fuzz_run_corpus(8192)
