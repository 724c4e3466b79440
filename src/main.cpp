// SPDX-License-Identifier: MIT
// The git-promptops launcher: answers --version at once, then loads the core library and runs it.
//
// libgit2 and libcurl pull in about 40 shared libraries that cost ~15 ms to map before main()
// even starts. Keeping them out of the executable lets `--version` (and shell completion,
// scripts that probe for the tool) return in ~2 ms; every real command loads the core, which
// costs the same as linking it would have. A pre-commit hook with nothing prompt-related staged
// is answered here too (launcher/noop_hook.cpp), since it runs on every commit.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "launcher/noop_hook.hpp"

namespace {

constexpr const char* k_core_name = "libgit-promptops-core.so";

std::string executable_dir() {
  char buffer[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) {
    return ".";
  }
  std::string path(buffer, static_cast<std::size_t>(n));
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "version") == 0)) {
    std::printf("git-promptops version %s\n", PROMPTOPS_VERSION);
    return 0;
  }
  if (promptops::launcher::noop_pre_commit(argc, argv)) {
    return 0;
  }
  const std::string dir = executable_dir();
  // The build tree keeps the core beside the executable; an install keeps it in
  // <libdir>/git-promptops.
  const std::string candidates[] = {dir + "/" + k_core_name,
                                    dir + "/" PROMPTOPS_CORE_RELDIR "/" + k_core_name};
  void* core = nullptr;
  std::string errors;
  for (const std::string& candidate : candidates) {
    if (::access(candidate.c_str(), F_OK) != 0) {
      continue;
    }
    core = ::dlopen(candidate.c_str(), RTLD_LAZY | RTLD_LOCAL);
    if (core != nullptr) {
      break;
    }
    errors += std::string("; ") + ::dlerror();
  }
  if (core == nullptr) {
    std::fprintf(stderr, "git-promptops: error: cannot load %s from %s%s\n", k_core_name,
                 dir.c_str(), errors.c_str());
    std::fprintf(stderr, "hint: reinstall git-promptops ('cmake --install build')\n");
    return 2;
  }
  using Entry = int (*)(int, char**);
  const auto entry = reinterpret_cast<Entry>(::dlsym(core, "promptops_main"));
  if (entry == nullptr) {
    std::fprintf(stderr, "git-promptops: error: %s has no entry point\n", k_core_name);
    return 2;
  }
  return entry(argc, argv);
}
