"""PyTorch DDP's side of the data-parallel scaling comparison (scripts/gpu-scaling), and the merge into
bench/results/scaling.json.

  run    per model and GPU count: timm mambaout_<model> under DistributedDataParallel (NCCL, one process per GPU,
         torch.multiprocessing.spawn), one training step as train_compare.py's throughput (bf16 autocast forward,
         cross-entropy with label smoothing 0.1, backward with DDP's bucketed all-reduce, fused AdamW, zero_grad) on a
         fixed random batch per rank, channels_last, eager (DDP's overlap is an eager-mode feature); CUDA events
         around rank 0's steps after warm-up, median / p10 / p90. Beside it, NCCL's bus bandwidth on these GPUs: an
         all-reduce of the model's gradient bytes in f32, timed alone (busbw = algbw x 2 (n - 1) / n, nccl-tests'
         definition). One JSON row per (model, GPUs) on stdout and in --out.
  merge  stdlib only: the torch rows and ScalingTimer's rows (ours) into scaling.json, a dated copy and a table.

    NCCL_NVLS_ENABLE=0 python3 bench/python/ddp_scaling.py run --models femto --gpus 1,2 --per-gpu-batch 128 --out DIR
    python3 bench/python/ddp_scaling.py merge DIR --results bench/results
"""
import argparse
import datetime
import glob
import json
import os
import statistics
import subprocess
import sys


