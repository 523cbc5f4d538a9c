"""Writes the TorchScript seeds of fuzz_torchscript: two tiny models (scripted and traced) with an
input of [1, 1, 8, 8], small enough (a few KB) for libFuzzer to mutate usefully.

Usage: /usr/bin/python3 make_torch_seed.py OUTDIR   (Debian's interpreter: it sees Debian's torch)
"""
import os
import sys

import torch


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(2)
        self.fc = torch.nn.Linear(2 * 4 * 4, 3)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        return self.fc(torch.flatten(x, 1))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    m = Tiny().eval()
    torch.jit.script(m).save(os.path.join(out, "tiny_scripted.pt"))
    torch.jit.trace(m, torch.zeros(1, 1, 8, 8)).save(os.path.join(out, "tiny_traced.pt"))


if __name__ == "__main__":
    main()
