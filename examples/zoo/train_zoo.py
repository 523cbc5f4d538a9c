#!/usr/bin/python3
"""Train mqcalib's model zoo on Fashion-MNIST and export TorchScript.

Run with Debian's interpreter (it sees python3-torch / python3-torchvision):
    /usr/bin/python3 examples/zoo/train_zoo.py [--models resnet20,mobilenetv2] [--out examples/zoo]

Preprocessing (the same everywhere in mqcalib): x = uint8 / 255, then (x - 0.2860) / 0.3530,
one channel, 28x28, NCHW.  Data: Debian's dataset-fashion-mnist (IDX files, gzip).

Each model is exported twice: `<name>.pt` (torch.jit.script) and `<name>_traced.pt`
(torch.jit.trace), both in eval mode with BN un-fused, so that the engine sees and folds every BN.
A `<name>.json` next to it records the FP top-1 on the 10k test images, MACs and the settings used.
"""
import argparse, gzip, json, os, struct, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.2860, 0.3530
DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split):
    imgs = read_idx(f"{DATA}/{split}-images-idx3-ubyte.gz")
    labels = read_idx(f"{DATA}/{split}-labels-idx1-ubyte.gz")
    x = torch.from_numpy(imgs.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - MEAN) / STD, torch.from_numpy(labels.astype(np.int64))


# ---------------------------------------------------------------- ResNet-20 (CIFAR-style)
class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        idn = x if self.downsample is None else self.downsample(x)
        return F.relu(out + idn)


class ResNet20(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for i, (cout, stride) in enumerate([(16, 1), (32, 2), (64, 2)]):
            blocks = []
            for j in range(3):
                blocks.append(BasicBlock(cin, cout, stride if j == 0 else 1))
                cin = cout
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


# ---------------------------------------------------------------- MobileNetV2-style
class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                   nn.ReLU6(inplace=True),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        if self.use_res:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2S(nn.Module):
    # (expand t, channels c, repeats n, stride s) as in the MobileNetV2 paper, scaled to 28x28.
    CFG = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 3, 1), (6, 96, 2, 1)]

    def __init__(self, num_classes=10):
        super().__init__()
        # Stride-2 stem (as in MobileNetV2): 28x28 -> 14x14 keeps training within ~15 min on 2 cores.
        feats = [nn.Sequential(nn.Conv2d(1, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True))]
        cin = 32
        for t, c, n, s in self.CFG:
            for i in range(n):
                feats.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        feats.append(nn.Sequential(nn.Conv2d(cin, 320, 1, bias=False), nn.BatchNorm2d(320), nn.ReLU6(inplace=True)))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(320, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


MODELS = {"resnet20": ResNet20, "mobilenetv2": MobileNetV2S}


def count_macs(model):
    macs = []

    def hook(m, i, o):
        if isinstance(m, nn.Conv2d):
            macs.append(o.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])
        elif isinstance(m, nn.Linear):
            macs.append(o.numel() * m.in_features)
    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    for h in hs:
        h.remove()
    return sum(macs)


def evaluate(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return 100.0 * correct / len(x)


def train(name, epochs, out, seed):
    torch.manual_seed(seed)
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    model = MODELS[name]()
    macs = count_macs(model)
    print(f"{name}: {sum(p.numel() for p in model.parameters())} params, {macs / 1e6:.1f} MMAC/image", flush=True)
    bs = 128
    steps = epochs * ((len(xtr) + bs - 1) // bs)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=steps, pct_start=0.25)
    g = torch.Generator().manual_seed(seed)
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(xtr), bs):
            idx = perm[i:i + bs]
            xb = xtr[idx]
            # light augmentation: random horizontal flip (clothes are left/right symmetric)
            flip = torch.rand(len(idx), generator=g) < 0.5
            xb[flip] = xb[flip].flip(3)
            loss = F.cross_entropy(model(xb), ytr[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        acc = evaluate(model, xte, yte)
        print(f"{name} epoch {ep + 1}/{epochs}: loss {loss.item():.3f} test top-1 {acc:.2f}% ({time.time() - t0:.0f}s)",
              flush=True)
    model.eval()
    acc = evaluate(model, xte, yte)
    example = xte[:4]
    scripted = torch.jit.script(model)
    traced = torch.jit.trace(model, example)
    for path, mod in [(f"{out}/{name}.pt", scripted), (f"{out}/{name}_traced.pt", traced)]:
        tmp = path + ".tmp"
        mod.save(tmp)
        os.replace(tmp, path)
    meta = {"model": name, "fp32_top1_test10k": acc, "macs_per_image": macs, "epochs": epochs, "seed": seed,
            "train_seconds": round(time.time() - t0), "torch": torch.__version__,
            "preprocessing": {"scale": "x/255", "mean": [MEAN], "std": [STD], "layout": "NCHW", "shape": [1, 28, 28]}}
    with open(f"{out}/{name}.json", "w") as f:
        json.dump(meta, f, indent=2)
    print(f"{name}: exported, FP32 top-1 {acc:.2f}%", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="resnet20,mobilenetv2")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for n in a.models.split(","):
        train(n, a.epochs, a.out, a.seed)