def worker(rank, world, args, queue):
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F
    import timm
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(args.port))
    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        model = timm.create_model("mambaout_" + args.model, pretrained=False).cuda().train()
        model = model.to(memory_format=torch.channels_last)
        ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[rank])
        opt = torch.optim.AdamW(ddp.parameters(), lr=2e-3, weight_decay=0.05, fused=True)
        g = torch.Generator(device="cuda").manual_seed(1 + rank)
        x = torch.randn(args.per_gpu_batch, 3, args.img_size, args.img_size, device="cuda", generator=g)
        x = x.contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 1000, (args.per_gpu_batch,), device="cuda", generator=g)

        def step():
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = F.cross_entropy(ddp(x), y, label_smoothing=0.1)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        for _ in range(args.warmup):
            step()
        torch.cuda.synchronize()
        dist.barrier()
        times = []
        for _ in range(args.reps):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            step()
            e.record()
            e.synchronize()
            times.append(s.elapsed_time(e))
        # NCCL alone: the gradients' bytes in one f32 all-reduce.
        numel = sum(p.numel() for p in model.parameters())
        buf = torch.ones(numel, device="cuda")
        for _ in range(5):
            dist.all_reduce(buf)
        torch.cuda.synchronize()
        ar = []
        for _ in range(20):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            dist.all_reduce(buf)
            e.record()
            e.synchronize()
            ar.append(s.elapsed_time(e))
        if rank == 0:
            times.sort()
            ms = statistics.median(times)
            ar_ms = statistics.median(ar)
            algbw = numel * 4 / (ar_ms / 1e3) / 1e9
            queue.put({"ms": ms, "p10_ms": times[len(times) // 10], "p90_ms": times[len(times) * 9 // 10],
                       "allreduce_ms": ar_ms, "allreduce_mb": numel * 4 / 2**20,
                       "busbw_gbps": algbw * 2 * (world - 1) / world if world > 1 else None,
                       "peak_mib": torch.cuda.max_memory_allocated() / 2**20})
    finally:
        dist.destroy_process_group()


def cmd_run(args):
    import torch
    import torch.multiprocessing as mp
    if os.environ.get("NCCL_NVLS_ENABLE") != "0":
        sys.exit("ddp_scaling.py: set NCCL_NVLS_ENABLE=0 (NVLink multicast stays off on these machines)")
    os.makedirs(args.out, exist_ok=True)
    available = torch.cuda.device_count()
    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip().splitlines()
    dev, drv = [s.strip() for s in smi[0].split(",")] if smi and "," in smi[0] else (torch.cuda.get_device_name(), "?")
    head = {"device": dev, "driver": drv, "date": datetime.date.today().isoformat(), "commit": args.commit,
            "torch": torch.__version__, "nccl": ".".join(map(str, torch.cuda.nccl.version()))}
    ctx = mp.get_context("spawn")
    for model in args.models.split(","):
        one = None
        for n in [int(g) for g in args.gpus.split(",")]:
            if n > available:
                print(f"ddp_scaling: {model} on {n} GPUs skipped: this machine has {available}", file=sys.stderr)
                continue
            args.model = model
            args.port += 1
            q = ctx.SimpleQueue()
            mp.start_processes(worker, args=(n, args, q), nprocs=n, join=True, start_method="spawn")
            r = q.get()
            ips = n * args.per_gpu_batch / (r["ms"] / 1e3)
            one = ips if n == 1 else one
            row = {"model": model, "engine": "torch-ddp", "precision": "bf16", "gpus": n,
                   "per_gpu_batch": args.per_gpu_batch, "img_size": args.img_size, "img_per_s": round(ips, 1),
                   "ms": round(r["ms"], 4), "p10_ms": round(r["p10_ms"], 4), "p90_ms": round(r["p90_ms"], 4),
                   "scaling": round(ips / one, 3) if one else None, "peak_mib": round(r["peak_mib"], 1),
                   "nccl_allreduce_mb": round(r["allreduce_mb"], 1), "nccl_allreduce_ms": round(r["allreduce_ms"], 4),
                   "nccl_busbw_gbps": round(r["busbw_gbps"], 1) if r["busbw_gbps"] else None}
            print(json.dumps(row), flush=True)
            with open(os.path.join(args.out, f"torch-ddp-{model}-{n}.json"), "w") as f:
                json.dump(dict(head, rows=[row]), f, indent=1)


def cmd_merge(args):
    rows, head = [], None
    for d in args.dirs:
        for path in sorted(glob.glob(os.path.join(d, "torch-ddp-*.json"))):
            with open(path) as f:
                j = json.load(f)
            head = head or {k: j[k] for k in ("device", "driver", "date", "commit")}
            rows += j["rows"]
        for path in sorted(glob.glob(os.path.join(d, "ours-scaling*.jsonl"))):
            with open(path) as f:
                rows += [json.loads(line) for line in f if line.startswith("{")]
    if head is None:
        sys.exit("merge: no torch-ddp-*.json in " + ", ".join(args.dirs))
    out = dict(head, rows=rows)
    os.makedirs(args.results, exist_ok=True)
    for name in ("scaling.json", f"{head['date']}-scaling.json"):
        with open(os.path.join(args.results, name), "w") as f:
            json.dump(out, f, indent=1)
    lines = [f"Device {head['device']}, driver {head['driver']}, {head['date']}, commit {head['commit']}.", "",
             "| model | engine | GPUs | per-GPU batch | img/s | ms | scaling | NCCL busbw GB/s |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in sorted(rows, key=lambda r: (r["model"], r["engine"], r["gpus"])):
        lines.append(f"| {r['model']} | {r['engine']} | {r['gpus']} | {r['per_gpu_batch']} | {r['img_per_s']:,.0f} | "
                     f"{r['ms']:.2f} | {r.get('scaling') or '—'} | {r.get('nccl_busbw_gbps') or '—'} |")
    with open(os.path.join(args.results, f"{head['date']}-scaling.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--models", default="femto")
    r.add_argument("--gpus", default="1,2,4,8")
    r.add_argument("--per-gpu-batch", type=int, default=128)
    r.add_argument("--img-size", type=int, default=224)
    r.add_argument("--warmup", type=int, default=10)
    r.add_argument("--reps", type=int, default=30)
    r.add_argument("--port", type=int, default=29511)
    r.add_argument("--commit", default=os.environ.get("BENCH_COMMIT", "unknown"))
    r.add_argument("--out", required=True)
    m = sub.add_parser("merge")
    m.add_argument("dirs", nargs="+")
    m.add_argument("--results", required=True)
    args = ap.parse_args()
    cmd_run(args) if args.cmd == "run" else cmd_merge(args)


if __name__ == "__main__":
    main()
