#!/usr/bin/python3
"""Issue 10's scale check, inputs: torchvision resnet50 (1000 classes, 3x224x224) traced to TorchScript, and
256 random calibration samples as a float32 .npy [256, 3, 224, 224] (standard normal: the range of
ImageNet-normalized images). Accuracy is not checked, only memory and time, so the weights are as built;
a few train-mode forwards with BatchNorm momentum None set the running statistics to those of the random
inputs, so eval-mode activations are O(1) rather than ~1e-8 (tests/import/export_models.py does the same).

Usage: /usr/bin/python3 resnet50_scale.py OUT_DIR  -> OUT_DIR/resnet50_224.pt, OUT_DIR/calib_256x3x224x224.npy
"""
import os
import sys

import numpy as np
import torch
import torchvision

SEED = 20261201
SAMPLES = 256
SHAPE = (3, 224, 224)
BN_FORWARDS, BN_BATCH = 3, 8

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(SEED)
m = torchvision.models.resnet50()
for mod in m.modules():
    if isinstance(mod, torch.nn.BatchNorm2d):
        mod.momentum = None  # cumulative average over the forwards below
m.train()
with torch.no_grad():
    for _ in range(BN_FORWARDS):
        m(torch.randn(BN_BATCH, *SHAPE))
m.eval()
pt = os.path.join(out, "resnet50_224.pt")
torch.jit.trace(m, torch.randn(1, *SHAPE), check_trace=False).save(pt + ".tmp")
os.replace(pt + ".tmp", pt)
npy = os.path.join(out, "calib_256x3x224x224.npy")
rng = np.random.default_rng(SEED)
np.save(npy + ".tmp.npy", rng.standard_normal((SAMPLES,) + SHAPE, dtype=np.float32))
os.replace(npy + ".tmp.npy", npy)
print("wrote", pt, npy)
