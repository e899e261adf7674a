"""The PyTorch side of the training comparison, run in the same device call as our trainer (scripts/gpu-train-compare),
and the merge of both sides into bench/results/training.json.

  throughput  per model, torch eager and torch.compile: one training step (bf16 autocast forward, cross-entropy,
              backward, fused AdamW step, zero_grad) on a fixed random batch, channels_last; CUDA events around each
              step, warm-up first, median / p10 / p90 of the timed steps; peak device memory over the timed steps.
              torch._dynamo.reset() between models. One JSON file per (run, model) in --out.
  fmnist      the accuracy recipe: timm mambaout_femto(in_chans=1, num_classes=10) on Fashion-MNIST (28x28 zero-padded
              to 32x32, normalised 0.2860 / 0.3530), batch 256 (full batches, like timm's drop_last), AdamW lr 2e-3
              wd 0.05 (no decay on tensors of rank < 2 and biases: timm's param_groups_weight_decay), OneCycleLR (10%
              warmup, cos, div 25, final div 1e4, betas fixed as our AdamW: no momentum cycling), bf16 autocast, no
              augmentation, label smoothing 0.1 (our trainer's default), 5 epochs; per-epoch test accuracy, training
              seconds and img/s. The data sits on the GPU (normalised and padded once), so the loop measures training,
              not a data loader. One JSON file per engine in --out.
  merge       stdlib only (runs on the dev machine after the call): the torch files above and our engine's files (see
              bench/README.md, "Training comparison") into training.json, a dated copy and a Markdown table.

    python3 bench/python/train_compare.py throughput --models femto,tiny,small,base --batch 128 --img-size 224 --out DIR
    python3 bench/python/train_compare.py throughput --models femto --batch 256 --img-size 32 --in-chans 1 \
        --num-classes 10 --tag fmnist32 --out DIR
    python3 bench/python/train_compare.py fmnist --data DIR_WITH_IDX --engines eager,compile --out DIR
    python3 bench/python/train_compare.py merge DIR... [--ours-metrics metrics.jsonl] --results bench/results
"""
import argparse
import datetime
import glob
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import time

MEAN, STD = 0.2860, 0.3530


# ---------------------------------------------------------------------------------------------------------- device side

def fail(msg):
    print("train_compare: " + msg, file=sys.stderr)
    sys.exit(2)


def need_cuda():
    """Imports torch and timm and fails with one clear line (exit 2) where there is no CUDA device."""
    try:
        import torch  # noqa: F401
        import timm  # noqa: F401
    except ImportError as e:
        fail(f"{e}: this subcommand runs on the GPU machine (torch + timm)")
    import torch
    if not torch.cuda.is_available():
        fail("no CUDA device visible to torch (torch.cuda.is_available() is False): this subcommand needs the GPU "
             "machine; only 'merge' runs without one")
    return torch


def header(torch, commit):
    import timm
    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip().splitlines()
    smi = smi[0] if smi else ""
    dev, drv = [s.strip() for s in smi.split(",")] if "," in smi else (torch.cuda.get_device_name(), "?")
    return {"device": dev, "driver": drv, "date": datetime.date.today().isoformat(), "commit": commit,
            "torch": torch.__version__, "timm": timm.__version__}


def param_groups(model, weight_decay):
    """timm's param_groups_weight_decay: no decay on 1-d tensors (norms, LayerScale), biases, no_weight_decay()."""
    skip = set(model.no_weight_decay()) if hasattr(model, "no_weight_decay") else set()
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or name.endswith(".bias") or name in skip else decay).append(p)
    return [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": weight_decay}]


def adamw(torch, model, lr, weight_decay):
    """Fused AdamW where this torch has it (CUDA, 2.x), else foreach; returns (optimizer, its description)."""
    groups = param_groups(model, weight_decay)
    try:
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8, fused=True), "AdamW fused"
    except (TypeError, RuntimeError, ValueError):
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8, foreach=True), "AdamW foreach"


