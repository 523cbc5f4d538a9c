#!/usr/bin/python3
"""ZeroQ synthesis iterations with torch autograd on the zoo models: the reference side of
bench_synthesis (speed) and of the recon_synthesis_zoo test (loss and gradient). docs/data_free.md.

The loss is ZeroQ's distill_data.py: at every BatchNorm2d input, per image and channel,
(mean - running_mean)^2 + (sqrt(var_unbiased + 1e-6) - sqrt(running_var + 1e-6))^2, summed and divided
by the batch size; plus the same on the images against mean 0 / std 1. Adam lr 0.5.

  synthesis_torch.py bench <zoo_dir> <threads> <min_seconds> <data_dir>
      each model's initial batch from <data_dir>/<model>.bin (raw float32 [32, 1, 28, 28]; a model
      without one is skipped); prints
      "<model> <median ms per iteration> <loss at the initial images> <|dL/dx| there>" per model, as
      ZeroQ's distill_data.py runs it (the parameters keep requires_grad: autograd also computes every
      weight gradient), then the same as "<model>/x" with the parameters frozen (the input gradient
      only: the engine's work), and "peak_rss_mib <MiB>".
  synthesis_torch.py grad <zoo_dir> <model> <in.bin> <batch> <out.bin>
      prints the BN loss and the total loss at the images of in.bin ([batch, 1, 28, 28]) and writes
      dL/dx (float32) to out.bin.
Exits 3 when torch is missing.
"""
import importlib.util
import os
import resource
import statistics
import sys
import time

try:
    import numpy as np
    import torch
except ImportError:
    print("torch missing")
    sys.exit(3)

EPS, LR = 1e-6, 0.5
MODELS = {"resnet20": "ResNet20", "mobilenetv2": "MobileNetV2S"}


def zoo_model(zoo_dir, name):
    spec = importlib.util.spec_from_file_location("train_zoo", os.path.join(zoo_dir, "train_zoo.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    model = getattr(m, MODELS[name])()
    model.load_state_dict(torch.jit.load(os.path.join(zoo_dir, name + ".pt")).state_dict())
    model.eval()
    return model


def stats(t):
    f = t.reshape(t.shape[0], t.shape[1], -1)
    return f.mean(dim=2), torch.sqrt(f.var(dim=2) + EPS)


def own_loss(a, b):
    return (a - b).norm() ** 2 / b.size(0)


class ZeroQLoss:
    def __init__(self, model):
        self.model, self.inputs, self.bns = model, {}, []
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                self.bns.append(mod)
                mod.register_forward_pre_hook(lambda m, i: self.inputs.__setitem__(m, i[0]))
        self.targets = [(b.running_mean, torch.sqrt(b.running_var + EPS)) for b in self.bns]

    def __call__(self, x):
        self.inputs.clear()
        self.model(x)
        bn = 0.0
        for b, (m, s) in zip(self.bns, self.targets):
            mean, std = stats(self.inputs[b])
            bn = bn + own_loss(m, mean) + own_loss(s, std)
        mean, std = stats(x)
        return bn, bn + own_loss(torch.zeros(1), mean) + own_loss(torch.ones(1), std)


def read_batch(path, batch):
    return torch.tensor(np.fromfile(path, dtype=np.float32).reshape(batch, 1, 28, 28))


def bench_one(zoo_dir, name, min_seconds, x0, frozen):
    model = zoo_model(zoo_dir, name)
    if frozen:  # the input gradient only, as the engine: no weight gradient in the backward
        for p in model.parameters():
            p.requires_grad_(False)
    loss_fn = ZeroQLoss(model)
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=LR)

    def step():
        opt.zero_grad()
        _, total = loss_fn(x)
        total.backward()
        opt.step()
        return total

    _, loss0 = loss_fn(x)
    loss0.backward()
    grad0 = x.grad.norm().item()
    for _ in range(2):
        step()
    ms, spent = [], 0.0
    while spent < min_seconds or len(ms) < 5:
        t0 = time.perf_counter()
        step()
        ms.append(1e3 * (time.perf_counter() - t0))
        spent += ms[-1] * 1e-3
    print(name + ("/x" if frozen else ""), statistics.median(ms), loss0.item(), grad0, flush=True)


def bench(zoo_dir, threads, min_seconds, data_dir):
    torch.set_num_threads(threads)
    for name in ("resnet20", "mobilenetv2"):
        if not os.path.exists(os.path.join(data_dir, name + ".bin")):
            continue  # the bench asked for the other model only
        x0 = read_batch(os.path.join(data_dir, name + ".bin"), 32)
        for frozen in (False, True):
            bench_one(zoo_dir, name, min_seconds, x0, frozen)
    print("peak_rss_mib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)


def grad(zoo_dir, name, inp, batch, out):
    torch.set_num_threads(1)
    loss_fn = ZeroQLoss(zoo_model(zoo_dir, name).double())
    x = read_batch(inp, batch).double().requires_grad_(True)  # float64: the reference
    bn, total = loss_fn(x)
    total.backward()
    x.grad.float().numpy().tofile(out)
    print(repr(bn.item()), repr(total.item()))


def main():
    mode = sys.argv[1]
    if mode == "bench":
        bench(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
    elif mode == "grad":
        grad(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
    else:
        sys.exit("usage: synthesis_torch.py bench|grad ...")


if __name__ == "__main__":
    main()
