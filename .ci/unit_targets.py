"""Prints the build outputs (relative to BUILD_DIR) that the tests of one meson suite run, so a
sanitizer build compiles only those (the LibTorch parts are not built). Usage: unit_targets.py BUILD_DIR SUITE"""
import json
import os
import subprocess
import sys

build, suite = os.path.abspath(sys.argv[1]), sys.argv[2]


def introspect(what):
    return json.loads(subprocess.check_output(["meson", "introspect", build, what]))


built = {os.path.normpath(f) for t in introspect("--targets") for f in t["filename"]}
outs = set()
for t in introspect("--tests"):
    if not any(s == suite or s.endswith(":" + suite) for s in t["suite"]):
        continue
    for arg in t["cmd"]:  # the test program and the built programs its arguments name (absolute or relative)
        path = os.path.normpath(arg if os.path.isabs(arg) else os.path.join(build, arg))
        if path in built:
            outs.add(os.path.relpath(path, build))
print("\n".join(sorted(outs)))