def cuda_times(torch, fn, warmup, reps):
    """CUDA-event milliseconds of each of reps calls after warmup calls: (median, p10, p90, all sorted)."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
    for s, e in ev:
        s.record(); fn(); e.record()
    torch.cuda.synchronize()
    t = sorted(s.elapsed_time(e) for s, e in ev)
    return statistics.median(t), t[len(t) // 10], t[min(len(t) - 1, len(t) * 9 // 10)], t


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def cmd_throughput(args):
    torch = need_cuda()
    import timm
    import torch.nn.functional as F
    os.makedirs(args.out, exist_ok=True)
    head = header(torch, args.commit)
    for name in args.models.split(","):
        for engine in args.engines.split(","):
            torch._dynamo.reset()
            torch.cuda.empty_cache()
            torch.manual_seed(0)
            model = timm.create_model("mambaout_" + name, pretrained=False, in_chans=args.in_chans,
                                      num_classes=args.num_classes).cuda().train()
            model = model.to(memory_format=torch.channels_last)
            opt, opt_name = adamw(torch, model, args.lr, args.weight_decay)
            g = torch.Generator(device="cuda").manual_seed(1)
            x = torch.randn(args.batch, args.in_chans, args.img_size, args.img_size, device="cuda", generator=g)
            x = x.contiguous(memory_format=torch.channels_last)
            y = torch.randint(0, args.num_classes, (args.batch,), device="cuda", generator=g)
            fwd = model if engine == "eager" else torch.compile(model)

            def step():
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    loss = F.cross_entropy(fwd(x), y, label_smoothing=args.label_smoothing)
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)

            try:
                t0 = time.time()
                step(); torch.cuda.synchronize()
                first_s = time.time() - t0  # includes compilation for torch.compile
                torch.cuda.reset_peak_memory_stats()
                ms, p10, p90, _ = cuda_times(torch, step, args.warmup, args.reps)
            except Exception as e:  # one model's failure (out of memory, a compile error) must not cost the others
                print(f"throughput {name} {engine} FAILED: {e!r}"[:2000], file=sys.stderr, flush=True)
                del model, opt, fwd, x, y
                continue
            peak = torch.cuda.max_memory_allocated() / 2**20
            row = {"model": name, "engine": "torch-" + engine, "backend": "torch", "precision": "bf16", "mode": "train",
                   "batch": args.batch, "img_size": args.img_size, "in_chans": args.in_chans,
                   "num_classes": args.num_classes, "img_per_s": round(args.batch / (ms / 1e3), 1),
                   "ms": round(ms, 4), "p10_ms": round(p10, 4), "p90_ms": round(p90, 4), "peak_mib": round(peak, 1),
                   "peak_reserved_mib": round(torch.cuda.max_memory_reserved() / 2**20, 1),
                   "first_step_s": round(first_s, 1), "warmup": args.warmup, "reps": args.reps, "optimizer": opt_name,
                   "label_smoothing": args.label_smoothing}
            print(json.dumps(row), flush=True)
            write_json(os.path.join(args.out, f"torch-throughput-{args.tag}-{name}-{engine}.json"),
                       dict(head, kind="throughput", rows=[row]))
            del model, opt, fwd, x, y


def read_idx(path):
    """An IDX file (raw or gzip, by its magic) as (dims, bytes), with the header checked against the data length."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file (magic {data[:4].hex()})")
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    body = data[4 + 4 * rank:]
    n = 1
    for d in dims:
        n *= d
    if len(body) != n:
        raise SystemExit(f"{path}: header declares {dims} ({n} bytes), file holds {len(body)}")
    return dims, body


