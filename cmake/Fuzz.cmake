# SPDX-License-Identifier: MIT
# PROMPTOPS_FUZZ=ON: a separate build tree (clang, libFuzzer, ASan + UBSan) whose only targets of
# interest are the fuzz targets in tests/fuzz/ (`--target fuzz`, so that only the layers they link
# are compiled). scripts/fuzz.sh configures, builds and runs them.
option(PROMPTOPS_FUZZ "build the libFuzzer targets in tests/fuzz (needs clang)" OFF)

if(PROMPTOPS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PROMPTOPS_FUZZ needs clang: -DCMAKE_CXX_COMPILER=clang++ (Debian: clang, libclang-rt-14-dev)")
  endif()
  # Every object links against the sanitizer runtimes; only the layers that hold parsers get
  # coverage counters and checks (promptops_fuzz_instrument), so the rest compiles at -O0 quickly.
  add_link_options(-fsanitize=address,undefined)
endif()

# promptops_fuzz_instrument(TARGET...): libFuzzer coverage (fuzzer-no-link: the fuzz targets alone
# link its main), ASan and UBSan, whose findings abort (no recovery) so that the fuzzer counts them.
function(promptops_fuzz_instrument)
  foreach(target ${ARGN})
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                           -fno-sanitize-recover=all -fno-omit-frame-pointer -O1 -g)
  endforeach()
endfunction()
