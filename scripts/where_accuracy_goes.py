#!/usr/bin/python3
"""Issue 16's numbers on the zoo models (10k Fashion-MNIST test images), as markdown tables:

  1. mixed precision against uniform bits with the same method (nearest, AdaRound --iters 2000):
     uniform W3 vs --bits-budget 3 (average weight bits), uniform W4 vs --bits-budget <uniform W4's
     weight bytes>B; activations 8 bits (tensorrt profile: per-channel weights);
  2. --fix-outliers on snpe (per-tensor weights) at W8A8: top-1 before and after (one run reports both);
  3. the sensitivity ranking (each layer alone at W2, logits' NSR on 256 calibration samples) against
     the measured top-1 drop of each layer alone at W2 on the test images: Spearman rank correlation.

Every run is `nice -n 10`, one at a time; outputs stay in --work (report.html of each run there).
usage: scripts/where_accuracy_goes.py [--exe build/src/cli/mqcalib] [--work /tmp/mqcalib-issue16]
       [--models resnet20,mobilenetv2] [--parts mixed,fix,spearman] [--eval-limit 0] [--iters 2000]
       [--methods nearest,adaround] [--sensitivity-metric kl|nsr] [--threads 0]"""
import argparse
import json
import os
import subprocess
import sys
import time

DATA = "/usr/share/datasets/fashion-mnist/"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREADS = 0  # --threads of every run (0: all cores); top-1 does not depend on it


def run(exe, args, log):
    t0 = time.time()
    cmd = ["nice", "-n", "10", exe] + args
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    with open(log, "w") as f:
        p = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        sys.exit("failed (%d), see %s" % (p.returncode, log))
    return time.time() - t0


def common(model, eval_limit):
    return ["--model", os.path.join(ROOT, "examples/zoo/%s.pt" % model), "--calib",
            DATA + "train-images-idx3-ubyte.gz", "--mean", "0.2860", "--std", "0.3530",
            "--eval", DATA + "t10k-images-idx3-ubyte.gz", "--eval-labels", DATA + "t10k-labels-idx1-ubyte.gz",
            "--eval-limit", str(eval_limit), "--threads", str(THREADS), "--quiet"]


def quantize(a, model, name, extra):
    out = os.path.join(a.work, model, name)
    secs = run(a.exe, ["quantize"] + common(model, a.eval_limit) + extra + ["--out", out], out + ".log")
    r = json.load(open(os.path.join(out, "report.json")))
    r["_seconds"] = secs
    return r


def avg_bits(r):
    if "bit_allocation" in r:
        return r["bit_allocation"]["average_w_bits"]
    layers = r["layers"]
    return sum(l["w_bits"] for l in layers) / len(layers)  # uniform runs: every layer at the same bits


def mixed(a, model):
    rows = []
    for method, extra in (("nearest", []), ("adaround", ["--method", "adaround", "--iters", str(a.iters)])):
        if method not in a.methods.split(","):
            continue
        mp = extra + ["--sensitivity-metric", a.sensitivity_metric]
        mp3 = quantize(a, model, method + "-mp3", mp + ["--bits-budget", "3"])
        params = sum(l["params"] for l in mp3["bit_allocation"]["layers"])
        w4_bytes = params * 4 // 8
        runs = [("uniform W3", quantize(a, model, method + "-w3", extra + ["--w-bits", "3"])),
                ("mixed, average 3 bits", mp3),
                ("uniform W4", quantize(a, model, method + "-w4", extra + ["--w-bits", "4"])),
                ("mixed, %d B (uniform W4's size)" % w4_bytes,
                 quantize(a, model, method + "-mp4", mp + ["--bits-budget", "%dB" % w4_bytes]))]
        for name, r in runs:
            e = r["eval"]
            rows.append("| %s | %s | %s | %.3f | %.2f | %.2f | %.0f |" % (
                model, method, name, avg_bits(r), e["quant_top1"], e["fp_top1"] - e["quant_top1"], r["_seconds"]))
    return rows


