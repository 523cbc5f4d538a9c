#!/usr/bin/python3
"""Exports the TorchScript models of the import/equivalence tests (suite 'torch').

Usage: /usr/bin/python3 export_models.py OUT_DIR   (Debian's interpreter: the default python3 of
these machines cannot import Debian's torch).

Writes, for every model, `<name>_scripted.pt` and `<name>_traced.pt`, then `manifest.json` (last,
via a .tmp rename, so its presence means the export is complete):
  {"models": [{"name", "file", "mode", "input_shape", "num_bn", "kind"}]}

Random-weight torchvision models carry no signal in eval mode (activations ~1e-8, every
nonlinearity stuck in its linear region; issue 3). Before export each model runs a few train-mode
forwards on random inputs with every BatchNorm's momentum=None (cumulative average), so the running
statistics are the real ones of those inputs; in eval the logits are then O(1).
"""
import io
import json
import os
import sys
import zipfile

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

SEED = 20261122
CALIB_FORWARDS = 3     # train-mode forwards that set the BN running statistics
CALIB_BATCH = 4

# name -> (constructor, input shape). Small inputs keep the suite fast; googlenet's five stride-2
# stages and its 5x5 inception branches need at least 64x64 too.
TORCHVISION = {
    "resnet18": (lambda: torchvision.models.resnet18(), [1, 3, 64, 64]),
    "resnet50": (lambda: torchvision.models.resnet50(), [1, 3, 64, 64]),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(), [1, 3, 64, 64]),
    "mobilenet_v3_small": (lambda: torchvision.models.mobilenet_v3_small(), [1, 3, 64, 64]),
    "efficientnet_b0": (lambda: torchvision.models.efficientnet_b0(), [1, 3, 64, 64]),
    "regnet_x_400mf": (lambda: torchvision.models.regnet_x_400mf(), [1, 3, 64, 64]),
    "shufflenet_v2_x0_5": (lambda: torchvision.models.shufflenet_v2_x0_5(), [1, 3, 64, 64]),
    "mnasnet0_5": (lambda: torchvision.models.mnasnet0_5(), [1, 3, 64, 64]),
    "squeezenet1_1": (lambda: torchvision.models.squeezenet1_1(), [1, 3, 64, 64]),
    "googlenet": (lambda: torchvision.models.googlenet(aux_logits=False, init_weights=True), [1, 3, 64, 64]),
}


def resnet18_28x28():
    """torchvision resnet18 adapted to 1x28x28 inputs and 10 classes (first conv 3x3 stride 1), the
    model of issue 15's measurements; exported for bench/forward only."""
    m = torchvision.models.resnet18(num_classes=10)
    m.conv1 = nn.Conv2d(1, 64, 3, stride=1, padding=1, bias=False)
    return m


class Act(nn.Module):
    """One nonlinearity alone: the test feeds inputs across its breakpoints."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        mods = {
            "relu": nn.ReLU(), "relu6": nn.ReLU6(), "hardtanh": nn.Hardtanh(-2.0, 3.0),
            "silu": nn.SiLU(), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "hardswish": nn.Hardswish(),
            "hardsigmoid": nn.Hardsigmoid(), "gelu": nn.GELU(), "gelu_tanh": nn.GELU(approximate="tanh"),
        }
        self.act = mods[kind]

    def forward(self, x):
        return self.act(x)


ACTIVATIONS = ["relu", "relu6", "hardtanh", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid",
               "gelu", "gelu_tanh"]
ACT_SHAPE = [1, 1, 4, 64]


class FunctionalMix(nn.Module):
    """Functional ops the torchvision models do not use: scalar add/mul, permute, split, softmax,
    reshape with -1, in-place add_, avg_pool2d, matmul with a parameter."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.proj = nn.Parameter(torch.randn(8, 5) * 0.3)

    def forward(self, x):
        y = self.bn(self.conv(x))
        y = y * 0.5 + 1.0
        a, b = torch.split(y, [3, 5], dim=1)
        a = F.avg_pool2d(a, 2)
        b = F.avg_pool2d(b, 3, stride=2, padding=1, count_include_pad=False)
        z = torch.cat([b, a], dim=1)
        z = z.permute(0, 2, 3, 1)          # N,H,W,C
        z = torch.matmul(z, self.proj)     # N,H,W,5
        z = z.reshape(z.size(0), -1, 5)
        z = z.mean(1)
        z.add_(2.0)
        return torch.softmax(z, dim=1)


