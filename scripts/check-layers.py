#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks that every file of a layer includes only its own headers and those of the layers below it.

usage: scripts/check-layers.py [SRC_DIR]     (default: src beside this script)

The layers and what each may use come from the build itself: `promptops_layer(NAME DEPS...)` in
SRC_DIR/<NAME>/CMakeLists.txt, closed transitively over `promptops_<dep>` entries. A file in
SRC_DIR/<L>/ may include
  - "promptops/<M>/..." or <promptops/<M>/...> where M is L or a layer L uses (directly or not),
  - a header beside it in its own directory (a private header of L), by its bare name.
Anything else that names a layer directory, a private header of another layer, or climbs with "..",
is reported as `file:line: layer L may not include X (why)`. Exits 1 when anything is reported.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
LAYER_CALL = re.compile(r'promptops_layer\(\s*(\w+)([^)]*)\)', re.S)
# A library's headers, by the target a layer must link *directly* to include them: so <git2.h>
# stays in git, libcurl in providers, CLI11 in cli, as ARCHITECTURE.md says.
LIBRARIES = {
    "git2.h": "PkgConfig::LIBGIT2", "git2/": "PkgConfig::LIBGIT2", "curl/": "CURL::libcurl",
    "toml++/": "PkgConfig::TOMLPP", "CLI/": "CLI11::CLI11", "dtl/": "promptops_dtl",
    "pcre2.h": "PkgConfig::PCRE2", "utf8proc.h": "PkgConfig::UTF8PROC", "kainjow/": "promptops_mustache",
}


def read_layers(src):
    deps, direct = {}, {}
    for name in sorted(os.listdir(src)):
        cmake = os.path.join(src, name, "CMakeLists.txt")
        if not os.path.isfile(cmake):
            continue
        for m in LAYER_CALL.finditer(open(cmake, encoding="utf-8").read()):
            words = m.group(2).split()
            deps[m.group(1)] = [d[len("promptops_"):] for d in words if d.startswith("promptops_")]
            direct[m.group(1)] = set(words)
    closure = {}

    def below(layer, seen=()):
        if layer in seen:
            sys.exit(f"check-layers: the layers form a cycle through {layer}")
        if layer not in closure:
            closure[layer] = set()
            for d in deps.get(layer, []):
                closure[layer] |= {d} | below(d, seen + (layer,))
        return closure[layer]

    for layer in deps:
        below(layer)
    return deps, closure, direct


def problems(src, deps, closure, direct):
    layers = set(deps)
    for layer in sorted(layers):
        top = os.path.join(src, layer)
        for d, _, files in os.walk(top):
            for f in sorted(files):
                if not f.endswith((".cpp", ".hpp", ".h")):
                    continue
                path = os.path.join(d, f)
                for n, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    why = verdict(layer, path, m.group(1), m.group(2), layers, closure, direct[layer])
                    if why:
                        yield f"{path}:{n}: layer {layer} may not include {m.group(2)} ({why})"


def verdict(layer, path, bracket, spelled, layers, closure, links):
    parts = spelled.split("/")
    for prefix, target in LIBRARIES.items():
        if spelled.startswith(prefix) and target not in links:
            return f"{layer} does not link {target} itself"
    if ".." in parts:
        return "a path that climbs out of its directory"
    if parts[0] == "promptops":
        if len(parts) < 3:
            return "a public header belongs to a layer: promptops/<layer>/<name>.hpp"
        target = parts[1]
        if target not in layers:
            return f"{target} is not a layer"
        if target != layer and target not in closure[layer]:
            allowed = ", ".join(sorted(closure[layer])) or "none"
            return f"{target} is not below {layer}; {layer} uses: {allowed}"
        return None
    if bracket == '"':
        if parts[0] in layers and len(parts) > 1:
            return f"a private header of {parts[0]}; use a public header promptops/{parts[0]}/..."
        if len(parts) == 1 and not os.path.isfile(os.path.join(os.path.dirname(path), spelled)):
            return "not a header beside this file"
    return None


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    src = argv[1] if len(argv) > 1 else os.path.join(here, "..", "src")
    deps, closure, direct = read_layers(src)
    if not deps:
        print(f"check-layers: no promptops_layer() calls under {src}", file=sys.stderr)
        return 2
    found = list(problems(src, deps, closure, direct))
    for p in found:
        print(p)
    print(f"check-layers: {len(deps)} layers, {len(found)} upward or undeclared includes")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
