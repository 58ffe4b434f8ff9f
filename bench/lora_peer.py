#!/usr/bin/python3
"""PyTorch peer of `LoraGrains.Bench lora`, case "load": reads every tensor of a safetensors LoRA file from a memory
map into float32 CPU tensors with a minimal safetensors reader (the safetensors package is not installed here):
8-byte header length, JSON header, torch.frombuffer over the mapping, one conversion copy per tensor.

"raw" is that alone; "validated" adds what LoraAdapter.Load also does — a SHA-256 of the file and a finiteness
check of every tensor — so the two columns can be compared like for like.

  /usr/bin/python3 bench/lora_peer.py --file adapter.safetensors --threads 2 --iterations 5 --warmup 1
prints one JSON line: {"torch", "threads", "bytes", "raw_ms", "validated_ms", "raw_times_ms", "validated_times_ms", "loadavg"}.
With --serve (how LoraGrains.Bench runs it, alternating with its own loads) it answers {"ready": true, ...}, then
one {"ms"} line per "raw" or "validated" line on stdin, and stops on "done".
"""
import argparse
import hashlib
import json
import mmap
import os
import statistics
import struct
import sys
import time
import warnings

import torch

DTYPES = {"F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32, "F64": torch.float64}


def load(path, validate):
    if validate:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        digest.hexdigest()
    tensors = {}
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    base = 8 + length
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        count = (end - begin) // torch.tensor([], dtype=dtype).element_size()
        view = torch.frombuffer(mapping, dtype=dtype, count=count, offset=base + begin).reshape(entry["shape"])
        # .to() copies (and converts) out of the mapping; clone() when the file is already float32.
        t = view.to(torch.float32) if dtype != torch.float32 else view.clone()
        del view
        if validate and not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} is not finite")
        tensors[name] = t
    return tensors


def times_ms(body, warmup, iterations):
    for _ in range(warmup):
        body()
    out = []
    for _ in range(iterations):
        start = time.perf_counter()
        body()
        out.append((time.perf_counter() - start) * 1000)
    return out


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def timed(body):
    start = time.perf_counter()
    body()
    return (time.perf_counter() - start) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--file", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--serve", action="store_true",
                        help="answer 'raw', 'validated' and 'done' lines on stdin, one JSON line each (LoraGrains.Bench "
                             "alternates them with its own loads)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # frombuffer warns that a read-only mapping is not writable; nothing here writes to it.
    warnings.filterwarnings("ignore", message="The given buffer is not writable")
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "bytes": os.path.getsize(args.file)}
    with torch.inference_mode():
        if args.serve:
            print(json.dumps({"ready": True, **info}), flush=True)
            for line in sys.stdin:
                command = line.strip()
                if command in ("raw", "validated"):
                    ms = timed(lambda: load(args.file, command == "validated"))
                    print(json.dumps({"ms": ms, "loadavg": loadavg()}), flush=True)
                elif command == "done":
                    print(json.dumps(info), flush=True)
                    return
            return
        before = loadavg()
        raw = times_ms(lambda: load(args.file, False), args.warmup, args.iterations)
        validated = times_ms(lambda: load(args.file, True), args.warmup, args.iterations)
    print(json.dumps({
        **info, "raw_ms": statistics.median(raw), "validated_ms": statistics.median(validated),
        "raw_times_ms": raw, "validated_times_ms": validated, "loadavg": f"{before} -> {loadavg()}",
    }))


if __name__ == "__main__":
    main()
