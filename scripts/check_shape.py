#!/usr/bin/env python3
"""Checks two rules of the source tree's shape (run by ctest as SourceShape):

1. No function body in src/ is longer than MAX_LINES lines.
2. No include runs from a lower layer to a higher one (LAYERS below, lowest first; a folder may
   include its own files and any folder listed before it).

It reads C++ the way a reader does, not the way a compiler does: comments, strings and
character literals are blanked, then braces are matched and each brace is classed by the text
before it (namespace, class/struct/enum, a function's parameter list, or a block inside one).
Good enough for this code base; a construct it misreads shows up as a false report, never as a
silent pass, because a misread function body is still counted as a block of its enclosing one.

Usage: check_shape.py [src-dir]   (exit 1 and one line per breach when a rule is broken)
"""
import os
import re
import sys

MAX_LINES = 80

# Lowest first. fs and engine know nothing of the rest; amqp implements distributed/broker.h;
# cli is the top.
LAYERS = ["fs", "engine", "lustre", "report", "stats", "passes", "distributed", "amqp", "cli"]


def blank_comments_and_strings(text):
    """Returns text with comments, string and char literals replaced by spaces (newlines kept)."""
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
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = ")" + m.group(1) + '"'
            j = text.find(end, i)
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator: 1'000'000
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (j + 1 - i))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def classify(head):
    """What a '{' opens, judged from the code between the previous ; { } and it."""
    h = " ".join(head.split())
    if re.search(r"\bnamespace\b", h) or h.startswith('extern "C"') or h == "extern":
        return "scope"
    if re.match(r"^(template\s*<.*>\s*)?(class|struct|union|enum)\b", h) and "(" not in h:
        return "scope"
    if re.search(r"=\s*$", h) or h.endswith("return") or h == "":
        return "block"
    if ")" in h:
        return "function"
    return "block"


def long_functions(path):
    text = blank_comments_and_strings(open(path, encoding="utf-8").read())
    stack = []  # (kind, line, name)
    head_start = 0
    line = 1
    found = []
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
        elif c == "{":
            head = text[head_start:i]
            kind = classify(head)
            # Only a function at scope level is a function; inside one, it is a lambda or block.
            if kind == "function" and any(k == "function" for k, _, _ in stack):
                kind = "block"
            name = ""
            if kind == "function":
                m = re.search(r"([A-Za-z_~][\w:~]*)\s*\(", " ".join(head.split()))
                name = m.group(1) if m else "?"
            stack.append((kind, line, name))
            head_start = i + 1
        elif c == "}":
            if stack:
                kind, start, name = stack.pop()
                if kind == "function" and line - start + 1 > MAX_LINES:
                    found.append((start, name, line - start + 1))
            head_start = i + 1
        elif c == ";":
            head_start = i + 1
    return found


def layer_breaches(src, path):
    folder = os.path.relpath(path, src).split(os.sep)[0]
    if folder not in LAYERS:
        return [f"{path}: folder '{folder}' is not in the layer list of {sys.argv[0]}"]
    mine = LAYERS.index(folder)
    bad = []
    for no, text in enumerate(open(path, encoding="utf-8"), 1):
        m = re.match(r'\s*#include "([a-z_]+)/', text)
        if m and m.group(1) in LAYERS and LAYERS.index(m.group(1)) > mine:
            bad.append(f"{path}:{no}: {folder}/ includes {m.group(1)}/, a higher layer")
    return bad


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
    breaches = []
    for root, _, files in os.walk(src):
        for f in sorted(files):
            if not f.endswith((".cc", ".h")):
                continue
            path = os.path.join(root, f)
            for start, name, length in long_functions(path):
                breaches.append(f"{path}:{start}: {name} is {length} lines (at most {MAX_LINES})")
            breaches += layer_breaches(src, path)
    for b in breaches:
        print(b)
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
