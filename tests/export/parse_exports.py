#!/usr/bin/python3
"""Independent parser for mqcalib's export files (REFERENCE.md section 7).

Usage: parse_exports.py <export_writer executable>

Runs the writer into a temporary directory, then re-reads every file with Python's own json and struct
(never the engine's reader) and checks it against
  - the hand-chosen values of tests/export/export_records.h, repeated here as literals (EXPECTED), and
  - the C++-side record as written to <backend>.params.json, parsed here independently.
Scales are compared exactly (float32 bits); tolerances below are named and justified.
"""
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile

# Scales and everything derived from them in double (amax = 127 * scale, min/max = scale * offset)
# are exact: a float32 times an integer below 2^24 fits a double's 53-bit mantissa.
SCALE_TOL = 0.0
DERIVED_TOL = 0.0
# AIMET's invariant scale = (max - min) / (2^bitwidth - 1): one double division, so a relative
# error up to half an ulp of the double (2^-53); allow 2^-52.
AIMET_INVARIANT_REL_TOL = 2.0 ** -52

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL: " + what)


def f32(x):
    """x rounded to float32 (as a Python float)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f32_from_hex(h):
    """TensorRT's hex: the float32 bits, most significant byte first."""
    return struct.unpack(">f", bytes.fromhex(h))[0]


def hex_of_f32(x):
    return struct.pack(">f", x).hex()


def close(a, b, tol):
    return a == b if tol == 0.0 else abs(a - b) <= tol


# Hand-chosen values (export_records.h): per backend, tensor -> (role, scales, zero points).
EXPECTED = {
    "tensorrt": {
        "input": ("activation", [2.0 ** -7], [0]),
        "conv1.weight": ("weight", [2.0 ** -7, 2.0 ** -6], [0, 0]),
        "conv1.relu": ("activation", [0.5], [0]),
        "fc.out": ("activation", [f32(0.1)], [0]),
    },
    "snpe": {
        "input": ("activation", [2.0 ** -5], [32]),
        "conv1.weight": ("weight", [2.0 ** -7, 2.0 ** -6], [0, 0]),
        "conv1.bias": ("bias", [2.0 ** -12, 2.0 ** -11], [0, 0]),
        "conv1.relu": ("activation", [2.0 ** -4], [0]),
    },
    "ncnn": {
        "input": ("activation", [2.0 ** -6], [0]),
        "conv1.weight": ("weight", [2.0 ** -7, 2.0 ** -8, f32(0.01)], [0, 0, 0]),
        "pool.out": ("activation", [0.125], [0]),
        "fc.weight": ("weight", [0.5, 0.25], [0, 0]),
    },
}


