#!/usr/bin/env python3
"""End-to-end tests of the `mqcalib` executable (suite torch): inspect --json keys and FP check,
quantize + eval on a small run (files, table, eval reproduces quantize), --config, and errors that
name the bad input with a non-zero exit status and no partial output. Stdlib only.

usage: test_cli.py MQCALIB_EXE SOURCE_ROOT SCRATCH_DIR"""
import json
import os
import shutil
import subprocess
import sys

EXE, ROOT, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[3]
DATA = "/usr/share/datasets/fashion-mnist/"
MODEL = os.path.join(ROOT, "examples/zoo/resnet20.pt")
FP_CHECK_TOL = 1e-4  # issue 3: max relative difference engine vs LibTorch
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(args, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    p = subprocess.run([EXE] + args, capture_output=True, text=True, env=env)
    return p.returncode, p.stdout, p.stderr


shutil.rmtree(SCRATCH, ignore_errors=True)
os.makedirs(SCRATCH)

# inspect
js = os.path.join(SCRATCH, "inspect.json")
rc, out, err = run(["inspect", "--model", MODEL, "--json", js])
check(rc == 0, "inspect exits 0: " + err)
doc = json.load(open(js))
for key in ("nodes", "blocks", "folded_bn", "weights", "fp_check"):
    check(key in doc, "inspect json has key " + key)
check(doc["fp_check"]["max_rel_diff"] <= FP_CHECK_TOL, "inspect fp_check within tolerance")
check(len(doc["folded_bn"]["folded"]) == 21, "resnet20: 21 BNs folded, got %d" % len(doc["folded_bn"]["folded"]))

# quantize (small) then eval from params.json
out_dir = os.path.join(SCRATCH, "q")
common = ["--mean", "0.2860", "--std", "0.3530"]
ev = ["--eval", DATA + "t10k-images-idx3-ubyte.gz", "--eval-labels", DATA + "t10k-labels-idx1-ubyte.gz",
      "--eval-limit", "256"]
rc, out, err = run(["quantize", "--model", MODEL, "--calib", DATA + "train-images-idx3-ubyte.gz",
                    "--calib-size", "64", "--backend", "ncnn", "--a-observer", "percentile", "--out", out_dir,
                    "--quiet"] + common + ev)
check(rc == 0, "quantize exits 0: " + err)
check("FP32 top-1" in out and "quant top-1" in out, "quantize prints the accuracy table")
for f in ("params.json", "report.json", "ncnn.table"):
    check(os.path.isfile(os.path.join(out_dir, f)), "quantize wrote " + f)
check(not [f for f in os.listdir(out_dir) if f.endswith(".tmp")], "no .tmp left")
params = json.load(open(os.path.join(out_dir, "params.json")))
report = json.load(open(os.path.join(out_dir, "report.json")))
check(params["provenance"]["backend"] == "ncnn" if "provenance" in params else False, "params.json provenance")
q_line = [l for l in out.splitlines() if l.startswith("256 ")]
rc2, out2, err2 = run(["eval", "--model", MODEL, "--params", os.path.join(out_dir, "params.json"), "--quiet"]
                      + common + ev)
check(rc2 == 0, "eval exits 0: " + err2)
e_line = [l for l in out2.splitlines() if l.startswith("256 ")]
check(q_line and q_line == e_line, "eval reproduces quantize's line: %s vs %s" % (q_line, e_line))
check(abs(report["eval"]["quant_top1"] - float(q_line[0].split()[2].rstrip("%"))) < 0.01 if q_line else False,
      "report.json holds the printed quantized top-1")

# data-free (issue 11): no --calib; the DFQ recipe; params.json records it; eval reproduces it from the
# folder (params.json + folded/*.npy)
df_dir = os.path.join(SCRATCH, "df")
rc, out, err = run(["quantize", "--model", MODEL, "--data-free", "--equalize", "--bias-correction",
                    "--backend", "tensorrt", "--out", df_dir, "--quiet"] + common + ev)
check(rc == 0, "quantize --data-free exits 0: " + err)
dfp = json.load(open(os.path.join(df_dir, "params.json")))
check(dfp["provenance"]["data_free"]["activation_ranges"] == "bn_stats", "data-free provenance")
check(dfp["provenance"]["bias_correction"] == "analytic", "analytic bias correction recorded")
check(len(dfp["provenance"]["equalization"]["pairs"]) == 9, "resnet20: 9 equalized pairs")
check(dfp["float_weights"] and all(os.path.isfile(os.path.join(df_dir, f)) for f in dfp["float_weights"].values()),
      "folded FP weights written and listed")
check("carry no weights" in out, "the output notes say the native files need the folded weights")
check(os.path.isfile(os.path.join(df_dir, "model.qdq.onnx")) and "model.qdq.onnx carries them" in out,
      "the QDQ model is written with the changed weights")
df_q = [l for l in out.splitlines() if l.startswith("256 ")]
rc2, out2, err2 = run(["eval", "--model", MODEL, "--params", os.path.join(df_dir, "params.json"), "--quiet"]
                      + common + ev)
check(rc2 == 0 and df_q and df_q == [l for l in out2.splitlines() if l.startswith("256 ")],
      "eval reproduces the data-free run: %s / %s" % (df_q, out2 + err2))
for args, needle in [
    (["--data-free", "--calib", DATA + "train-images-idx3-ubyte.gz"], "--calib"),
    (["--data-free"], "--input-shape"),
    (["--data-free", "--input-shape", "1,28"], "--input-shape"),
    (["--data-free", "--input-shape", "1,28,28", "--method", "adaround"], "adaround"),
    (["--data-free", "--input-shape", "1,28,28", "--equalize", "--equalize-relu6", "clip"], "clip"),
]:
    rc, out, err = run(["quantize", "--model", MODEL, "--out", os.path.join(SCRATCH, "dfbad"),
                        "--quiet"] + args)
    check(rc != 0 and needle in err, "data-free error names %s: %s" % (needle, err.strip()))
    check(not os.path.exists(os.path.join(SCRATCH, "dfbad", "params.json")), "no params.json after %s" % needle)
# data-free with synthetic images (ZeroQ): the ordinary pipeline (here AdaRound) runs on them; the images
# are saved as .npy; provenance records the synthesis; eval reproduces the run from the folder
syn_dir, syn_npy = os.path.join(SCRATCH, "syn"), os.path.join(SCRATCH, "syn.npy")
rc, out, err = run(["quantize", "--model", MODEL, "--data-free", "--input-shape", "1,28,28", "--synthesize", "16",
                    "--synth-iters", "3", "--synth-batch", "8", "--save-synthetic", syn_npy, "--method", "adaround",
                    "--iters", "5", "--adaround-batch", "8", "--backend", "fbgemm", "--out", syn_dir, "--quiet"]
                   + common + ev)
check(rc == 0, "quantize --data-free --synthesize exits 0: " + err)
if rc == 0:
    sp = json.load(open(os.path.join(syn_dir, "params.json")))["provenance"]
    check(sp["data_free"]["synthetic_samples"] == 16 and sp["data_free"]["synthesis_iterations"] == 3,
          "provenance records the synthesis: %s" % sp["data_free"])
    check(sp["calib_samples"] == 16 and sp["weight_rounding"] == "adaround", "AdaRound ran on the 16 images")
    with open(syn_npy, "rb") as f:
        head = f.read(128)
    check(head.startswith(b"\x93NUMPY") and b"'shape': (16, 1, 28, 28)" in head and b"<f4" in head,
          "--save-synthetic writes float32 [16, 1, 28, 28]: %r" % head[:80])
    syn_q = [l for l in out.splitlines() if l.startswith("256 ")]
    rc2, out2, err2 = run(["eval", "--model", MODEL, "--params", os.path.join(syn_dir, "params.json"), "--quiet"]
                          + common + ev)
    check(rc2 == 0 and syn_q and syn_q == [l for l in out2.splitlines() if l.startswith("256 ")],
          "eval reproduces the synthetic run: %s / %s" % (syn_q, out2 + err2))
for args, needle in [
    (["--calib", DATA + "train-images-idx3-ubyte.gz", "--synthesize", "8"], "--synthesize"),
    (["--data-free", "--input-shape", "1,28,28", "--save-synthetic", syn_npy], "--save-synthetic"),
    (["--data-free", "--input-shape", "1,28,28", "--synthesize", "8", "--synth-iters", "0"], "--synth-iters"),
    (["--data-free", "--input-shape", "1,28,28", "--synthesize", "8", "--save-synthetic", "/nonexistent/x.npy"],
     "--save-synthetic"),
]:
    rc, out, err = run(["quantize", "--model", MODEL, "--out", os.path.join(SCRATCH, "synbad"), "--quiet"] + args)
    check(rc != 0 and needle in err, "synthesis error names %s: %s" % (needle, err.strip()))
    check(not os.path.exists(os.path.join(SCRATCH, "synbad", "params.json")), "no params.json after %s" % needle)
# tensorrt: model.qdq.onnx by default, --trt-version in calib.cache, --verify's block in report.json;
# then `mqcalib verify` on the same record agrees with it and writes the same ONNX bytes.
trt_dir = os.path.join(SCRATCH, "trt")
rc, out, err = run(["quantize", "--model", MODEL, "--calib", DATA + "train-images-idx3-ubyte.gz",
                    "--calib-size", "64", "--backend", "tensorrt", "--trt-version", "10300", "--verify",
                    "--out", trt_dir, "--quiet"] + common + ev)
check(rc == 0, "quantize --verify exits 0: " + err)
check(os.path.isfile(os.path.join(trt_dir, "model.qdq.onnx")), "tensorrt writes model.qdq.onnx")
check(open(os.path.join(trt_dir, "calib.cache")).readline().startswith("TRT-10300-"), "--trt-version in the header")
rv = json.load(open(os.path.join(trt_dir, "report.json"))).get("verify", {})
check(rv.get("samples") == 256 and rv.get("requant") == "float-multiplier", "report.json verify block: %s" % rv.get("samples"))
check(rv.get("top1_agreement", 0) >= 95.0, "simulation and integer executor agree on top-1")
onnx2 = os.path.join(SCRATCH, "again.onnx")
rc, out, err = run(["verify", "--model", MODEL, "--params", os.path.join(trt_dir, "params.json"), "--onnx", onnx2,
                    "--report", os.path.join(SCRATCH, "verify_report.json"), "--quiet"] + common + ev)
check(rc == 0, "verify exits 0: " + err)
check("first tensor where they part" in out, "verify prints where they part")
check(open(onnx2, "rb").read() == open(os.path.join(trt_dir, "model.qdq.onnx"), "rb").read(),
      "verify --onnx writes the bytes quantize wrote")
rv2 = json.load(open(os.path.join(SCRATCH, "verify_report.json")))["verify"]
check(rv2["top1_agreement"] == rv["top1_agreement"], "verify reproduces quantize --verify")
rc, out, err = run(["quantize", "--model", MODEL, "--calib", DATA + "train-images-idx3-ubyte.gz", "--calib-size", "16",
                    "--backend", "ncnn", "--export", "tflite", "--out", os.path.join(SCRATCH, "bad_export"), "--quiet"]
                   + common)
check(rc != 0 and "--export 'tflite'" in err, "unknown --export named: " + err.strip())

# --config file with the same option names
cfg = os.path.join(SCRATCH, "run.cfg")
with open(cfg, "w") as f:
    f.write("backend = snpe\na-observer = minmax\ncalib-size = 32\nmean = 0.2860\nstd = 0.3530\n")
out_cfg = os.path.join(SCRATCH, "cfg")
rc, out, err = run(["quantize", "--model", MODEL, "--calib", DATA + "train-images-idx3-ubyte.gz", "--config", cfg,
                    "--out", out_cfg, "--quiet"])
check(rc == 0, "quantize --config exits 0: " + err)
check(os.path.isfile(os.path.join(out_cfg, "encodings.json")), "--config backend snpe -> encodings.json")

# errors name the bad input, exit non-zero, and write nothing
bad_dir = os.path.join(SCRATCH, "bad")
for args, needle in [
    (["--model", "/nonexistent/m.pt"], "/nonexistent/m.pt"),
    (["--model", MODEL, "--backend", "tensorrtx"], "tensorrtx"),
    (["--model", MODEL, "--a-observer", "kll"], "kll"),
    (["--model", MODEL, "--calib", os.path.join(ROOT, "README.md")], "README.md"),
    (["--model", MODEL, "--skip", "no_such_layer"], "no_such_layer"),
]:
    if "--calib" not in args:
        args = args + ["--calib", DATA + "train-images-idx3-ubyte.gz"]
    full = ["quantize", "--calib-size", "16", "--out", bad_dir, "--quiet"] + args
    rc, out, err = run(full)
    check(rc != 0, "non-zero exit for %s" % needle)
    check(needle in err, "error names %s: %s" % (needle, err.strip()))
    check(not os.path.exists(os.path.join(bad_dir, "params.json")), "no params.json after error %s" % needle)
rc, out, err = run(["quantize", "--model", MODEL])
check(rc == 2 and "--calib" in err, "missing required option is a usage error naming it: " + err.strip())
rc, out, err = run(["frobnicate"])
check(rc == 2 and "frobnicate" in err, "unknown command named")
rc, out, err = run(["quantize", "--help"])
check(rc == 0 and "Example" in out and "kl" in out and "tensorrt" in out, "--help lists registry choices")

if failures:
    print("%d failure(s)" % len(failures))
    sys.exit(1)
print("all CLI checks passed")
