# Run at every build (cmake -P): writes OUT, a header defining LMOVER_GIT_COMMIT, with the commit
# the source tree SRC is at ("-dirty" when tracked files differ from it), or FALLBACK outside a git
# checkout (a tarball: -DLMOVER_GIT_COMMIT=... at configure). The file is rewritten only when the
# commit changed, so a build after a new commit says the new one and an unchanged tree rebuilds nothing.
execute_process(COMMAND git -C "${SRC}" rev-parse --short=12 HEAD
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR commit STREQUAL "")
  set(commit "${FALLBACK}")
else()
  execute_process(COMMAND git -C "${SRC}" status --porcelain --untracked-files=no
                  OUTPUT_VARIABLE changed OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT changed STREQUAL "")
    string(APPEND commit "-dirty")
  endif()
endif()
set(content "#define LMOVER_GIT_COMMIT \"${commit}\"\n")
set(old "")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL content)
  file(WRITE "${OUT}" "${content}")
endif()
