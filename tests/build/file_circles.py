#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Dependency circles between the source files of a part (doc/hacking.md).

usage: file_circles.py NAME ALLOWED OBJECT...

File A depends on file B when A's object uses a symbol B's defines (nm).
Prints each group of files that depend on each other in a circle, other
than ALLOWED (a comma-separated list of file names making the one circle
the part may have, or "-"), and exits 1 if there is one.
"""
import os
import subprocess
import sys


def symbols(obj):
    defined, used = set(), set()
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) == 2 and f[0] == "U":
            used.add(f[1])
        elif len(f) == 3 and f[1] in "TDBRVW":
            defined.add(f[2])
    return defined, used


def file_name(obj):
    # runtime/.libs/libselfckpt_la-tree.o or loader/tree.o: "runtime/tree",
    # "loader/tree" (common/ and loader/ both have a creds.c).
    folder = os.path.dirname(obj)
    if os.path.basename(folder) == ".libs":
        folder = os.path.dirname(folder)
    base = os.path.basename(obj).rsplit("-", 1)[-1].rsplit(".", 1)[0]
    return f"{os.path.basename(folder)}/{base}"


def circles(graph):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return found


def main():
    name, allowed, objs = sys.argv[1], sys.argv[2], sys.argv[3:]
    if not objs:
        print(f"FAIL: {name}: no objects")
        return 1
    owner, uses = {}, {}
    for o in objs:
        defined, used = symbols(o)
        uses[file_name(o)] = used
        for s in defined:
            owner.setdefault(s, file_name(o))
    graph = {f: {owner[s] for s in used if s in owner and owner[s] != f}
             for f, used in uses.items()}
    allow = [] if allowed == "-" else sorted(allowed.split(","))
    bad = [c for c in circles(graph) if c != allow]
    for c in bad:
        print(f"FAIL: {name}: these files depend on each other in a circle: {' '.join(c)}")
    if not bad:
        print(f"PASS: {name}: {len(uses)} files, no dependency circle"
              + (f" but {' '.join(allow)}" if allow else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
