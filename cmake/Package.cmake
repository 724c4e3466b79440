# SPDX-License-Identifier: MIT
# `cpack` (run in the build directory) makes git-promptops_VERSION_ARCH.deb: the binary, the core
# library it loads, the man pages, bash and zsh completion and the hook shims, under /usr, with
# its runtime dependencies computed by dpkg-shlibdeps from the libraries it links (libgit2,
# libcurl, PCRE2, utf8proc...) plus git. `apt-get install ./git-promptops_*.deb` installs it;
# scripts/package-test.sh checks it.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/hooks/ DESTINATION ${CMAKE_INSTALL_DATADIR}/git-promptops/hooks
        USE_SOURCE_PERMISSIONS)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME git-promptops)
set(CPACK_PACKAGE_VENDOR "git-promptops")
set(CPACK_PACKAGE_CONTACT "git-promptops maintainers <maintainers@git-promptops.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "LLM prompts versioned, tested and reviewed like code, as a git extension")
set(CPACK_PACKAGE_DESCRIPTION
    "git promptops keeps the LLM prompts of a repository as TOML or text files: commits are versions, tags are aliases. It evaluates prompt versions per commit against datasets, gates regressions in hooks and CI, reviews prompt changes with paired statistics, bisects and optimizes prompts.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION vcs)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "git")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "man-db, bash-completion")
set(CPACK_STRIP_FILES ON)
# Only the runtime: the tests, benchmarks and fuzz targets install nothing, and nothing else is
# installed by the dependencies.
include(CPack)
