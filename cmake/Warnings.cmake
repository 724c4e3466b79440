# SPDX-License-Identifier: MIT
# Warning flags for the project's own targets (not for dependencies' headers).
add_library(promptops_warnings INTERFACE)
target_compile_options(promptops_warnings INTERFACE -Wall -Wextra -Wshadow=local -Wnon-virtual-dtor)
if(PROMPTOPS_WERROR)
  target_compile_options(promptops_warnings INTERFACE -Werror)
endif()
