#!/usr/bin/env python3
"""Issue 10's memory check at the CLI (suite torch): a ResNet-20 BRECQ block run (W2A4, activation steps
learned) with --cache-budget 16 writes the same params.json (its command line aside) and the same weight-code
files, byte for byte, as the run with the default budget, while its caches really spilled (report.json:
cache_bytes_spilled > 0, cache_peak_ram_bytes within the budget). A short run (128 calibration samples,
about 33 MB of FP targets, twice the budget; few iterations): the budget must not change a bit at any length.
Stdlib only.

usage: test_cache_budget.py MQCALIB_EXE SOURCE_ROOT SCRATCH_DIR"""
import json
import os
import shutil
import subprocess
import sys

EXE, ROOT, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[3]
DATA = "/usr/share/datasets/fashion-mnist/"
MODEL = os.path.join(ROOT, "examples/zoo/resnet20.pt")
BUDGET_MIB = 16  # issue 10
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def quantize(out_dir, extra):
    args = [EXE, "quantize", "--model", MODEL, "--calib", DATA + "train-images-idx3-ubyte.gz", "--mean", "0.2860",
            "--std", "0.3530", "--backend", "academic", "--w-bits", "2", "--a-bits", "4", "--first-last-8bit",
            "--calib-size", "128", "--method", "brecq", "--iters", "10", "--act-iters", "5", "--out", out_dir,
            "--quiet"] + extra
    p = subprocess.run(args, capture_output=True, text=True)
    check(p.returncode == 0, "quantize %s exits 0: %s" % (extra, p.stderr[-2000:]))
    return p.returncode == 0


def files_of(d):
    return sorted(os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs)


shutil.rmtree(SCRATCH, ignore_errors=True)
os.makedirs(SCRATCH)
full, small = os.path.join(SCRATCH, "default"), os.path.join(SCRATCH, "budget16")
if quantize(full, []) and quantize(small, ["--cache-budget", str(BUDGET_MIB)]):
    pa, pb = (json.load(open(os.path.join(d, "params.json"))) for d in (full, small))
    for p in (pa, pb):
        p["provenance"].pop("command_line", None)
    check(pa == pb, "params.json identical with and without --cache-budget %d" % BUDGET_MIB)
    check(files_of(full) == files_of(small), "the same files: %s vs %s" % (files_of(full), files_of(small)))
    codes = [f for f in files_of(full) if f.startswith("weights/") and f.endswith(".npy")]
    check(len(codes) == 22, "ResNet-20: 22 weight-code files, got %d" % len(codes))
    for f in codes:
        same = open(os.path.join(full, f), "rb").read() == open(os.path.join(small, f), "rb").read()
        check(same, "weight codes %s byte-identical" % f)
    ra, rb = (json.load(open(os.path.join(d, "report.json")))["brecq"] for d in (full, small))
    check(rb["cache_budget_bytes"] == BUDGET_MIB << 20, "report.json budget %s" % rb["cache_budget_bytes"])
    check(ra["cache_bytes_spilled"] == 0, "default budget: nothing spilled (%s)" % ra["cache_bytes_spilled"])
    check(rb["cache_bytes_spilled"] > 0, "--cache-budget %d: caches spilled (%s bytes)" % (BUDGET_MIB,
                                                                                          rb["cache_bytes_spilled"]))
    check(rb["cache_peak_ram_bytes"] <= BUDGET_MIB << 20,
          "peak cache RAM %s within the budget" % rb["cache_peak_ram_bytes"])
    check(ra["cache_peak_ram_bytes"] > BUDGET_MIB << 20,
          "the default run's caches exceed the budget (%s bytes): the check means something" % ra["cache_peak_ram_bytes"])

if failures:
    print("%d failure(s)" % len(failures))
    sys.exit(1)
print("cache budget checks passed")
