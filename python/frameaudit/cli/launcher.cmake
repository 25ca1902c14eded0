# The frameaudit command-line tool's launcher, included by python/CMakeLists.txt.
# Generates bin/frameaudit twice from launcher.py.in: for the build tree
# (${CMAKE_BINARY_DIR}/bin/frameaudit) and for the install prefix (P/bin/frameaudit).
# The CLI's Python files are copied and installed with the rest of the package.

# The lldb the project is built against, and where its Python module is.
find_program(FRAMEAUDIT_CLI_LLDB NAMES lldb-${FRAMEAUDIT_LLDB_VERSION} lldb
  DOC "lldb whose Python module the frameaudit CLI imports")
set(FRAMEAUDIT_CLI_LLDB_PYTHON_DIR "")
if(FRAMEAUDIT_CLI_LLDB)
  execute_process(COMMAND ${FRAMEAUDIT_CLI_LLDB} -P
    OUTPUT_VARIABLE FRAMEAUDIT_CLI_LLDB_PYTHON_DIR
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _fa_lldb_rc)
  if(NOT _fa_lldb_rc EQUAL 0 OR NOT IS_DIRECTORY "${FRAMEAUDIT_CLI_LLDB_PYTHON_DIR}")
    set(FRAMEAUDIT_CLI_LLDB_PYTHON_DIR "")
  endif()
endif()
if(NOT FRAMEAUDIT_CLI_LLDB_PYTHON_DIR)
  message(WARNING "frameaudit CLI: `lldb -P` gave no Python module directory; "
                  "the CLI will look for LLDB at run time (or set FRAMEAUDIT_LLDB_PYTHON)")
endif()
set(_FA_CLI_DIR ${CMAKE_CURRENT_LIST_DIR})
# The same interpreter the pybind11 module is built for (LLDB's).
set(FRAMEAUDIT_CLI_PYTHON ${FRAMEAUDIT_PYTHON})

function(frameaudit_cli_launcher output layout rel_python rel_plugin)
  set(FRAMEAUDIT_CLI_LAYOUT ${layout})
  set(FRAMEAUDIT_CLI_REL_PYTHON ${rel_python})
  set(FRAMEAUDIT_CLI_REL_PLUGIN ${rel_plugin})
  configure_file(${_FA_CLI_DIR}/launcher.py.in ${output} @ONLY
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                     WORLD_READ WORLD_EXECUTE)
endfunction()

# Build tree: build/bin/frameaudit -> build/python/, build/lib/frameaudit/.
frameaudit_cli_launcher(${CMAKE_BINARY_DIR}/bin/frameaudit build
  ../python ../lib/frameaudit/libframeaudit_lldb.so)
# Install: P/bin/frameaudit -> P/${FRAMEAUDIT_PY_INSTALL_DIR}/, P/lib/frameaudit/.
frameaudit_cli_launcher(${CMAKE_CURRENT_BINARY_DIR}/frameaudit-install install
  ../${FRAMEAUDIT_PY_INSTALL_DIR} ../lib/frameaudit/libframeaudit_lldb.so)
install(PROGRAMS ${CMAKE_CURRENT_BINARY_DIR}/frameaudit-install
        DESTINATION bin RENAME frameaudit)

# The man page and the bash/zsh completions, generated from the argparse
# parser (cli/shell_files.py) into the build tree's share/, installed to
# P/share/man/man1, P/share/bash-completion/completions and
# P/share/zsh/site-functions.
set(_fa_share ${CMAKE_BINARY_DIR}/share)
set(_fa_generated ${CMAKE_CURRENT_BINARY_DIR}/shell-files)
file(GLOB _fa_cli_sources CONFIGURE_DEPENDS ${_FA_CLI_DIR}/*.py ${_FA_CLI_DIR}/commands/*.py)
add_custom_command(
  OUTPUT ${_fa_share}/man/man1/frameaudit.1
         ${_fa_share}/bash-completion/completions/frameaudit
         ${_fa_share}/zsh/site-functions/_frameaudit
  COMMAND ${CMAKE_COMMAND} -E env PYTHONPATH=${CMAKE_BINARY_DIR}/python PYTHONDONTWRITEBYTECODE=1
          ${FRAMEAUDIT_CLI_PYTHON} -m frameaudit.cli.shell_files ${_fa_generated}
          ${PROJECT_VERSION}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${_fa_share}/man/man1
          ${_fa_share}/bash-completion/completions ${_fa_share}/zsh/site-functions
  COMMAND ${CMAKE_COMMAND} -E copy ${_fa_generated}/frameaudit.1 ${_fa_share}/man/man1/frameaudit.1
  COMMAND ${CMAKE_COMMAND} -E copy ${_fa_generated}/frameaudit.bash
          ${_fa_share}/bash-completion/completions/frameaudit
  COMMAND ${CMAKE_COMMAND} -E copy ${_fa_generated}/_frameaudit
          ${_fa_share}/zsh/site-functions/_frameaudit
  DEPENDS ${_fa_cli_sources} frameaudit_python
  COMMENT "frameaudit: man page and shell completions from the argparse parser"
  VERBATIM)
add_custom_target(frameaudit_shell_files ALL
  DEPENDS ${_fa_share}/man/man1/frameaudit.1
          ${_fa_share}/bash-completion/completions/frameaudit
          ${_fa_share}/zsh/site-functions/_frameaudit)
install(FILES ${_fa_share}/man/man1/frameaudit.1 DESTINATION share/man/man1)
install(FILES ${_fa_share}/bash-completion/completions/frameaudit
        DESTINATION share/bash-completion/completions)
install(FILES ${_fa_share}/zsh/site-functions/_frameaudit DESTINATION share/zsh/site-functions)
