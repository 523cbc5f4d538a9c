#!/usr/bin/python3
"""torch.ao FX post-training calibration wall time, the reference side of bench_calibration.

    /usr/bin/python3 bench/quantize/calibration_torch.py --model resnet20 --weights examples/zoo/resnet20.pt \
        --data samples.f32 --count 1024 [--batch 64] [--threads 2] [--reps 3]

The zoo architecture comes from examples/zoo/train_zoo.py, its weights from the TorchScript file.
--data: `count` preprocessed images, float32 N x 1 x 28 x 28, raw little-endian (bench_calibration
writes the batches it calibrates on, so both sides see the same data).
QConfig: activations HistogramObserver (2048 bins, reduce_range off): torch.ao has no KL observer;
HistogramObserver is its histogram-search observer (an L2 search over the histogram's bin ranges at
calculate_qparams), the closest to KL and the default activation observer of torch.ao's x86
qconfigs. Weights: per-channel min-max (the default per-channel weight observer).
Per repetition (after one warm-up): prepare = prepare_fx (trace, fuse conv+bn(+relu), insert
observers); calibrate = the forward over every batch with the observers; qparams =
calculate_qparams() of every observer (the range search, which torch.ao defers to convert).
Prints one JSON line with the medians (and cpu_s: the process CPU time of the whole repetition).
"""
import argparse, importlib.util, json, os, statistics, time

import numpy as np
import torch
from torch.ao.quantization import HistogramObserver, QConfig, QConfigMapping, default_per_channel_weight_observer
from torch.ao.quantization.quantize_fx import prepare_fx


def zoo_model(name, weights):
    path = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "zoo", "train_zoo.py")
    spec = importlib.util.spec_from_file_location("train_zoo", path)
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    m = zoo.MODELS[name]()
    m.load_state_dict(torch.jit.load(weights).state_dict())
    return m.eval()


def one_run(model_fn, batches, example):
    qconfig = QConfig(activation=HistogramObserver.with_args(reduce_range=False),
                      weight=default_per_channel_weight_observer)
    mapping = QConfigMapping().set_global(qconfig)
    model = model_fn()
    c0 = time.process_time()
    t0 = time.perf_counter()
    prepared = prepare_fx(model, mapping, example_inputs=(example,))
    t1 = time.perf_counter()
    with torch.no_grad():
        for x in batches:
            prepared(x)
    t2 = time.perf_counter()
    observers = [m for m in prepared.modules() if isinstance(m, HistogramObserver)]
    for o in observers:
        o.calculate_qparams()
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2, len(observers), time.process_time() - c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    x = torch.from_numpy(np.fromfile(a.data, dtype=np.float32).reshape(a.count, 1, 28, 28))
    batches = list(torch.split(x, a.batch))
    model_fn = lambda: zoo_model(a.model, a.weights)
    one_run(model_fn, batches, batches[0])  # warm-up
    runs = [one_run(model_fn, batches, batches[0]) for _ in range(a.reps)]
    med = lambda i: statistics.median(r[i] for r in runs)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "observers": runs[0][3],
                      "observer": "HistogramObserver(bins=2048, reduce_range=False)", "prepare_s": med(0),
                      "calibrate_s": med(1), "qparams_s": med(2), "cpu_s": med(4)}))


if __name__ == "__main__":
    main()
