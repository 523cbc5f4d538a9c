"""The CLI uses the public C++ API only (issue 13): every project header that src/cli includes is
cli/... (the CLI's own) or mqcalib/... (include/mqcalib/, the public API). System, Boost and other
third-party headers are fine; a project header by any other path ("core/error.h", <graph/ir.h>,
"../pipeline/verify.h") is reported with its file and line, and the check fails.

usage: check_public_includes.py SOURCE_ROOT
Before checking src/cli, the checker runs on a made-up folder holding one allowed and four forbidden
includes and fails unless it reports exactly those four (a check that cannot fail checks nothing).
"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
ALLOWED_PREFIXES = ("cli/", "mqcalib/")
# Where project headers live: an include that resolves under one of these (and is not allowed) is internal.
PROJECT_INCLUDE_DIRS = (".", "src", "include")


def is_project_header(root, path, including_dir):
    candidates = [os.path.join(root, d, path) for d in PROJECT_INCLUDE_DIRS] + [os.path.join(including_dir, path)]
    return any(os.path.isfile(c) for c in candidates)


def violations(root, cli_dir):
    found = []
    for name in sorted(os.listdir(cli_dir)):
        if not name.endswith((".cpp", ".h")):
            continue
        file = os.path.join(cli_dir, name)
        with open(file, encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                path = os.path.normpath(m.group(2))
                home = "src" if path.startswith("cli/") else "include"
                if path.startswith(ALLOWED_PREFIXES) and os.path.isfile(os.path.join(root, home, path)):
                    continue
                if m.group(1) == '"' or is_project_header(root, m.group(2), cli_dir):
                    found.append(f"{file}:{line_no}: {line.strip()}")
    return found


def self_test(root):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "bad.cpp"), "w", encoding="utf-8") as f:
            f.write('#include <vector>\n#include "mqcalib/mqcalib.h"\n#include "core/error.h"\n'
                    '#include <graph/ir.h>\n#  include "pipeline/verify.h"\n#include "mqcalib/no_such_header.h"\n')
        got = violations(root, d)
        want_lines = [3, 4, 5, 6]
        got_lines = [int(v.split(":")[1]) for v in got]
        if got_lines != want_lines:
            print(f"self-test failed: expected violations on lines {want_lines}, got {got}")
            return False
    return True


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    if not self_test(root):
        return 1
    cli_dir = os.path.join(root, "src", "cli")
    found = violations(root, cli_dir)
    for v in found:
        print(f"{v}: src/cli includes an internal header; use the public API (include/mqcalib/)")
    if found:
        return 1
    count = len([n for n in os.listdir(cli_dir) if n.endswith((".cpp", ".h"))])
    print(f"src/cli: {count} files include only cli/, mqcalib/ and system headers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
