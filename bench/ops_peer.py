#!/usr/bin/python3
"""PyTorch peer of `LoraGrains.Bench ops`: the same ops, shapes and thread count, timed the same way.

Run with Debian's interpreter (it has torch): /usr/bin/python3 bench/ops_peer.py --threads N
Prints one JSON line: {"torch": version, "threads": N, "attention_impl": ..., "medians_ms": {op: ms}}.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def median_ms(body, warmup, iterations):
    for _ in range(warmup):
        body()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        body()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def attention_fn():
    """F.scaled_dot_product_attention where it exists (PyTorch >= 2.0); otherwise the matmul-softmax-matmul
    sequence that LoraGrains' shim runs on libtorch < 2.1, so both sides do the same work."""
    if hasattr(F, "scaled_dot_product_attention"):
        return "F.scaled_dot_product_attention", F.scaled_dot_product_attention

    def math_attention(q, k, v):
        scores = torch.matmul(q, k.transpose(-2, -1)).mul_(q.shape[-1] ** -0.5)
        return torch.matmul(torch.softmax(scores, -1), v)

    return "matmul-softmax-matmul (no fused SDPA in this PyTorch)", math_attention


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    impl, attention = attention_fn()
    g = torch.Generator().manual_seed(0)
    medians = {}
    with torch.inference_mode():
        x = torch.randn(2, 320, 64, 64, generator=g)
        w = torch.randn(320, 320, 3, 3, generator=g)
        b = torch.randn(320, generator=g)
        medians["conv3x3"] = median_ms(lambda: F.conv2d(x, w, b, padding=1), args.warmup, args.iterations)
        del x, w, b

        x = torch.randn(4096, 768, generator=g)
        w = torch.randn(768, 768, generator=g)
        b = torch.randn(768, generator=g)
        medians["linear"] = median_ms(lambda: F.linear(x, w, b), args.warmup, args.iterations)
        del x, w, b

        q = torch.randn(2, 8, 4096, 40, generator=g)
        k = torch.randn(2, 8, 4096, 40, generator=g)
        v = torch.randn(2, 8, 4096, 40, generator=g)
        medians["attention"] = median_ms(lambda: attention(q, k, v), args.warmup, args.iterations)

    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "attention_impl": impl, "medians_ms": medians}))


if __name__ == "__main__":
    main()
