#!/usr/bin/python3
# bench/forward/conv_layers_torch.py: LibTorch's side of bench_conv_layers. For every conv shape of
# the table bench_conv_layers passes (arguments THREADS REPS BATCH NAME:C:H:O:K:STRIDE:PAD ...),
# conv2d + bias + relu_ under inference_mode, at 1 and at THREADS threads, the best of REPS runs
# after 3 warm-up runs; prints "NAME MS_1THREAD MS_THREADS" per shape and "peak_rss_mib MIB".
import resource
import sys
import time

import torch
import torch.nn.functional as F


def best_ms(x, w, b, stride, pad, reps):
    for _ in range(3):
        F.relu_(F.conv2d(x, w, b, stride, pad))
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        F.relu_(F.conv2d(x, w, b, stride, pad))
        best = min(best, (time.perf_counter() - t0) * 1e3)
    return best


def main():
    threads, reps, batch = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    torch.manual_seed(0)
    with torch.inference_mode():
        for arg in sys.argv[4:]:
            name, c, h, o, k, s, p = arg.split(":")
            c, h, o, k, s, p = map(int, (c, h, o, k, s, p))
            x, w, b = torch.randn(batch, c, h, h), torch.randn(o, c, k, k), torch.randn(o)
            torch.set_num_threads(1)
            t1 = best_ms(x, w, b, s, p, reps)
            torch.set_num_threads(threads)
            tn = best_ms(x, w, b, s, p, reps)
            print(f"{name} {t1:.4f} {tn:.4f}", flush=True)
    print(f"peak_rss_mib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")


if __name__ == "__main__":
    main()
