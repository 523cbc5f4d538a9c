#!/usr/bin/python3
"""One QDrop block-reconstruction iteration with torch autograd, per block written by bench_recon.

The same iteration as mqcalib's UnitTrainer (reconstruction/unit_train.h) on the same data: the block's
inputs mixed with their FP values (drop 0.5), every conv / linear weight AdaRound-soft-rounded
(W~ = s * clamp(floor(W/s) + h(V), qmin, qmax), h the rectified sigmoid, zeta 1.1, gamma -0.1), an LSQ
fake quantizer (torch._fake_quantize_learnable_per_tensor_affine, as QDrop's LSQFakeQuantize, gradient
scale 1/sqrt(numel * qmax)) with QDrop's drop on every listed value, loss ((y - t)^2).sum(1).mean()
+ lambda * sum(1 - |2h - 1|^beta), backward, Adam on V (lr 1e-3) and on the steps (lr 4e-5).
Usage: recon_torch.py <dir> <threads> <min_seconds>. Prints "<block> <ms per iteration> <objective at
V_init without drop and regularizer>" per block and "peak_rss_mib <MiB>"; exits 3 when torch is missing.
"""
import glob
import json
import resource
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("torch missing")
    sys.exit(3)

ZETA, GAMMA = 1.1, -0.1


def load(spec, path):
    flat = torch.frombuffer(bytearray(open(path, "rb").read()), dtype=torch.float32)
    out = {}
    for name, t in spec["tensors"].items():
        n = 1
        for d in t["shape"]:
            n *= d
        out[name] = flat[t["offset"]:t["offset"] + n].reshape(t["shape"]).clone()
    return out


def run_node(n, x, weights):
    k = n["kind"]
    if k == "conv2d":
        return F.conv2d(x[0], weights[n["name"]], n.get("bias"), stride=n["stride"], padding=n["padding"],
                        dilation=n["dilation"], groups=n["groups"])
    if k == "linear":
        return F.linear(x[0], weights[n["name"]], n.get("bias"))
    if k == "relu":
        return F.relu(x[0])
    if k == "relu6":
        return F.relu6(x[0])
    if k == "hardtanh":
        return F.hardtanh(x[0], n["min_val"], n["max_val"])
    if k == "add":
        return x[0] + n["scalar"] if n["has_scalar"] and len(x) == 1 else x[0] + x[1]
    if k == "mul":
        return x[0] * n["scalar"] if n["has_scalar"] and len(x) == 1 else x[0] * x[1]
    if k == "adaptive_avg_pool2d":
        return F.adaptive_avg_pool2d(x[0], n["output_size"])
    if k == "flatten":
        return torch.flatten(x[0], n["start_dim"], n["end_dim"])
    if k == "identity":
        return x[0]
    raise SystemExit(f"recon_torch.py: op {k} not supported")


def bench_block(spec, t, min_seconds):
    nodes = spec["nodes"]
    for n in nodes:
        if n["kind"] in ("conv2d", "linear") and n["name"] + ".bias" in t:
            n["bias"] = t[n["name"] + ".bias"]
    soft = []
    for s in spec["soft"]:
        w = t[s["node"] + ".weight"]
        scale = t[s["node"] + ".scale"].reshape([-1] + [1] * (w.dim() - 1))
        base = torch.floor(w / scale)
        frac = w / scale - base
        v = (-torch.log((ZETA - GAMMA) / (frac - GAMMA) - 1)).requires_grad_(True)
        soft.append((s["node"], scale, base, float(s["qmin"]), float(s["qmax"]), v))
    acts = {}
    for a in spec["acts"]:
        acts[a["value"]] = (torch.tensor([a["scale"]], requires_grad=True), torch.tensor([float(a["zero_point"])]),
                            a["qmin"], a["qmax"])
    inputs = [t["input:" + n] for n in spec["inputs"]]
    targets = [t["target:" + n] for n in spec["outputs"]]
    opt_v = torch.optim.Adam([s[5] for s in soft], lr=spec["lr"])
    opt_s = torch.optim.Adam([a[0] for a in acts.values()], lr=spec["step_lr"]) if acts else None
    lam, beta, p = spec["lambda"], spec["beta"], spec["drop_prob"]

    def forward(drop):
        weights, hs = {}, []
        for name, scale, base, lo, hi, v in soft:
            h = torch.clamp(torch.sigmoid(v) * (ZETA - GAMMA) + GAMMA, 0, 1)
            weights[name] = scale * torch.clamp(base + h, lo, hi)
            hs.append(h)

        def quant(name, x):
            if name not in acts:
                return x
            s, z, qmin, qmax = acts[name]
            xq = torch._fake_quantize_learnable_per_tensor_affine(x, s, z, qmin, qmax, 1.0 / (x.numel() * qmax) ** 0.5)
            return torch.where(torch.rand_like(x) < p, xq, x) if drop else xq

        vals = {}
        for name, x in zip(spec["inputs"], inputs):
            if drop:  # QDrop's input mix (the FP values equal the inputs here, as on the engine side)
                x = torch.where(torch.rand_like(x) < p, x, x)
            vals[name] = quant(name, x)
        for n in nodes:
            vals[n["outputs"][0]] = quant(n["outputs"][0], run_node(n, [vals[i] for i in n["inputs"]], weights))
        rec = sum((vals[o] - tg).pow(2).sum(1).mean() for o, tg in zip(spec["outputs"], targets))
        return rec, hs

    def step():
        opt_v.zero_grad(set_to_none=False)
        if opt_s:
            opt_s.zero_grad(set_to_none=False)
        rec, hs = forward(True)
        reg = sum((1 - (2 * h - 1).abs().pow(beta)).sum() for h in hs)
        (rec + lam * reg).backward()
        opt_v.step()
        if opt_s:
            opt_s.step()

    with torch.no_grad():
        loss0 = forward(False)[0].item()
    for _ in range(3):
        step()
    times = []
    while sum(times) < min_seconds or len(times) < 5:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times), loss0


def main():
    torch.set_num_threads(int(sys.argv[2]))
    min_seconds = float(sys.argv[3])
    files = sorted(glob.glob(sys.argv[1] + "/*.json"), key=lambda f: (f.rsplit("_", 1)[0], int(f.rsplit("_", 1)[1][:-5])))
    for path in files:
        spec = json.load(open(path))
        ms, loss0 = bench_block(spec, load(spec, path[:-5] + ".bin"), min_seconds)
        print(f"{spec['name']} {ms:.4f} {loss0:.9g}", flush=True)
    print(f"peak_rss_mib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")


if __name__ == "__main__":
    main()
