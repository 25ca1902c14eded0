# consumer_test.cmake: installs the build tree into a scratch prefix and
# builds a separate consumer project against it twice: with find_package(sra)
# (sra::sra and sra::sra_audit) and with pkg-config (sra, sra-audit), then
# runs every consumer.  Arguments: BUILD_DIR, CONSUMER_DIR, WORK, C_COMPILER,
# GENERATOR.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}${err}")
  endif()
  message(STATUS "${out}")
endfunction()

set(prefix ${WORK}/prefix)
file(REMOVE_RECURSE ${WORK})
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# README "Install": the allocator's files, exactly there.
foreach(f include/sra.h lib/libsra.a lib/libsra_audit.a lib/cmake/sra/sraConfig.cmake
          lib/cmake/sra/sraConfigVersion.cmake lib/pkgconfig/sra.pc lib/pkgconfig/sra-audit.pc)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "install: ${prefix}/${f} missing")
  endif()
endforeach()

# find_package(sra)
run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK}/cmake-build -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK}/cmake-build)
run(${WORK}/cmake-build/consumer_plain)
run(${WORK}/cmake-build/consumer_audit)

# pkg-config
find_program(PKG_CONFIG pkg-config REQUIRED)
foreach(pc sra sra-audit)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${prefix}/lib/pkgconfig
                          ${PKG_CONFIG} --cflags --libs ${pc}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config ${pc} failed")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  if(pc STREQUAL "sra")
    set(def -DCONSUMER_AUDIT=0)
  else()
    set(def -DCONSUMER_AUDIT=1)
  endif()
  run(${C_COMPILER} -O2 ${def} ${CONSUMER_DIR}/consumer.c ${flags} -o ${WORK}/pc-${pc})
  run(${WORK}/pc-${pc})
endforeach()
file(REMOVE_RECURSE ${WORK})
