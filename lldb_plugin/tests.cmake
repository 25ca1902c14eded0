# CTest entries for the native plugin's pytest files
# (tests/integration/test_native_*.py, label `lldb`). tests/integration owns
# the integration suite: if its CMakeLists registers these files itself it
# sets the global property FRAMEAUDIT_NATIVE_TESTS_REGISTERED, and nothing is
# added here. The check runs at the end of the top-level configure step, after
# tests/ has been processed.
find_program(FRAMEAUDIT_PYTEST_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(FRAMEAUDIT_PYTEST_PYTHON NAMES python3)

function(frameaudit_register_native_plugin_tests)
  get_property(done GLOBAL PROPERTY FRAMEAUDIT_NATIVE_TESTS_REGISTERED)
  if(done OR NOT FRAMEAUDIT_PYTEST_PYTHON)
    return()
  endif()
  set(dir ${PROJECT_SOURCE_DIR}/tests/integration)
  foreach(part plugin live cores parity matrix)
    add_test(NAME lldb.native.${part}
      COMMAND ${FRAMEAUDIT_PYTEST_PYTHON} -m pytest -q -p no:cacheprovider
              ${dir}/test_native_${part}.py
      WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
    set_tests_properties(lldb.native.${part} PROPERTIES
      LABELS lldb
      TIMEOUT 1800
      ENVIRONMENT "FRAMEAUDIT_BUILD_DIR=${CMAKE_BINARY_DIR};FRAMEAUDIT_LLDB_VERSION=${FRAMEAUDIT_LLDB_VERSION};PYTHONDONTWRITEBYTECODE=1")
  endforeach()
endfunction()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL frameaudit_register_native_plugin_tests)