def find_idx(folder, base):
    for n in (base + ".gz", base):
        p = os.path.join(folder, n)
        if os.path.exists(p):
            return p
    raise SystemExit(f"{folder}: no {base}.gz nor {base} (Fashion-MNIST's IDX files: Debian's dataset-fashion-mnist, "
                     f"or scripts/gpu-bundle with FMNIST=1 puts them under DIR/fashion-mnist)")


def load_split(torch, folder, prefix, pad):
    import torch.nn.functional as F
    dims, img = read_idx(find_idx(folder, prefix + "-images-idx3-ubyte"))
    ldims, lab = read_idx(find_idx(folder, prefix + "-labels-idx1-ubyte"))
    if ldims[0] != dims[0]:
        raise SystemExit(f"{folder}: {prefix}: {ldims[0]} labels for {dims[0]} images")
    x = torch.frombuffer(bytearray(img), dtype=torch.uint8).view(dims[0], 1, dims[1], dims[2]).cuda().float() / 255
    x = F.pad(x, (pad, pad, pad, pad), value=0.0)  # torchvision Pad (fill 0) before ToTensor/Normalize
    x = ((x - MEAN) / STD).contiguous(memory_format=torch.channels_last)
    y = torch.frombuffer(bytearray(lab), dtype=torch.uint8).long().cuda()
    return x, y


