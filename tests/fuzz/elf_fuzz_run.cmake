# elf_fuzz_run.cmake: the `fuzz/elf` CTest test. First replays every file of
# the regression corpus (inputs that once crashed or hung a reader), then
# seeds a scratch corpus with fixture binaries and the real-program corpus's
# programs (libFuzzer loads the first 64 KiB of each: the headers and, for
# big files, a truncated file for the readers) and runs the fuzzer for RUNS inputs (one job, fixed RNG
# seed). Any crash, hang, leak, sanitizer report or invariant failure fails.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/seeds ${WORK}/corpus ${WORK}/artifacts)

file(GLOB regressions ${REGRESSIONS}/*)
if(regressions)
  execute_process(COMMAND ${FUZZER} -timeout=20 -rss_limit_mb=2048 ${regressions}
    RESULT_VARIABLE replay_result)
  if(NOT replay_result EQUAL 0)
    message(FATAL_ERROR "a regression input fails again (exit ${replay_result})")
  endif()
endif()

# Fixture binaries: one build per fixture program and compiler (a sample of
# the matrix: -O2, frame pointers, plain), plus stripped-looking variety from
# the other optimisation levels of one program.
file(GLOB fixtures ${FIXTURES}/*-O2-fp-plain ${FIXTURES}/unsafe-*-Os-nofp-* ${FIXTURES}/vla-*-O0-*-plain)
string(REPLACE "," ";" programs "${PROGRAMS}")
set(n 0)
foreach(f IN LISTS fixtures programs)
  if(NOT EXISTS ${f} OR IS_DIRECTORY ${f})
    continue()
  endif()
  # Copied whole; the fuzzer's -max_len cuts what it loads.
  get_filename_component(name ${f} NAME)
  file(COPY_FILE ${f} ${WORK}/seeds/${n}-${name})
  math(EXPR n "${n} + 1")
endforeach()
if(n EQUAL 0)
  message(FATAL_ERROR "no seed binaries found (fixtures in ${FIXTURES}, programs: ${PROGRAMS})")
endif()
message(STATUS "${n} seed files")

include(${CMAKE_CURRENT_LIST_DIR}/fuzz_common.cmake)
fuzz_run_corpus(65536)
