"""Prints the build outputs (relative to BUILD_DIR) that the tests of one meson suite run, so a
sanitizer build compiles only those (the LibTorch parts are not built). Usage: unit_targets.py BUILD_DIR SUITE"""
import json
import os
import subprocess
import sys

build, suite = os.path.abspath(sys.argv[1]), sys.argv[2]
tests = json.loads(subprocess.check_output(["meson", "introspect", build, "--tests"]))
outs = set()
for t in tests:
    if not any(s == suite or s.endswith(":" + suite) for s in t["suite"]):
        continue
    for arg in t["cmd"]:
        path = os.path.normpath(arg) if isinstance(arg, str) else ""
        if path.startswith(build + os.sep):
            outs.add(os.path.relpath(path, build))
print("\n".join(sorted(outs)))
