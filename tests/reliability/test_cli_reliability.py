#!/usr/bin/env python3
"""The `mqcalib` executable under bad inputs and for determinism (issue 14; suite torch, stdlib only):
option bounds (--threads, --calib-size, --adaround-batch), every input validated before any work
(evaluation labels outside the model's classes or of the wrong count), records that would evaluate
silently wrong (no tensors, a missing entry, preprocessing other than the record's), --config naming a directory, an option value holding a
Boost placeholder (would hang), SIGTERM during a run (exit 143, nothing left), and params.json
byte-identical at 1, 2 and 3 threads for every method and data-free mode.

usage: test_cli_reliability.py MQCALIB_EXE SOURCE_ROOT SCRATCH_DIR"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

EXE, ROOT, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[3]
DATA = "/usr/share/datasets/fashion-mnist/"
MODEL = os.path.join(ROOT, "examples/zoo/resnet20.pt")
CALIB = DATA + "t10k-images-idx3-ubyte.gz"
LABELS = DATA + "t10k-labels-idx1-ubyte.gz"
PRE = ["--mean", "0.2860", "--std", "0.3530"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(args, env_extra=None, timeout=600):
    env = dict(os.environ, **(env_extra or {}))
    p = subprocess.run([EXE] + args, capture_output=True, text=True, env=env, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def quantize(out, extra, env_extra=None):
    return run(["quantize", "--model", MODEL, "--calib", CALIB, "--out", out, "--quiet"] + PRE + extra, env_extra)


def refused(args, needles, what, t_max=None):
    t0 = time.time()
    rc, _out, err = run(args, timeout=120)
    took = time.time() - t0
    check(rc != 0, what + ": exits non-zero")
    for n in needles:
        check(n in err, what + ": message mentions %r: %s" % (n, err.strip()))
    if t_max is not None:
        check(took < t_max, what + ": refused before any work (%.1f s)" % took)


shutil.rmtree(SCRATCH, ignore_errors=True)
os.makedirs(SCRATCH)
q = ["quantize", "--model", MODEL, "--calib", CALIB, "--quiet"] + PRE

# Option bounds.
refused(q + ["--out", os.path.join(SCRATCH, "t"), "--threads", "10000"], ["--threads 10000", "must be"], "--threads 10000")
refused(q + ["--out", os.path.join(SCRATCH, "t"), "--threads", "-1"], ["--threads -1"], "--threads -1")
refused(q + ["--out", os.path.join(SCRATCH, "t"), "--calib-size", "20000"], ["--calib-size 20000", "10000 samples"],
        "--calib-size above the data")
refused(q + ["--out", os.path.join(SCRATCH, "t"), "--calib-size", "64", "--method", "adaround", "--adaround-batch",
             "5000"], ["--adaround-batch 5000", "64 calibration samples"], "--adaround-batch above --calib-size")
refused(q + ["--out", os.path.join(SCRATCH, "t"), "--resize", "100000"], ["--resize"], "--resize 100000")
check(not os.path.exists(os.path.join(SCRATCH, "t")), "refused runs leave no output folder")

# Every input validated before any work: evaluation labels outside the classes / of the wrong count.
bad = os.path.join(SCRATCH, "labels12.txt")
with open(bad, "w") as f:
    f.write("3\n12\n" + "1\n" * 9998)
few = os.path.join(SCRATCH, "labels_few.txt")
with open(few, "w") as f:
    f.write("1\n" * 10)
slow = ["--method", "adaround", "--iters", "20000", "--calib-size", "256"]  # minutes of work if not refused first
refused(q + ["--out", os.path.join(SCRATCH, "t"), "--eval", CALIB, "--eval-labels", bad] + slow,
        ["labels12.txt", "label 12 of sample 1", "10 classes"], "labels outside the model's classes", t_max=60)
refused(q + ["--out", os.path.join(SCRATCH, "t"), "--eval", CALIB, "--eval-labels", few] + slow,
        ["labels_few.txt", "10 labels", "10000 samples"], "too few labels", t_max=60)
refused(q + ["--out", os.path.join(SCRATCH, "t"), "--config", SCRATCH], ["--config", "directory"], "--config directory")
refused(["sensitivity", "--model", MODEL, "--calib", CALIB] + PRE + ["--config", SCRATCH], ["--config", "directory"],
        "sensitivity --config directory")
refused(["sensitivity", "--model", MODEL, "--calib", CALIB] + PRE + ["--config", "/dev/zero"], ["/dev/zero"],
        "sensitivity --config /dev/zero", t_max=30)
refused(q + ["--out", os.path.join(SCRATCH, "t"), "--iters", "%value%x"], ["%value%"], "Boost placeholder in a value",
        t_max=30)
refused(["quantize", "--model", SCRATCH, "--calib", CALIB, "--out", os.path.join(SCRATCH, "t")], ["--model", SCRATCH],
        "--model a directory")

# Records that would evaluate silently wrong.
base = os.path.join(SCRATCH, "base")
rc, _o, err = quantize(base, ["--calib-size", "64"])
check(rc == 0, "small nearest run: " + err)
params = json.load(open(os.path.join(base, "params.json")))
for name, edit, needle in [("empty", lambda p: p.update(tensors=[]), "lists no tensors"),
                           ("missing", lambda p: p["tensors"].pop(3), "no entry for")]:
    d = os.path.join(SCRATCH, name)
    shutil.copytree(base, d)
    p = json.loads(json.dumps(params))
    edit(p)
    with open(os.path.join(d, "params.json"), "w") as f:
        json.dump(p, f, indent=2)
    refused(["eval", "--model", MODEL, "--params", os.path.join(d, "params.json"), "--eval", CALIB, "--eval-labels",
             LABELS, "--eval-limit", "64", "--quiet"] + PRE, [needle, "params.json"], "eval of a record: " + name)

# eval and verify take the preprocessing from the record, and refuse options that contradict it.
ev = ["--model", MODEL, "--params", os.path.join(base, "params.json"), "--eval", CALIB, "--eval-labels", LABELS,
      "--eval-limit", "256", "--quiet"]
check(params["provenance"]["preprocess"]["mean"] == [0.286] or abs(params["provenance"]["preprocess"]["mean"][0] - 0.286) < 1e-6,
      "params.json records the preprocessing as fields: %s" % params["provenance"].get("preprocess"))
rc1, out_given, err1 = run(["eval"] + ev + PRE)
rc2, out_taken, err2 = run(["eval"] + ev)
check(rc1 == 0 and rc2 == 0, "eval with and without the preprocessing options: " + err1 + err2)
check(out_given == out_taken, "eval without --mean/--std takes the record's: %r vs %r" % (out_given, out_taken))
refused(["eval"] + ev + ["--mean", "0.5", "--std", "0.3530"], ["calibrated with preprocessing", "mean [0.5"],
        "eval with a contradicting --mean")
refused(["verify"] + ev + ["--mean", "0.5", "--std", "0.3530"], ["calibrated with preprocessing"],
        "verify with a contradicting --mean")

# SIGTERM during a run: exit 143, the output folder absent (first run) and no staging folder left.
sig_out = os.path.join(SCRATCH, "sig")
p = subprocess.Popen([EXE] + q + ["--out", sig_out, "--method", "adaround", "--iters", "20000", "--calib-size", "128"],
                     stderr=subprocess.DEVNULL)
time.sleep(4)
p.send_signal(signal.SIGTERM)
check(p.wait(timeout=60) == 143, "SIGTERM gives exit 143")
check(not os.path.exists(sig_out), "SIGTERM before export: no output folder")
check(not [f for f in os.listdir(SCRATCH) if f.startswith(".sig.new-")], "SIGTERM: no staging folder left")

# Determinism: params.json (and the weight codes) byte-identical at 1, 2 and 3 threads, for every
# method and every data-free mode (a few iterations each: the order of float reductions is what is
# tested, not the result).
CALIBRATED = ["--calib", CALIB, "--calib-size", "64", "--seed", "7"]
DATA_FREE = ["--data-free", "--input-shape", "1,28,28", "--seed", "7"]
DETERMINISM_CASES = [
    ("nearest", CALIBRATED),
    ("adaround", CALIBRATED + ["--method", "adaround", "--iters", "30"]),
    ("brecq", CALIBRATED + ["--method", "brecq", "--iters", "20", "--act-iters", "10", "--w-bits", "4"]),
    ("qdrop", CALIBRATED + ["--method", "qdrop", "--iters", "20", "--w-bits", "4", "--a-bits", "4"]),
    ("brecq-stage-fisher", CALIBRATED + ["--method", "brecq", "--granularity", "stage", "--loss", "fisher",
                                         "--iters", "10", "--act-iters", "0", "--w-bits", "4"]),
    ("data-free-bn", DATA_FREE + ["--equalize", "--bias-correction"]),
    ("data-free-synthesize", DATA_FREE + ["--synthesize", "8", "--synth-iters", "10", "--synth-batch", "4",
                                          "--method", "adaround", "--iters", "10", "--adaround-batch", "8"]),
    ("empirical-bias-correction", CALIBRATED + ["--equalize", "--bias-correction"]),
]
for method, extra in DETERMINISM_CASES:
    outs = []
    d = os.path.join(SCRATCH, "det_" + method)  # one path: the command line is recorded in params.json
    for t in (1, 2, 3):
        shutil.rmtree(d, ignore_errors=True)
        rc, _o, err = run(["quantize", "--model", MODEL, "--out", d, "--quiet", "--threads", str(t)] + PRE + extra,
                          {"OMP_NUM_THREADS": str(t)})
        check(rc == 0, "determinism %s at %d threads: %s" % (method, t, err))
        files = {}
        for root, _dirs, names in os.walk(d):
            for n in names:
                if n not in ("report.json", "report.html"):  # timings and peak memory differ by nature
                    rel = os.path.relpath(os.path.join(root, n), d)
                    data = open(os.path.join(root, n), "rb").read()
                    if n == "params.json":  # the command line names the thread count: drop that line
                        data = b"\n".join(l for l in data.split(b"\n") if b'"command_line"' not in l)
                    files[rel] = data
        outs.append(files)
    check(outs[0] == outs[1] == outs[2], "%s: all but report.json/.html byte-identical at 1, 2, 3 threads" % method)
    check("params.json" in outs[0], "%s: params.json written" % method)

print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
