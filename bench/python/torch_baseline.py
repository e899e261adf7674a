# The PyTorch side of the foundation benchmarks, run in the same device call as the JMH ones (scripts/bench-gpu) so
# the numbers compare: device-to-device copy bandwidth, pinned host<->device bandwidth, and bf16 GEMM TFLOP/s at
# 8192^3 and at every fc1/fc2 shape of MambaOut-femto at batch 256 (the same cases, names and rules as GemmBench).
# Timing: CUDA events, warm-up first, median over many timed runs. Copies: one copy between two events. GEMMs: 20
# products between two events (per-product time = span / 20), so cuBLAS's host cost per call does not show up as GPU
# idle time on the small shapes; the products rotate over as many operand sets as it takes to pass twice the L2 size
# (at most 16), like GemmBench. Inputs are random, never zeros. torch's matmul goes through cuBLAS (its default BLAS
# backend); square_8192 is timed once more through cuBLASLt (torch.backends.cuda.preferred_blas_library), the library
# GemmBench uses, to tell a library/heuristic difference from anything else.
# Usage: python3 bench/python/torch_baseline.py [out.json]
import json, math, statistics, sys, torch

REPS = 20
MAX_SETS = 16


def median_ms(fn, warmup=10, reps=50):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record(); fn(); e.record(); e.synchronize()
        times.append(s.elapsed_time(e))
    return statistics.median(times)


def femto_cases(batch=256, dims=(48, 96, 192, 288), side=56):
    cases = [("square_8192", 8192, 8192, 8192)]
    for s, dim in enumerate(dims):
        tokens = batch * (side >> s) ** 2
        hidden = int(8.0 / 3.0 * dim)
        cases.append((f"femto_b{batch}_s{s}_fc1", tokens, 2 * hidden, dim))
        cases.append((f"femto_b{batch}_s{s}_fc2", tokens, dim, hidden))
    return cases


def time_gemm(m, nn, k, l2):
    set_bytes = 2 * (m * k + nn * k + m * nn)
    sets = max(1, min(MAX_SETS, math.ceil(2 * l2 / set_bytes)))
    dev = torch.device("cuda")
    xs = [torch.rand(m, k, device=dev, dtype=torch.bfloat16) * 2 - 1 for _ in range(sets)]
    ws = [torch.rand(nn, k, device=dev, dtype=torch.bfloat16) * 2 - 1 for _ in range(sets)]
    outs = [torch.empty(m, nn, device=dev, dtype=torch.bfloat16) for _ in range(sets)]

    def run():
        for r in range(REPS):
            i = r % sets
            torch.matmul(xs[i], ws[i].t(), out=outs[i])

    ms = median_ms(run, warmup=3, reps=30) / REPS
    return {"m": m, "n": nn, "k": k, "sets": sets, "ms": ms,
            "TFLOPs": 2 * m * nn * k / ms / 1e9, "GBps": set_bytes / ms / 1e6}


def main():
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    l2 = getattr(props, "L2_cache_size", 50 << 20)
    res = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "cuda": torch.version.cuda,
           "l2_bytes": l2, "gemm_reps_per_timing": REPS}
    n = 1 << 30  # 1 GiB
    a = torch.empty(n, dtype=torch.uint8, device=dev).random_()
    b = torch.empty_like(a)
    ms = median_ms(lambda: b.copy_(a))
    res["d2d_copy_GBps(read+write)"] = 2 * n / ms / 1e6
    res["d2d_copy_ms"] = ms
    del a, b
    h = torch.empty(256 << 20, dtype=torch.uint8).random_().pin_memory()
    d = torch.empty(256 << 20, dtype=torch.uint8, device=dev)
    ms = median_ms(lambda: d.copy_(h, non_blocking=True))
    res["h2d_pinned_GBps"], res["h2d_pinned_ms"] = h.numel() / ms / 1e6, ms
    ms = median_ms(lambda: h.copy_(d, non_blocking=True))
    res["d2h_pinned_GBps"], res["d2h_pinned_ms"] = h.numel() / ms / 1e6, ms
    del h, d
    gemms = {}
    for name, m, nn, k in femto_cases():
        gemms[name] = g = time_gemm(m, nn, k, l2)
        print(f"{name:22s} {m:7d}x{nn:5d}x{k:5d}  {g['ms'] * 1e3:9.2f} us  {g['TFLOPs']:7.1f} TFLOP/s"
              f"  {g['GBps']:7.0f} GB/s", flush=True)
    default_blas = torch.backends.cuda.preferred_blas_library()
    res["default_blas"] = str(default_blas)
    try:
        torch.backends.cuda.preferred_blas_library("cublaslt")
        gemms["square_8192_cublaslt"] = g = time_gemm(8192, 8192, 8192, l2)
        print(f"square_8192 via cuBLASLt: {g['ms'] * 1e3:9.2f} us  {g['TFLOPs']:7.1f} TFLOP/s"
              f" (default library: {default_blas})", flush=True)
    except (RuntimeError, ValueError) as e:
        res["square_8192_cublaslt_error"] = repr(e)
    finally:
        torch.backends.cuda.preferred_blas_library(default_blas)
    res["bf16_gemm"] = gemms
    print(json.dumps(res, indent=1))
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
