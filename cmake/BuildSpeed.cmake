# SPDX-License-Identifier: MIT
# Build time (ARCHITECTURE.md, "Build time"). Most of a cold build went to parsing the same
# header-only libraries (nlohmann-json, CLI11, Catch2) and the standard library again in every
# unit. Two tools of CMake's own remove that repetition, both on by default and both switchable:
#
# - Precompiled headers (PROMPTOPS_PCH): each target parses the heavy headers once
#   (promptops_precompile below); toml++ is already compiled once by Debian (libtomlplusplus.so).
# - Unity builds (CMAKE_UNITY_BUILD, batches of PROMPTOPS_UNITY_BATCH): a target's sources
#   compile a few at a time as one unit, so the headers they share are parsed once per batch.
#   Sources are written for it: file-local names are unique within their target.
#
# Neither changes a warning, a flag that reaches the code, or a test. For the fastest incremental
# rebuild of one file while editing, configure with -DCMAKE_UNITY_BUILD=OFF.
option(PROMPTOPS_PCH "precompile the standard and library headers that every unit includes" ON)
if(NOT DEFINED CMAKE_UNITY_BUILD)
  set(CMAKE_UNITY_BUILD ON)
endif()
set(PROMPTOPS_UNITY_BATCH 8 CACHE STRING "sources per unit in a unity build")
set(CMAKE_UNITY_BUILD_BATCH_SIZE ${PROMPTOPS_UNITY_BATCH})

# The headers nearly every unit of the project includes.
set(PROMPTOPS_COMMON_HEADERS
  <algorithm> <cstdint> <functional> <map> <memory> <optional> <set> <string> <string_view>
  <unordered_map> <utility> <variant> <vector> <nlohmann/json.hpp>)

# promptops_precompile(TARGET [HEADER...]): precompiles the common headers and the given ones for
# TARGET's own sources (a no-op with PROMPTOPS_PCH=OFF).
function(promptops_precompile target)
  if(PROMPTOPS_PCH)
    target_precompile_headers(${target} PRIVATE ${PROMPTOPS_COMMON_HEADERS} ${ARGN})
  endif()
endfunction()

# promptops_precompile_also(TARGET HEADER...): adds headers to TARGET's precompiled set, for the
# library headers only one layer or one test binary includes everywhere (CLI11 in cli, Catch2).
function(promptops_precompile_also target)
  if(PROMPTOPS_PCH)
    target_precompile_headers(${target} PRIVATE ${ARGN})
  endif()
endfunction()