def cmd_fmnist(args):
    torch = need_cuda()
    import timm
    import torch.nn.functional as F
    os.makedirs(args.out, exist_ok=True)
    head = header(torch, args.commit)
    pad = (args.img_size - 28) // 2
    if pad < 0 or 28 + 2 * pad != args.img_size:
        raise SystemExit(f"--img-size {args.img_size}: must be 28 + an even padding")
    xtr, ytr = load_split(torch, args.data, "train", pad)
    xte, yte = load_split(torch, args.data, "t10k", pad)
    if args.limit_train:
        xtr, ytr = xtr[:args.limit_train], ytr[:args.limit_train]
    if args.limit_test:
        xte, yte = xte[:args.limit_test], yte[:args.limit_test]
    steps_per_epoch = len(ytr) // args.batch
    total = steps_per_epoch * args.epochs
    if steps_per_epoch < 1:
        raise SystemExit(f"{len(ytr)} training images make no full batch of {args.batch}")
    print(f"fmnist: train {tuple(xtr.shape)}, test {tuple(xte.shape)}, {args.epochs} epochs x {steps_per_epoch} steps",
          flush=True)
    for engine in args.engines.split(","):
        torch._dynamo.reset()
        torch.cuda.empty_cache()
        torch.manual_seed(args.seed)
        model = timm.create_model("mambaout_femto", pretrained=False, in_chans=1, num_classes=10).cuda()
        model = model.to(memory_format=torch.channels_last)
        opt, opt_name = adamw(torch, model, args.lr, args.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=args.warmup_pct,
                                                    anneal_strategy="cos", div_factor=25.0, final_div_factor=1e4,
                                                    cycle_momentum=args.cycle_momentum)
        fwd = model if engine == "eager" else torch.compile(model)

        def step(xb, yb):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = F.cross_entropy(fwd(xb), yb, label_smoothing=args.label_smoothing)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            sched.step()
            return loss.detach()

        def evaluate():
            model.eval()
            right, loss_sum = 0, 0.0
            with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
                for i in range(0, len(yte), args.eval_batch):
                    logits = fwd(xte[i:i + args.eval_batch]).float()
                    yb = yte[i:i + args.eval_batch]
                    loss_sum += F.cross_entropy(logits, yb, reduction="sum").item()
                    right += (logits.argmax(1) == yb).sum().item()
            model.train()
            return right / len(yte), loss_sum / len(yte)

        res = {"engine": "torch-" + engine, "backend": "torch", "model": "femto", "epochs": args.epochs,
               "batch": args.batch, "img_size": args.img_size, "optimizer": opt_name,
               "recipe": {"lr": args.lr, "weight_decay": args.weight_decay, "schedule": "onecycle",
                          "warmup_pct": args.warmup_pct, "cycle_momentum": args.cycle_momentum,
                          "label_smoothing": args.label_smoothing, "precision": "bf16", "augmentation": "none",
                          "mean": MEAN, "std": STD, "seed": args.seed, "train_images": len(ytr),
                          "test_images": len(yte)},
               "test_accuracy": [], "test_loss": [], "train_loss": [], "seconds_per_epoch": [], "img_per_s": [],
               "eval_seconds": []}
        torch.cuda.reset_peak_memory_stats()
        model.train()
        first_step_s = None
        for epoch in range(args.epochs):
            perm = torch.randperm(len(ytr), generator=torch.Generator().manual_seed(args.seed * 1000 + epoch)).cuda()
            losses = []
            torch.cuda.synchronize()
            t0 = time.time()
            for k in range(steps_per_epoch):
                idx = perm[k * args.batch:(k + 1) * args.batch]
                losses.append(step(xtr[idx].contiguous(memory_format=torch.channels_last), ytr[idx]))
                if first_step_s is None:
                    torch.cuda.synchronize()
                    first_step_s = time.time() - t0
            torch.cuda.synchronize()
            secs = time.time() - t0
            t1 = time.time()
            acc, tloss = evaluate()
            res["eval_seconds"].append(round(time.time() - t1, 2))
            res["test_accuracy"].append(round(acc, 5))
            res["test_loss"].append(round(tloss, 5))
            res["train_loss"].append(round(torch.stack(losses).float().mean().item(), 5))
            res["seconds_per_epoch"].append(round(secs, 2))
            res["img_per_s"].append(round(steps_per_epoch * args.batch / secs, 1))
            print(f"fmnist {engine} epoch {epoch + 1}/{args.epochs}: train loss {res['train_loss'][-1]:.4f}, "
                  f"test acc {100 * acc:.2f}%, {secs:.1f} s, {res['img_per_s'][-1]:,.0f} img/s", flush=True)
            res["epochs_done"] = epoch + 1  # < epochs where the run was cut short
            res["first_step_s"] = round(first_step_s, 1)  # torch.compile: compilation, inside epoch 1's seconds
            res["peak_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
            write_json(os.path.join(args.out, f"torch-fmnist-{engine}.json"), dict(head, kind="fmnist", accuracy=res))
        del model, opt, fwd


# ------------------------------------------------------------------------------------------------------------- merge

def load_any(path):
    """A .json object, or .jsonl lines (each one a row object)."""
    with open(path) as f:
        text = f.read()
    if path.endswith(".jsonl"):
        return {"rows": [json.loads(l) for l in text.splitlines() if l.strip().startswith("{")]}
    return json.loads(text)


def ours_from_metrics(path, batch):
    """Our Trainer's metrics.jsonl (its "epoch" lines) as an accuracy record. seconds_per_epoch is the training time
    (epoch images / the epoch's img/s: no evaluation, as on the torch side); wall_seconds is the trainer's own clock."""
    epochs = [json.loads(l) for l in open(path) if '"kind":"epoch"' in l.replace(" ", "")]
    if not epochs:
        raise SystemExit(f"{path}: no epoch lines")
    res = {"engine": "ours", "epochs": len(epochs), "batch": batch, "test_accuracy": [], "test_loss": [],
           "train_loss": [], "seconds_per_epoch": [], "img_per_s": [], "wall_seconds": [], "source": path}
    prev = 0
    for e in epochs:
        res["test_accuracy"].append(e.get("test_accuracy"))
        res["test_loss"].append(e.get("test_loss"))
        res["train_loss"].append(e.get("loss"))
        res["img_per_s"].append(round(e["img_per_s"], 1))
        res["seconds_per_epoch"].append(round((e["step"] - prev) * batch / e["img_per_s"], 2))
        res["wall_seconds"].append(round(e["seconds"], 2))
        prev = e["step"]
    return res


def md_table(result):
    rows = result["rows"]
    out = [f"Device {result['device']}, driver {result['driver']}, {result['date']}, commit {result['commit']}; "
           f"torch {result.get('torch', '?')}, timm {result.get('timm', '?')}. Training step: bf16, AdamW, "
           f"CUDA-event median.", "",
           "| model | input | batch | torch eager img/s | torch.compile img/s | ours img/s (backend) | ours / compile "
           "| peak MiB eager / compile / ours |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    keys = []
    for r in rows:
        k = (r["model"], r.get("in_chans", 3), r.get("img_size", 224), r["batch"])
        if k not in keys:
            keys.append(k)
    for k in keys:
        same = [r for r in rows if (r["model"], r.get("in_chans", 3), r.get("img_size", 224), r["batch"]) == k]
        pick = lambda e: next((r for r in same if r["engine"] == e), None)
        eager, comp = pick("torch-eager"), pick("torch-compile")
        ours = [r for r in same if r["engine"] == "ours"]
        fmt = lambda r: f"{r['img_per_s']:,.0f}" if r else "—"
        peak = lambda r: f"{r['peak_mib']:,.0f}" if r and r.get("peak_mib") is not None else "—"
        o_cell = ", ".join(f"{r['img_per_s']:,.0f} ({r.get('backend', '?')})" for r in ours) or "—"
        ratio = ", ".join(f"{r['img_per_s'] / comp['img_per_s']:.2f}x" for r in ours) if comp and ours else "—"
        out.append(f"| {k[0]} | {k[1]}x{k[2]}x{k[2]} | {k[3]} | {fmt(eager)} | {fmt(comp)} | {o_cell} | {ratio} "
                   f"| {peak(eager)} / {peak(comp)} / {', '.join(peak(r) for r in ours) or '—'} |")
    acc = result.get("accuracy") or {}
    if acc:
        out += ["", "Fashion-MNIST, mambaout_femto (1 channel, 10 classes, 32x32), batch 256, 5-epoch recipe:", "",
                "| engine | epochs | test accuracy per epoch | final | s/epoch (training) | img/s per epoch |",
                "| --- | --- | --- | --- | --- | --- |"]
        for eng, a in acc.items():
            ta = [x for x in a.get("test_accuracy", []) if x is not None]
            out.append(f"| {eng} | {a.get('epochs_done', a.get('epochs'))} | {', '.join(f'{100 * x:.2f}' for x in ta)} "
                       f"| {100 * ta[-1]:.2f}% | {', '.join(f'{s:.1f}' for s in a.get('seconds_per_epoch', []))} "
                       f"| {', '.join(f'{x:,.0f}' for x in a.get('img_per_s', []))} |" if ta else f"| {eng} | — | — | — | — | — |")
    if result.get("note"):
        out += ["", result["note"]]
    return "\n".join(out) + "\n"


def slug(device):
    return re.sub(r"[^a-z0-9]+", "-", device.lower().replace("nvidia", "")).strip("-")


def cmd_merge(args):
    files = []
    for p in args.inputs:
        files += sorted(glob.glob(os.path.join(p, "*.json")) + glob.glob(os.path.join(p, "*.jsonl"))) \
            if os.path.isdir(p) else [p]
    # training.json and dated copies are outputs; *metrics.jsonl are trainer logs (--ours-metrics reads them)
    files = [f for f in files if not f.endswith(".tmp") and not os.path.basename(f).endswith("metrics.jsonl")
             and not re.search(r"(^|-)training\.json$", os.path.basename(f))]
    head, rows, accuracy = None, [], {}
    for f in files:
        d = load_any(f)
        if not isinstance(d, dict) or not ("rows" in d or "accuracy" in d):
            print(f"merge: skipping {f} (neither rows nor accuracy)", file=sys.stderr)
            continue
        if "device" in d:
            h = {k: d[k] for k in ("device", "driver", "commit") if k in d}
            if head is None:
                head = {k: v for k, v in d.items() if k not in ("rows", "accuracy", "kind")}
            else:
                for k, v in h.items():
                    if head.get(k) != v:
                        raise SystemExit(f"{f} disagrees on {k}: {head.get(k)!r} vs {v!r} (not one device call?)")
        for r in d.get("rows", []):
            r.setdefault("mode", "train")
            if r["mode"] == "train":
                rows.append(r)
        if "accuracy" in d:
            a = d["accuracy"]
            accuracy[a.get("engine", os.path.basename(f))] = a
    if args.ours_metrics:
        accuracy["ours"] = ours_from_metrics(args.ours_metrics, args.ours_batch)
    if head is None:
        raise SystemExit("merge: no file with a device header among " + ", ".join(files))
    order = {"torch-eager": 0, "torch-compile": 1, "ours": 2}
    accuracy = dict(sorted(accuracy.items(), key=lambda kv: order.get(kv[0], 9)))
    result = dict(head, rows=rows, accuracy=accuracy)
    if args.note:
        result["note"] = args.note
    os.makedirs(args.results, exist_ok=True)
    base = f"{result['date']}-{slug(result['device'])}-training"
    for name in ("training.json", base + ".json"):
        write_json(os.path.join(args.results, name), result)
    with open(os.path.join(args.results, base + ".md"), "w") as f:
        f.write(md_table(result))
    print(md_table(result))
    print(f"wrote training.json, {base}.json and {base}.md under {args.results} ({len(rows)} rows, "
          f"accuracy: {', '.join(accuracy) or 'none'})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", required=True, help="folder for the JSON files")
    common.add_argument("--commit", default=os.environ.get("BENCH_COMMIT", "unknown"))
    common.add_argument("--lr", type=float, default=2e-3)
    common.add_argument("--weight-decay", type=float, default=0.05)
    common.add_argument("--label-smoothing", type=float, default=0.1)
    t = sub.add_parser("throughput", parents=[common])
    t.add_argument("--models", default="femto,tiny,small,base")
    t.add_argument("--engines", default="eager,compile")
    t.add_argument("--batch", type=int, default=128)
    t.add_argument("--img-size", type=int, default=224)
    t.add_argument("--in-chans", type=int, default=3)
    t.add_argument("--num-classes", type=int, default=1000)
    t.add_argument("--warmup", type=int, default=10)
    t.add_argument("--reps", type=int, default=30)
    t.add_argument("--tag", default="in224")
    f = sub.add_parser("fmnist", parents=[common])
    f.add_argument("--data", required=True, help="folder with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]")
    f.add_argument("--engines", default="eager,compile")
    f.add_argument("--epochs", type=int, default=5)
    f.add_argument("--batch", type=int, default=256)
    f.add_argument("--eval-batch", type=int, default=1000, help="divides 10,000: one shape, no recompilation")
    f.add_argument("--img-size", type=int, default=32)
    f.add_argument("--warmup-pct", type=float, default=0.1)
    f.add_argument("--cycle-momentum", action="store_true", help="OneCycleLR's default beta1 cycling (ours: off)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--limit-train", type=int, default=0)
    f.add_argument("--limit-test", type=int, default=0)
    m = sub.add_parser("merge")
    m.add_argument("inputs", nargs="+", help="folders or files: torch-*.json, ours-*.json / .jsonl")
    m.add_argument("--ours-metrics", help="our trainer's metrics.jsonl of the Fashion-MNIST run (accuracy 'ours')")
    m.add_argument("--ours-batch", type=int, default=256)
    m.add_argument("--results", default="bench/results")
    m.add_argument("--note", default=None)
    args = ap.parse_args()
    {"throughput": cmd_throughput, "fmnist": cmd_fmnist, "merge": cmd_merge}[args.cmd](args)


if __name__ == "__main__":
    main()