def read_params(path, backend):
    """params.json, parsed with json only; returns the tensors list. Checks the layout and that every
    scale equals its scale_bits and the hand-chosen value."""
    with open(path, encoding="utf-8") as f:
        root = json.load(f)
    check(root.get("format") == "mqcalib-params", path + ": format")
    check(root.get("format_version") == 1, path + ": format_version")
    prov = root["provenance"]
    check(prov["backend"] == backend, path + ": provenance.backend")
    check(prov["seed"] == 2 ** 64 - 59, path + ": provenance.seed (full uint64)")
    check(prov["model_sha256"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
          path + ": provenance.model_sha256")
    tensors = root["tensors"]
    names = [t["tensor"] for t in tensors]
    check(sorted(names) == sorted(EXPECTED[backend]), path + ": tensor names %s" % names)
    for t in tensors:
        name = t["tensor"]
        p = t["params"]
        s = t["scheme"]
        where = "%s: %s" % (path, name)
        check(len(p["scale"]) == len(p["scale_bits"]) == len(p["zero_point"]), where + ": sizes")
        for i, (x, h) in enumerate(zip(p["scale"], p["scale_bits"])):
            check(re.fullmatch(r"[0-9a-f]{8}", h) is not None, where + ": scale_bits[%d] %r" % (i, h))
            check(f32(x) == f32_from_hex(h), where + ": scale[%d] %r disagrees with scale_bits %s" % (i, x, h))
        for z in p["zero_point"]:
            check(s["qmin"] <= z <= s["qmax"] or s["bits"] == 32, where + ": zero point %d outside grid" % z)
        if name in EXPECTED[backend]:
            role, scales, zps = EXPECTED[backend][name]
            check(t["role"] == role, where + ": role " + t["role"])
            check(len(p["scale"]) == len(scales) and
                  all(close(f32(a), b, SCALE_TOL) for a, b in zip(p["scale"], scales)),
                  where + ": scales %s, expected %s" % (p["scale"], scales))
            check(p["zero_point"] == zps, where + ": zero points %s, expected %s" % (p["zero_point"], zps))
            check(p["axis"] == (-1 if len(scales) == 1 else 0), where + ": params.axis")
    return tensors


def check_tensorrt(d):
    tensors = read_params(os.path.join(d, "tensorrt.params.json"), "tensorrt")
    acts = [t for t in tensors if t["role"] == "activation"]
    with open(os.path.join(d, "calib.cache"), encoding="ascii") as f:
        lines = f.read().split("\n")
    check(lines[-1] == "", "calib.cache: ends with a newline")
    lines = lines[:-1]
    m = re.fullmatch(r"TRT-(\d+)-(EntropyCalibration2|MinMaxCalibration)", lines[0])
    check(m is not None, "calib.cache: header %r" % lines[0])
    if m:
        check(m.group(1) == "8600", "calib.cache: version %s" % m.group(1))
        # Two activation observers are "kl": entropy.
        check(m.group(2) == "EntropyCalibration2", "calib.cache: algorithm %s" % m.group(2))
    cache = {}
    for line in lines[1:]:
        lm = re.fullmatch(r"(.+): ([0-9a-f]{8})", line)
        check(lm is not None, "calib.cache: line %r" % line)
        if lm:
            cache[lm.group(1)] = f32_from_hex(lm.group(2))
    check(list(cache) == [t["tensor"] for t in acts], "calib.cache: tensors %s (activations only, in order)" % list(cache))
    for t in acts:
        name = t["tensor"]
        if name in cache:
            check(close(cache[name], f32(t["params"]["scale"][0]), SCALE_TOL),
                  "calib.cache: %s scale %r vs params.json %r" % (name, cache[name], t["params"]["scale"][0]))
            check(close(cache[name], EXPECTED["tensorrt"][name][1][0], SCALE_TOL), "calib.cache: %s hand value" % name)

    with open(os.path.join(d, "clip_ranges.json"), encoding="utf-8") as f:
        clip = json.load(f)
    check(list(clip) == ["tensorrt"] and list(clip["tensorrt"]) == ["blob_range"], "clip_ranges.json: layout")
    ranges = clip["tensorrt"]["blob_range"]
    check(list(ranges) == [t["tensor"] for t in acts], "clip_ranges.json: tensors %s" % list(ranges))
    for t in acts:
        name = t["tensor"]
        amax = 127.0 * f32(t["params"]["scale"][0])  # exact in double
        check(close(ranges.get(name, math.nan), amax, DERIVED_TOL),
              "clip_ranges.json: %s amax %r, expected 127 * scale = %r" % (name, ranges.get(name), amax))
        # TensorRT's amax / 127 gives the cached scale back.
        check(f32(ranges.get(name, math.nan) / 127.0) == cache.get(name), "clip_ranges.json: %s amax/127 != cache" % name)


def check_encodings(d):
    tensors = read_params(os.path.join(d, "snpe.params.json"), "snpe")
    with open(os.path.join(d, "encodings.json"), encoding="utf-8") as f:
        enc = json.load(f)
    check(list(enc) == ["activation_encodings", "param_encodings"], "encodings.json: top-level keys %s" % list(enc))
    sections = {"activation": enc["activation_encodings"], "weight": enc["param_encodings"]}
    expected_keys = {"bitwidth", "dtype", "is_symmetric", "max", "min", "offset", "scale"}
    for t in tensors:
        name, role = t["tensor"], t["role"]
        if role == "bias":
            check(all(name not in s for s in sections.values()), "encodings.json: bias %s written" % name)
            continue
        entries = sections[role].get(name)
        check(entries is not None, "encodings.json: %s missing from %s section" % (name, role))
        if entries is None:
            continue
        s, p = t["scheme"], t["params"]
        check(len(entries) == len(p["scale"]), "encodings.json: %s has %d entries" % (name, len(entries)))
        bitwidth = s["bits"] - 1 if s["reduce_range"] else s["bits"]
        storage_min = -(2 ** (bitwidth - 1)) if s["signed"] else 0
        for c, (e, x, zp) in enumerate(zip(entries, p["scale"], p["zero_point"])):
            where = "encodings.json: %s[%d]" % (name, c)
            check(set(e) == expected_keys, where + ": keys %s" % sorted(e))
            check(e["bitwidth"] == bitwidth and e["dtype"] == "int", where + ": bitwidth/dtype")
            check(e["is_symmetric"] == ("True" if s["symmetric"] else "False"), where + ": is_symmetric %r" % e["is_symmetric"])
            check(isinstance(e["offset"], int) and e["offset"] <= 0, where + ": offset %r not a non-positive int" % e["offset"])
            check(e["offset"] == storage_min - zp, where + ": offset %r, expected %d" % (e["offset"], storage_min - zp))
            if s["symmetric"]:
                check(e["offset"] in (0, -(2 ** (bitwidth - 1))), where + ": symmetric offset %r (aimet #2468)" % e["offset"])
            scale = f32(x)
            check(close(f32(e["scale"]), scale, SCALE_TOL) and e["scale"] == scale, where + ": scale %r" % e["scale"])
            check(close(e["min"], scale * e["offset"], DERIVED_TOL), where + ": min %r" % e["min"])
            check(close(e["max"], scale * (2 ** bitwidth - 1 + e["offset"]), DERIVED_TOL), where + ": max %r" % e["max"])
            inv = (e["max"] - e["min"]) / (2 ** bitwidth - 1)
            check(abs(inv - scale) <= AIMET_INVARIANT_REL_TOL * scale, where + ": (max-min)/(2^bw-1) = %r" % inv)
    # Hand values: the int8 symmetric weight has offset -128; the uint8 input has offset -zp = -32.
    check([e["offset"] for e in enc["param_encodings"]["conv1.weight"]] == [-128, -128], "encodings.json: weight offsets")
    check(enc["activation_encodings"]["input"][0]["offset"] == -32, "encodings.json: input offset")
    check(enc["activation_encodings"]["input"][0]["min"] == -1.0, "encodings.json: input min")
    check(enc["activation_encodings"]["input"][0]["max"] == 6.96875, "encodings.json: input max")


def check_ncnn(d):
    tensors = read_params(os.path.join(d, "ncnn.params.json"), "ncnn")
    with open(os.path.join(d, "ncnn.params.json"), encoding="utf-8") as f:
        root = json.load(f)
    by_name = {t["tensor"]: t for t in tensors}
    weights = {}
    blobs = {}
    commented = []
    with open(os.path.join(d, "ncnn.table"), encoding="ascii") as f:
        for line in f.read().splitlines():
            if line.startswith("#"):
                commented.append(line[1:])
                continue
            fields = line.split(" ")
            key, values = fields[0], [float(v) for v in fields[1:]]
            if key.endswith("_param_0"):
                weights[key[: -len("_param_0")]] = values
            else:
                blobs[key] = values
    skipped = root["provenance"]["skipped_layers"]
    check(commented == [l + "_param_0" for l in skipped] + skipped, "ncnn.table: commented lines %s" % commented)
    w_records = [t for t in tensors if t["role"] == "weight"]
    check(list(weights) == [t["layer"] for t in w_records], "ncnn.table: weight lines %s" % list(weights))
    for t in w_records:
        layer = t["layer"]
        # ncnn quantizes q = round(x * m): m = 1 / scale, rounded to float32.
        expect = [f32(1.0 / f32(x)) for x in t["params"]["scale"]]
        got = [f32(v) for v in weights.get(layer, [])]
        check(got == expect, "ncnn.table: %s_param_0 %s, expected %s" % (layer, got, expect))
        inp_name = root["layer_inputs"].get(layer)
        if inp_name is None:
            inp_name = next(a["tensor"] for a in tensors if a["role"] == "activation" and a["layer"] == layer)
        inp = by_name[inp_name]
        check(blobs.get(layer) == [f32(1.0 / f32(inp["params"]["scale"][0]))],
              "ncnn.table: %s input (%s) %s" % (layer, inp_name, blobs.get(layer)))
    # Hand values (export_records.h): 1/2^-7, 1/2^-8, 1/0.01f -> 128, 256, 100; 2, 4; inputs 64, 8.
    check(weights.get("conv1") == [128.0, 256.0, 100.0], "ncnn.table: conv1 hand values")
    check(weights.get("fc") == [2.0, 4.0], "ncnn.table: fc hand values")
    check(blobs == {"conv1": [64.0], "fc": [8.0]}, "ncnn.table: blob hand values %s" % blobs)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    with tempfile.TemporaryDirectory(prefix="mqcalib_export_py_", dir=os.environ.get("MQCALIB_BUILD_ROOT")) as d:
        subprocess.run([sys.argv[1], d], check=True)
        produced = sorted(os.listdir(d))
        check(produced == sorted(["tensorrt.params.json", "calib.cache", "clip_ranges.json", "snpe.params.json",
                                  "encodings.json", "ncnn.params.json", "ncnn.table"]),
              "writer produced %s (no .tmp may remain)" % produced)
        check_tensorrt(d)
        check_encodings(d)
        check_ncnn(d)
    if FAILURES:
        print("%d check(s) failed" % len(FAILURES))
        return 1
    print("all export files parsed independently and match the records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