def fix(a, model):
    r = quantize(a, model, "snpe-fix", ["--backend", "snpe", "--fix-outliers"])
    f = r["outlier_fix"]
    acts = ", ".join("%s: %s" % (x["layer"], x["action"]) for x in f["actions"] if not x["action"].startswith("none"))
    fp = r["eval"]["fp_top1"]
    return ["| %s | %.2f | %.2f (%.2f) | %.2f (%.2f) | %.1f -> %.1f | %s |" % (
        model, fp, f["top1_before"], fp - f["top1_before"], f["top1_after"], fp - f["top1_after"],
        f["logits_sqnr_before_db"], f["logits_sqnr_after_db"], acts or "none")]


def spearman(a, model):
    js = os.path.join(a.work, model, "sensitivity-w2.json")
    secs = run(a.exe, ["sensitivity"] + common(model, a.eval_limit) +
               ["--w-bits-set", "2", "--json", js, "--html", js[:-5] + ".html"], js[:-5] + ".log")
    s = json.load(open(js))["sensitivity"]
    drop = [s["fp_top1"] - r["top1"] for r in s["rows"]]
    top = ", ".join("%s (%.2f)" % (r["unit"], d) for r, d in list(zip(s["rows"], drop))[:3])
    worst = ", ".join("%s (%.2f)" % (r["unit"], d)
                      for r, d in sorted(zip(s["rows"], drop), key=lambda x: -x[1])[:3])
    here = {m: spearman_py([r[m] for r in s["rows"]], drop) for m in ("kl", "nsr")}  # from the JSON rows
    m = s["metric"]  # the engine's ranking metric (kl by default); its Spearman is the engine's own value
    other = "nsr" if m == "kl" else "kl"
    return ["| %s | %d | %d | %s %.3f (%.3f here) | %s %.3f | %s | %s | %.0f |" % (
        model, len(s["rows"]), s["eval_samples"], m, s["spearman_metric_vs_top1_drop"], here[m], other,
        here[other], top, worst, secs)]


def average_ranks_py(x):
    order = sorted(range(len(x)), key=lambda i: x[i])
    rank, i = [0.0] * len(x), 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for k in range(i, j + 1):
            rank[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return rank


def spearman_py(x, y):
    """Spearman's rho (Pearson's r of the average ranks), computed here as a check of the engine's."""
    rx, ry = average_ranks_py(x), average_ranks_py(y)
    m = (len(x) + 1) / 2.0
    sxy = sum((a - m) * (b - m) for a, b in zip(rx, ry))
    sxx, syy = sum((a - m) ** 2 for a in rx), sum((b - m) ** 2 for b in ry)
    return sxy / (sxx * syy) ** 0.5 if sxx > 0 and syy > 0 else 0.0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--exe", default=os.path.join(ROOT, "build/src/cli/mqcalib"))
    p.add_argument("--work", default="/tmp/mqcalib-issue16")
    p.add_argument("--models", default="resnet20,mobilenetv2")
    p.add_argument("--parts", default="mixed,fix,spearman")
    p.add_argument("--eval-limit", type=int, default=0)
    p.add_argument("--iters", type=int, default=2000)
    p.add_argument("--threads", type=int, default=0, help="--threads of every run (0: all cores)")
    p.add_argument("--sensitivity-metric", default="kl", help="mixed precision: the metric that ranks layers")
    p.add_argument("--methods", default="nearest,adaround", help="mixed precision: nearest and/or adaround")
    a = p.parse_args()
    global THREADS
    THREADS = a.threads
    models, parts = a.models.split(","), a.parts.split(",")
    for m in models:
        os.makedirs(os.path.join(a.work, m), exist_ok=True)
    if "mixed" in parts:
        rows = [r for m in models for r in mixed(a, m)]
        print("| model | method | weights | avg w bits | top-1 % | drop | s |\n|---|---|---|---|---|---|---|")
        print("\n".join(rows) + "\n", flush=True)
    if "fix" in parts:
        rows = [r for m in models for r in fix(a, m)]
        print("| model | FP32 | snpe W8A8 (drop) | --fix-outliers (drop) | logits SQNR dB | applied |\n"
              "|---|---|---|---|---|---|")
        print("\n".join(rows) + "\n", flush=True)
    if "spearman" in parts:
        rows = [r for m in models for r in spearman(a, m)]
        print("| model | layers | test images | Spearman, ranking metric vs top-1 drop (W2 alone) | the other metric |"
              " highest ranked (drop) |"
              " largest drops | s |\n|---|---|---|---|---|---|---|---|")
        print("\n".join(rows) + "\n", flush=True)


if __name__ == "__main__":
    main()
