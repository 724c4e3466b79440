# SPDX-License-Identifier: MIT
# Every dependency comes from a Debian 12 package; nothing is downloaded at build time.
# scripts/install-deps.sh installs the packages named in the messages below.
find_package(PkgConfig REQUIRED)

pkg_check_modules(LIBGIT2 REQUIRED IMPORTED_TARGET libgit2>=1.5)       # libgit2-dev
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus>=3.3)   # libtomlplusplus-dev
find_package(nlohmann_json 3.10 REQUIRED)                              # nlohmann-json3-dev
find_package(CLI11 2.1 REQUIRED)                                       # libcli11-dev
find_package(CURL REQUIRED)                                            # libcurl4-openssl-dev
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8>=10.40)  # libpcre2-dev
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc>=2.6)  # libutf8proc-dev
find_package(yaml-cpp 0.7 REQUIRED)                                    # libyaml-cpp-dev
find_package(Threads REQUIRED)

# Header-only packages without CMake or pkg-config metadata.
find_path(DTL_INCLUDE_DIR dtl/dtl.hpp REQUIRED)                        # libdtl-dev
find_path(MUSTACHE_INCLUDE_DIR kainjow/mustache.hpp REQUIRED)          # libkainjow-mustache-dev
add_library(promptops_dtl INTERFACE)
target_include_directories(promptops_dtl SYSTEM INTERFACE ${DTL_INCLUDE_DIR})
add_library(promptops_mustache INTERFACE)
target_include_directories(promptops_mustache SYSTEM INTERFACE ${MUSTACHE_INCLUDE_DIR})

if(PROMPTOPS_BUILD_TESTS)
  find_package(Catch2 2.13 REQUIRED)                                   # catch2
endif()
