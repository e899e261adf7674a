# The side-by-side inference comparison: in ONE device call per model group, timm/PyTorch and our engine run the same
# MambaOut weights on the same inputs. For each model the Python side draws timm's initialisation (seeded), saves the
# state dict and a random input batch as safetensors, times torch eager, torch.compile (default mode) and, at batch 1,
# mode="reduce-overhead" (bf16 autocast + channels_last, as the targets were measured; f32 with TF32 off for matmuls
# and convolutions), keeps PyTorch's eager logits as references, then runs our InferenceTimer (Java) on the same files
# for each driver backend, which checks its logits against those and times CUDA-graph replays. torch._dynamo.reset()
# runs between models (dynamo's recompile limit would otherwise silently fall back to eager).
# Timing on both sides: CUDA events around one forward, warm-up first, median of many.
# Usage: python3 bench/python/inference_compare.py --models femto,tiny --out DIR --java JAVA --cp CLASSPATH [--commit C]
import argparse, datetime, json, os, statistics, subprocess, sys, time
import torch, timm
from safetensors.torch import save_file

import inference_table  # beside this file (Python puts the script's folder on the path): the Markdown table

WARMUP, REPS = 10, 50


def timed(fn, warmup=WARMUP, reps=REPS):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record(); fn(); e.record(); e.synchronize()
        times.append(s.elapsed_time(e))
    times.sort()
    return statistics.median(times), times[len(times) // 10], times[len(times) * 9 // 10]


def row(model, engine, precision, batch, ms, p10, p90, peak, extra=None):
    r = {"model": model, "engine": engine, "precision": precision, "batch": batch,
         "img_per_s": round(batch / (ms / 1e3), 1), "ms": round(ms, 4), "p10_ms": round(p10, 4),
         "p90_ms": round(p90, 4), "peak_mib": round(peak, 1)}
    if extra:
        r.update(extra)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="femto,tiny")
    ap.add_argument("--out", required=True)
    ap.add_argument("--java", required=True)
    ap.add_argument("--cp", required=True)
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--backends", default="panama,jcuda")
    ap.add_argument("--cases", default="bf16:256,f32:256,bf16:1", help="precision:batch for every model")
    ap.add_argument("--b1-reduce-overhead", default="femto,tiny")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    rows, log = [], open(os.path.join(args.out, "inference.log"), "a")
    cases = [(p, int(b)) for p, b in (c.split(":") for c in args.cases.split(","))]
    work = "/tmp/mambaout-bench"
    os.makedirs(work, exist_ok=True)

    def say(msg):
        print(msg, flush=True)
        log.write(msg + "\n"); log.flush()

    for name in args.models.split(","):
        torch._dynamo.reset()
        torch.manual_seed(0)
        model = timm.create_model("mambaout_" + name, pretrained=False).cuda().eval()
        weights = os.path.join(work, name + ".weights.safetensors")
        save_file({k: v.detach().float().contiguous().cpu() for k, v in model.state_dict().items()}, weights)
        maxb = max(b for _, b in cases)
        g = torch.Generator().manual_seed(1)
        x = torch.randn(maxb, 3, 224, 224, generator=g)
        bench = {"bench.input": x}
        xg = x.cuda()
        for precision, batch in cases:
            xb = xg[:batch].contiguous(memory_format=torch.channels_last)
            m = model.to(memory_format=torch.channels_last)
            amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16")

            def eager():
                with torch.no_grad(), amp:
                    return m(xb)
            torch.cuda.reset_peak_memory_stats()
            bench[f"bench.logits.{precision}.{batch}"] = eager().float().cpu()
            ms, p10, p90 = timed(eager)
            rows.append(row(name, "torch-eager", precision, batch, ms, p10, p90, torch.cuda.max_memory_allocated() / 2**20))
            say(json.dumps(rows[-1]))
            modes = ["default"] + (["reduce-overhead"] if batch == 1 and name in args.b1_reduce_overhead.split(",") else [])
            for mode in modes:
                torch._dynamo.reset()
                cm = torch.compile(m, mode=None if mode == "default" else mode)

                def compiled():
                    with torch.no_grad(), amp:
                        return cm(xb)
                t0 = time.time()
                compiled(); torch.cuda.synchronize()
                compile_s = time.time() - t0
                torch.cuda.reset_peak_memory_stats()
                ms, p10, p90 = timed(compiled)
                engine = "torch-compile" if mode == "default" else "torch-reduce-overhead"
                rows.append(row(name, engine, precision, batch, ms, p10, p90, torch.cuda.max_memory_allocated() / 2**20,
                                {"compile_s": round(compile_s, 1)}))
                say(json.dumps(rows[-1]))
                del cm
        bench_file = os.path.join(work, name + ".bench.safetensors")
        save_file({k: v.contiguous() for k, v in bench.items()}, bench_file)
        del model, xg
        torch.cuda.empty_cache()
        for backend in args.backends.split(","):
            cmd = [args.java, "--enable-native-access=ALL-UNNAMED", "-cp", args.cp, "dev.mambaout.bench.InferenceTimer",
                   name, weights, bench_file, backend] + [f"{p}:{b}" for p, b in cases]
            p = subprocess.run(cmd, capture_output=True, text=True)
            log.write(p.stderr)
            if p.returncode != 0:
                say(f"ours {name} {backend} FAILED rc={p.returncode}: {p.stderr[-3000:]}")
                continue
            for line in p.stdout.splitlines():
                if line.startswith("{"):
                    rows.append(json.loads(line))
                    say(line)

        write(args, rows)
    say(f"wrote {len(rows)} rows")


def write(args, rows):
    """Rewritten after every model, so a call cut short still returns what it measured."""
    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip()
    dev, drv = [s.strip() for s in smi.split(",")] if "," in smi else (torch.cuda.get_device_name(), "?")
    result = {"device": dev, "driver": drv, "date": datetime.date.today().isoformat(), "commit": args.commit,
              "torch": torch.__version__, "timm": timm.__version__, "rows": rows}
    tag = "-".join(args.models.split(","))
    with open(os.path.join(args.out, f"inference-{tag}.json"), "w") as f:
        json.dump(result, f, indent=1)
    try:  # the table is a convenience: a row it cannot format must not cost the measured JSON
        md = inference_table.table(result)
    except (KeyError, TypeError, ValueError) as e:
        md = f"no table: {e!r}\n"
    with open(os.path.join(args.out, f"inference-{tag}.md"), "w") as f:
        f.write(md)


if __name__ == "__main__":
    main()
