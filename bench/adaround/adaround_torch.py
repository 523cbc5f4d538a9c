#!/usr/bin/python3
"""One AdaRound iteration (forward + backward + Adam step, batch 32) with torch autograd, per layer.

The same objective as mqcalib's reconstruction/adaround.h (../../../shared/REFERENCE.md section 4):
W~ = s * clamp(floor(W/s) + h(V), qmin - zp, qmax - zp), h the rectified sigmoid (zeta 1.1, gamma -0.1),
rec = ((f(conv(x, W~) + b) - t)^2).sum(1).mean(), + lambda * sum(1 - |2h - 1|^beta), Adam lr 1e-3.
Usage: adaround_torch.py <layers.txt> <threads> <min_seconds> [data_dir]. With data_dir, each layer's
x, w, b and target are read from <data_dir>/<name>.bin (raw float32, written by bench_adaround) so both
sides use the same numbers; otherwise they are random. Prints "<name> <ms per iteration> <objective at
V_init> <|dL/dV| at V_init>" per layer and "peak_rss_mib <MiB>"; exits 3 when torch is missing.
"""
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

# BETA: the linear schedule 20 -> 2 at iteration 500 of 1000 after a 20% warm-up, as the engine side.
ZETA, GAMMA, LAMBDA, BETA, BATCH = 1.1, -0.1, 0.01, 13.25, 32


def parse(path):
    for line in open(path):
        f = line.split()
        if not f or f[0].startswith("#"):
            continue
        yield f


def act(name, z):
    return {"none": lambda v: v, "relu": F.relu, "relu6": F.relu6}[name](z)


def load(path, shapes):
    """Consecutive raw float32 tensors of the given shapes."""
    flat = torch.frombuffer(bytearray(open(path, "rb").read()), dtype=torch.float32)
    out, at = [], 0
    for s in shapes:
        n = 1
        for d in s:
            n *= d
        out.append(flat[at:at + n].reshape(s).clone())
        at += n
    return out


def bench_layer(f, min_seconds, data_dir):
    g = torch.Generator().manual_seed(0)
    if f[0] == "conv":
        _, name, c, h, w, o, k, s, p, groups, a = f
        c, h, w, o, k, s, p, groups = map(int, (c, h, w, o, k, s, p, groups))
        x = torch.rand(BATCH, c, h, w, generator=g)
        weight = torch.rand(o, c // groups, k, k, generator=g) - 0.5
        layer = lambda wt, b: F.conv2d(x, wt, b, stride=s, padding=p, groups=groups)
    else:
        _, name, i, o, a = f
        i, o = int(i), int(o)
        x = torch.rand(BATCH, i, generator=g)
        weight = torch.rand(o, i, generator=g) - 0.5
        layer = lambda wt, b: F.linear(x, wt, b)
    bias = torch.rand(o, generator=g) - 0.5
    with torch.no_grad():
        target = act(a, layer(weight, bias))
    if data_dir:
        x, weight, bias, target = load(f"{data_dir}/{name}.bin", [x.shape, weight.shape, bias.shape, target.shape])
    # per-channel symmetric 4-bit
    shape = [o] + [1] * (weight.dim() - 1)
    scale = (weight.abs().amax(dim=list(range(1, weight.dim()))) / 7).reshape(shape)
    lo, hi = -8.0, 7.0
    base = torch.floor(weight / scale)
    frac = weight / scale - base
    v = (-torch.log((ZETA - GAMMA) / (frac - GAMMA) - 1)).requires_grad_(True)
    opt = torch.optim.Adam([v], lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=False)
        hv = torch.clamp(torch.sigmoid(v) * (ZETA - GAMMA) + GAMMA, 0, 1)
        w_soft = scale * torch.clamp(base + hv, lo, hi)
        y = act(a, layer(w_soft, bias))
        rec = (y - target).pow(2).sum(1).mean()
        reg = (1 - (2 * hv - 1).abs().pow(BETA)).sum()
        loss = rec + LAMBDA * reg
        loss.backward()
        opt.step()

    hv = torch.clamp(torch.sigmoid(v) * (ZETA - GAMMA) + GAMMA, 0, 1)
    y = act(a, layer(scale * torch.clamp(base + hv, lo, hi), bias))
    loss0 = (y - target).pow(2).sum(1).mean() + LAMBDA * (1 - (2 * hv - 1).abs().pow(BETA)).sum()
    loss0.backward()
    check = (loss0.item(), v.grad.norm().item())
    for _ in range(3):
        step()
    times = []  # median of single iterations, as the engine side
    while sum(times) < min_seconds or len(times) < 5:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return name, 1e3 * statistics.median(times), check


def main():
    torch.set_num_threads(int(sys.argv[2]))
    data_dir = sys.argv[4] if len(sys.argv) > 4 else ""
    for f in parse(sys.argv[1]):
        name, ms, (loss, gnorm) = bench_layer(f, float(sys.argv[3]), data_dir)
        print(f"{name} {ms:.4f} {loss:.9g} {gnorm:.9g}", flush=True)
    print(f"peak_rss_mib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")


if __name__ == "__main__":
    main()
