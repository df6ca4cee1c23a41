#!/usr/bin/env python3
"""Keeps the house in order (ARCHITECTURE.md): no import circle between source files, no
room of the loader or layer of the API importing from one above it, no source file over 400 lines, no
function over 80 lines (a table of test cases excepted, by name below).

The import graph is file by file: every `crate::…` and `super::…` path in a file (also
through `use crate::a::{b, c}` groups and modules imported by name) points at the file
that defines its longest module prefix. Written by hand: the graph tools for Rust
(cargo-modules) need a build of their own and report modules, not files.

Usage: scripts/check-rooms.py   (exit 1 and a list of what is wrong, else a summary)
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CRATES = ["common/src", "generator/src", "loader/src", "api/src"]
TESTS = ["loader/tests", "api/tests", "generator/tests", "testkit/src"]
MAX_LINES = 400
MAX_FUNCTION = 80
# The loader's rooms, bottom first: a room imports only from rooms at or below its rank.
# `error` and `fence` are the words every room uses; `error` carries two leaf types of
# other rooms (the day's missing minutes, the audit's results), which import nothing back.
LOADER_RANKS = {"error": 0, "fence": 0, "warehouse": 1, "files": 2, "copy": 3, "dataset": 4,
                "publish": 4, "load": 5, "settings": 6}
# The API's layers that must not lean on the ones above them: the domain and the storage
# under the queue, the queue under the use cases, the use cases under HTTP and the watcher.
API_RANKS = {"domain": 0, "ledger": 0, "queue": 1, "commands": 2, "queries": 2,
             "pipeline": 3, "worker": 3, "routes": 3, "ui": 3, "server": 4, "startup": 4}
RANKS = {"loader/src": LOADER_RANKS, "api/src": API_RANKS}
LOADER_ALLOWED_UP = {(("error",), ("warehouse", "day")),
                     (("error",), ("publish", "audit", "result"))}
# Tables of cases, which read better whole.
LONG_TABLES = {("api/tests/api/requests.rs", "malformed_requests_get_problem_documents"),
               ("api/tests/api/bad_files.rs", "catalogue")}


def modules(src):
    found = {}
    for folder, _, names in os.walk(src):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, src)[:-3].split("/")
                if parts[-1] == "mod":
                    parts = parts[:-1]
                if parts in (["lib"], ["main"]):
                    parts = []
                found[tuple(parts)] = path
    return found


def longest_module(found, path):
    for end in range(len(path), 0, -1):
        if tuple(path[:end]) in found:
            return tuple(path[:end])
    return None


def imports(found, module, path):
    text = open(path).read()
    tests = re.search(r"#\[cfg\(test\)\]\s*mod tests\s*\{", text)
    if tests:
        text = text[:tests.start()]
    edges = set()
    for match in re.finditer(r"\b(crate|super)((?:::\w+)+)(::\{([^}]*)\})?", text):
        rest = [p for p in match.group(2).split("::") if p]
        start = [] if match.group(1) == "crate" else list(module[:-1])
        while rest and rest[0] == "super":
            rest, start = rest[1:], start[:-1]
        paths = [start + rest]
        for item in (match.group(4) or "").split(","):
            item = item.strip().split(" as ")[0]
            if item and item != "self":
                paths.append(start + rest + item.split("::"))
        for target in list(paths):
            if longest_module(found, target) == tuple(target):
                # A module imported by name: follow its `name::sub::` paths here.
                for sub in re.finditer(r"\b" + target[-1] + r"((?:::\w+)+)", text):
                    paths.append(target + [p for p in sub.group(1).split("::") if p])
        for target in paths:
            hit = longest_module(found, target)
            if hit and hit != module and hit != ():
                edges.add(hit)
    return edges


def circles(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted("/".join(m) for m in group))

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def long_functions(path):
    lines = open(path).read().split("\n")
    rel = os.path.relpath(path, ROOT)
    for i, line in enumerate(lines):
        match = re.match(r"^\s*(pub(\([^)]*\))? )?(async )?(const )?(unsafe )?fn (\w+)", line)
        if not match:
            continue
        depth, started, j = 0, False, i
        while j < len(lines):
            code = re.sub(r'"(\\.|[^"\\])*"', '""', lines[j]).split("//")[0]
            if not started and ";" in code and "{" not in code:
                break
            for ch in code:
                if ch == "{":
                    depth, started = depth + 1, True
                elif ch == "}":
                    depth -= 1
            if started and depth <= 0:
                break
            j += 1
        name = match.group(6)
        if started and j - i + 1 > MAX_FUNCTION and (rel, name) not in LONG_TABLES:
            yield f"{rel}:{i + 1}: fn {name} is {j - i + 1} lines (at most {MAX_FUNCTION})"


def main():
    problems, summary = [], []
    for crate in CRATES:
        found = modules(os.path.join(ROOT, crate))
        edges = {m: imports(found, m, p) for m, p in found.items()}
        for group in circles(edges):
            problems.append(f"{crate}: import circle {group}")
        ranks = RANKS.get(crate, {})
        for a, targets in edges.items():
            for b in targets:
                ra, rb = ranks.get(a[:1] and a[0]), ranks.get(b[:1] and b[0])
                if ra is not None and rb is not None and rb > ra \
                        and (a, b) not in LOADER_ALLOWED_UP:
                    problems.append(f"{crate}: {'/'.join(a)} imports {'/'.join(b)}, a room above it")
        summary.append(f"{crate}: {len(found)} files, {sum(map(len, edges.values()))} imports")
    for top in CRATES + TESTS:
        for folder, _, names in os.walk(os.path.join(ROOT, top)):
            for name in names:
                if not name.endswith(".rs"):
                    continue
                path = os.path.join(folder, name)
                count = sum(1 for _ in open(path))
                if top in CRATES and count > MAX_LINES:
                    problems.append(f"{os.path.relpath(path, ROOT)}: {count} lines (at most {MAX_LINES})")
                problems.extend(long_functions(path))
    if problems:
        print("\n".join(problems))
        return 1
    print("rooms: no import circle, no upward import, files and functions short; " + "; ".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