class BatchLiteralView(nn.Module):
    """A reshape whose target holds the example's batch size as a literal (y.view(1, 72), as a
    traced model records a batch size it computed): the imported graph must reshape any batch."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        y = self.conv(x)
        return torch.relu(y.view(1, 72))


class Unsupported(nn.Module):
    """Uses an op the importer does not lower (aten::cumsum): the import must fail with an error
    naming the op, the node and its source location."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        y = self.conv(x)
        return torch.cumsum(y, dim=1)


class DataDependentIf(nn.Module):
    """Control flow on tensor data: not importable as a static graph."""

    def forward(self, x):
        if bool(x.sum() > 0):
            return torch.relu(x)
        return torch.sigmoid(x)


class Recurrent(nn.Module):
    """An LSTM over the image rows: refused as a recurrent layer, scripted or traced (not as the first
    op the walk cannot lower inside it)."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(8, 4, batch_first=True)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        y, _ = self.rnn(x.view(x.shape[0], 8, 8))
        return self.fc(y[:, -1])


class Linear3(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 3)

    def forward(self, x):
        return self.fc(x.flatten(1))


def write_truncated_records(model: nn.Module, path: str):
    """torch.jit.save(model), then the same zip with each <archive>/data/<key> record cut to 8 bytes."""
    whole = io.BytesIO()
    torch.jit.save(torch.jit.script(model.eval()), whole)
    with zipfile.ZipFile(whole) as src, zipfile.ZipFile(path + ".tmp", "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if "/data/" in info.filename:
                data = data[:8]
            dst.writestr(info.filename, data)
    os.replace(path + ".tmp", path)


def calibrate_bn(model: nn.Module, shape):
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = None
            m.reset_running_stats()
    model.train()
    with torch.no_grad():
        for _ in range(CALIB_FORWARDS):
            model(torch.randn([CALIB_BATCH] + shape[1:]))
    model.eval()


def count_bn(model: nn.Module) -> int:
    return sum(1 for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))


def export(model: nn.Module, name: str, shape, out_dir: str, kind: str, modes=("scripted", "traced")):
    entries = []
    model.eval()
    for mode in modes:
        fname = f"{name}_{mode}.pt"
        path = os.path.join(out_dir, fname)
        with torch.no_grad():
            if mode == "scripted":
                m = torch.jit.script(model)
            else:
                m = torch.jit.trace(model, torch.randn(shape), check_trace=False)
        m.save(path + ".tmp")
        os.replace(path + ".tmp", path)
        entries.append({"name": name, "file": fname, "mode": mode, "input_shape": list(shape),
                        "num_bn": count_bn(model), "kind": kind})
        print(f"exported {fname}", file=sys.stderr, flush=True)
    return entries


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: export_models.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    entries = []
    for name, (ctor, shape) in TORCHVISION.items():
        torch.manual_seed(SEED)
        model = ctor()
        calibrate_bn(model, shape)
        entries += export(model, name, shape, out_dir, "torchvision")
    torch.manual_seed(SEED)
    model = resnet18_28x28()
    calibrate_bn(model, [1, 1, 28, 28])
    entries += export(model, "resnet18_28x28", [1, 1, 28, 28], out_dir, "bench", modes=("scripted",))
    for kind in ACTIVATIONS:
        entries += export(Act(kind), "act_" + kind, ACT_SHAPE, out_dir, "activation")
    torch.manual_seed(SEED)
    mix = FunctionalMix()
    calibrate_bn(mix, [1, 4, 8, 8])
    entries += export(mix, "functional_mix", [1, 4, 8, 8], out_dir, "functional")
    entries += export(BatchLiteralView(), "batch_literal_view", [1, 1, 8, 8], out_dir, "functional")
    entries += export(Unsupported(), "unsupported_op", [1, 1, 8, 8], out_dir, "error", modes=("scripted",))
    entries += export(DataDependentIf(), "data_dependent_if", [1, 1, 8, 8], out_dir, "error",
                      modes=("scripted",))
    entries += export(Recurrent().eval(), "recurrent_lstm", [1, 1, 8, 8], out_dir, "error")
    # Not TorchScript: torch.save of the eager module (the same zip container without code/).
    torch.save(Recurrent(), os.path.join(out_dir, "eager_torch_save.pt"))
    # A corrupt TorchScript file: every tensor record cut to 8 bytes while the pickle still claims the
    # full tensors (what fuzz_torchscript found: LibTorch loads it and the weight reads past its buffer).
    write_truncated_records(Linear3(), os.path.join(out_dir, "truncated_records.pt"))
    manifest = os.path.join(out_dir, "manifest.json")
    with open(manifest + ".tmp", "w") as f:
        json.dump({"seed": SEED, "models": entries}, f, indent=1)
    os.replace(manifest + ".tmp", manifest)


if __name__ == "__main__":
    main()
