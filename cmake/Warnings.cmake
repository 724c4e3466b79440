# SPDX-License-Identifier: MIT
# Warning flags for the project's own targets (not for dependencies' headers).
add_library(promptops_warnings INTERFACE)
# clang (the fuzz build) has no -Wshadow=local.
target_compile_options(promptops_warnings INTERFACE -Wall -Wextra $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>
                       -Wnon-virtual-dtor)
if(PROMPTOPS_WERROR)
  target_compile_options(promptops_warnings INTERFACE -Werror)
endif()
