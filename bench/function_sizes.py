#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Lists the longest function bodies in C++ sources: a brace scanner, no compiler needed.

usage: bench/function_sizes.py [--min N] [--top K] [DIR...]   (default: src, at least 80 lines)

A function is a `{...}` block at namespace or class level whose head ends with `)` (plus
qualifiers such as const, noexcept, override or a trailing return type). Its length counts the
lines from the head's first line to the closing brace. Lambdas and nested blocks count toward
their enclosing function. Prints `LINES file:line name`, longest first, then a summary line.
"""
import os
import re
import sys

CONTROL = {"if", "for", "while", "switch", "catch", "return", "sizeof", "decltype", "alignof"}


def strip(text):
    """Blanks comments, strings and character literals, keeping newlines and positions."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == 'R' and text.startswith('R"', i) and (i == 0 or not (text[i-1].isalnum() or text[i-1] == '_')):
            m = re.match(r'R"([^(\s]{0,16})\(', text[i:])
            if not m:
                out.append(c); i += 1; continue
            end = ")" + m.group(1) + '"'
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i-1].isalnum():  # digit separator 1'000
                out.append(" "); i += 1; continue
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    text = strip(open(path, encoding="utf-8", errors="replace").read())
    stack = []   # (kind, start offset, head)
    head_start = 0
    found = []
    for i, c in enumerate(text):
        if c == "{":
            head = text[head_start:i]
            outer = [k for k, _, _ in stack]
            in_function = "function" in outer
            kind = "block"
            if not in_function:
                h = " ".join(head.split())
                h = re.sub(r"^\s*(public|private|protected)\s*:", "", h).strip()
                if re.search(r"\b(namespace|extern\s+\"C\")\b[^;]*$", h) or re.search(r"\bnamespace\b", h):
                    kind = "namespace"
                elif re.search(r"\b(class|struct|union|enum)\b[^()]*$", h):
                    kind = "class"
                elif re.search(r"\)\s*(const|noexcept|override|final|mutable|&|&&|->[^{]*|\s)*$", h) or \
                        re.search(r"\)\s*:\s*.*$", h):
                    name = re.search(r"([~\w:<>=!+\-*/\[\]]+)\s*\(", h)
                    word = name.group(1) if name else "?"
                    if word.split("::")[-1] not in CONTROL:
                        kind = "function"
                        line = text.count("\n", 0, head_start + (len(head) - len(head.lstrip()))) + 1
                        stack.append((kind, line, word))
                        head_start = i + 1
                        continue
            stack.append((kind, i, ""))
            head_start = i + 1
        elif c == "}":
            if stack:
                kind, start, name = stack.pop()
                if kind == "function":
                    end = text.count("\n", 0, i) + 1
                    found.append((end - start + 1, start, name))
            head_start = i + 1
        elif c == ";":
            head_start = i + 1
    return found


def main(argv):
    minimum, top, dirs = 80, 0, []
    it = iter(argv)
    for a in it:
        if a == "--min":
            minimum = int(next(it))
        elif a == "--top":
            top = int(next(it))
        else:
            dirs.append(a)
    dirs = dirs or ["src"]
    rows = []
    for d in dirs:
        for root, _, files in os.walk(d):
            for f in files:
                if f.endswith((".cpp", ".hpp", ".h", ".cc")):
                    p = os.path.join(root, f)
                    rows += [(n, p, line, name) for n, line, name in functions(p)]
    rows.sort(key=lambda r: (-r[0], r[1], r[2]))
    long_rows = [r for r in rows if r[0] >= minimum]
    for n, p, line, name in (long_rows[:top] if top else long_rows):
        print(f"{n:5d} {p}:{line} {name}")
    longest = rows[0] if rows else (0, "-", 0, "-")
    print(f"functions: {len(rows)}; {len(long_rows)} of {minimum}+ lines; "
          f"{sum(1 for r in rows if r[0] > 120)} over 120; longest {longest[0]} ({longest[3]}, {longest[1]}:{longest[2]})")


if __name__ == "__main__":
    main(sys.argv[1:])
