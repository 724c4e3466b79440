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
is reported as `file:line: layer L may not include X (why)`.

Flags are the CLI's: a string literal in any layer but `cli` that names an option (`--` and a
letter, as in "--good REV") is reported as `file:line: layer L names the flag --X in a string`.
A lower layer says what the fix is as data (an Error's remedy(), a field of its result) and the
CLI words it. One exception: a flag after `git <command>` in the same literal is git's own
("run: git config --global --add ..."), except after `git promptops`. Comments may name flags.

Exits 1 when anything is reported.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
FLAG = re.compile(r'(?<![\w-])--[a-z][a-z0-9-]*')
GIT_COMMAND = re.compile(r'\bgit (?!promptops\b)[a-z][a-z-]*')
FLAG_LAYER = "cli"
LAYER_CALL = re.compile(r'promptops_layer\(\s*(\w+)([^)]*)\)', re.S)
# A library's headers, by the target a layer must link *directly* to include them: so <git2.h>
# stays in git, libcurl in providers, CLI11 in cli, as ARCHITECTURE.md says.
LIBRARIES = {
    "git2.h": "PkgConfig::LIBGIT2", "git2/": "PkgConfig::LIBGIT2", "curl/": "CURL::libcurl",
    "toml++/": "PkgConfig::TOMLPP", "CLI/": "CLI11::CLI11", "dtl/": "promptops_dtl",
    "pcre2.h": "PkgConfig::PCRE2", "utf8proc.h": "PkgConfig::UTF8PROC", "kainjow/": "promptops_mustache",
    "yaml-cpp/": "yaml-cpp",
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


def string_literals(text):
    """(line, contents) of each string literal in C++ `text`, comments and character literals skipped."""
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            line += text.count("\n", i, end)
            i = end
            continue
        elif c == "R" and text.startswith('"', i + 1) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            delim = text[i + 2:text.find("(", i + 2)]
            close = ")" + delim + '"'
            end = text.find(close, i)
            end = n if end < 0 else end
            yield line, text[i + 3 + len(delim):end]
            line += text.count("\n", i, end)
            i = end + len(close)
            continue
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            if c == '"':
                yield line, text[i + 1:j]
            i = j + 1
            continue
        i += 1


def flags_named(path):
    """(line, flag) of each flag named in a string literal of `path` outside a `git <command>` hint."""
    for line, literal in string_literals(open(path, encoding="utf-8", errors="replace").read()):
        for m in FLAG.finditer(literal):
            if not any(g.end() <= m.start() for g in GIT_COMMAND.finditer(literal)):
                yield line, m.group(0)


def flag_problems(src, layers):
    for layer in sorted(layers - {FLAG_LAYER}):
        for d, _, files in os.walk(os.path.join(src, layer)):
            for f in sorted(files):
                if f.endswith((".cpp", ".hpp", ".h")):
                    path = os.path.join(d, f)
                    for line, flag in flags_named(path):
                        yield f"{path}:{line}: layer {layer} names the flag {flag} in a string (flags are the CLI's)"


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
    flags = list(flag_problems(src, set(deps)))
    for p in found + flags:
        print(p)
    print(f"check-layers: {len(deps)} layers, {len(found)} upward or undeclared includes, "
          f"{len(flags)} flag names outside {FLAG_LAYER}")
    return 1 if found or flags else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
