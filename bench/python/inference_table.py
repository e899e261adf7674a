"""Results of one comparison call (inference_compare.py's inference-<models>.json files) into bench/results:
inference.json (the rows of all given files), a dated copy and a Markdown table. Needs only the standard library,
so it runs on the dev machine after the device call's files are fetched.

    python3 bench/python/inference_table.py OUT/inference-femto-tiny.json OUT/inference-small-base.json \
        --results bench/results [--note "what was not run"]
"""
import argparse
import json
import os
import re

# The issue's goals: batch-256 img/s against torch.compile, batch-1 ms against reduce-overhead.
GOAL_B256 = {"femto": 2.0, "tiny": 2.0, "small": 1.5, "base": 1.5}
GOAL_B1_MS = {"femto": 0.25, "tiny": 0.35}


def merge(results):
    """One result from several files of the same call: their header must agree (device, driver, commit)."""
    head = {k: v for k, v in results[0].items() if k != "rows"}
    rows = []
    for r in results:
        for k in ("device", "driver", "commit"):
            if r.get(k) != head.get(k):
                raise SystemExit(f"files disagree on {k}: {head.get(k)!r} vs {r.get(k)!r} (not one device call?)")
        rows += r["rows"]
    return dict(head, rows=rows)


def find(rows, model, engine, precision, batch, backend=None):
    for r in rows:
        if (r["model"], r["engine"], r["precision"], r["batch"]) == (model, engine, precision, batch) \
                and (backend is None or r.get("backend") == backend):
            return r
    return None


def table(result):
    """Markdown: a row per (model, precision, batch, backend of ours), PyTorch's engines beside ours."""
    rows = result["rows"]
    out = [f"Device {result['device']}, driver {result['driver']}, {result['date']}, commit {result['commit']}; "
           f"torch {result.get('torch', '?')}, timm {result.get('timm', '?')}.", "",
           "| model | precision | batch | backend | torch eager img/s | torch.compile img/s | reduce-overhead ms "
           "| ours img/s | ours ms | ours / torch | goal | peak MiB ours / torch | err |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for o in rows:
        if o["engine"] != "ours":
            continue
        m, p, b = o["model"], o["precision"], o["batch"]
        eager, comp = find(rows, m, "torch-eager", p, b), find(rows, m, "torch-compile", p, b)
        ro = find(rows, m, "torch-reduce-overhead", p, b)
        if b == 1 and ro:
            ratio, ref = f"{ro['ms'] / o['ms']:.2f}x (reduce-overhead)", ro
            goal = f"<= {GOAL_B1_MS[m]} ms" if m in GOAL_B1_MS and p == "bf16" else "—"
        elif comp:
            ratio, ref = f"{o['img_per_s'] / comp['img_per_s']:.2f}x (compile)", comp
            goal = f">= {GOAL_B256[m] * comp['img_per_s']:,.0f} img/s ({GOAL_B256[m]}x)" \
                if m in GOAL_B256 and p == "bf16" and b == 256 else "—"
        else:
            ratio, ref, goal = "—", None, "—"
        cell = lambda r, k, f: format(r[k], f) if r else "—"
        out.append(f"| {m} | {p} | {b} | {o.get('backend', '?')} | {cell(eager, 'img_per_s', ',.0f')} "
                   f"| {cell(comp, 'img_per_s', ',.0f')} | {cell(ro, 'ms', '.4f')} | {o['img_per_s']:,.0f} "
                   f"| {o['ms']:.4f} | {ratio} | {goal} | {o['peak_mib']:,.0f} / {cell(ref, 'peak_mib', ',.0f')} "
                   f"| {o.get('logits_rel_err_vs_torch', '—')} |")
    if result.get("note"):
        out += ["", result["note"]]
    return "\n".join(out) + "\n"


def slug(device):
    return re.sub(r"[^a-z0-9]+", "-", device.lower().replace("nvidia", "")).strip("-")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--results", default="bench/results")
    ap.add_argument("--note", default=None, help="what the call did not run, recorded with the rows")
    args = ap.parse_args()
    result = merge([json.load(open(f)) for f in args.files])
    if args.note:
        result["note"] = args.note
    base = f"{result['date']}-{slug(result['device'])}-inference"
    for name in ("inference.json", base + ".json"):
        with open(os.path.join(args.results, name), "w") as f:
            json.dump(result, f, indent=1)
    with open(os.path.join(args.results, base + ".table.md"), "w") as f:
        f.write(table(result))
    print(f"wrote inference.json, {base}.json and {base}.table.md under {args.results} ({len(result['rows'])} rows)")


if __name__ == "__main__":
    main()
