#!/bin/bash
# Every kernel lab in one device call (H200, sm_90), for a session that wants the whole picture: builds in parallel,
# then each lab (validation first, then its tables) with its own time limit, each into $OUT/<lab>.txt with the
# device, driver, date and commit on top. Run from the repository root:
#   OUT=$OUT BENCH_COMMIT=<hash> bash kernels/lab/run_labs.sh [lab ...]     (default: all below)
# About 4 minutes for all; name labs to run fewer (e.g. `stem wgrad gated_dwconv_bwd`).
set -u
out=${OUT:-/tmp/labs}; mkdir -p "$out"
labs=("$@")
[ ${#labs[@]} -eq 0 ] && labs=(layernorm gated_dwconv gated_dwconv_bwd stem wgrad mlp im2col elementwise head adamw)
F="-O3 -lineinfo -std=c++17 -arch=sm_90"
head="# $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1), $(date -u +%F), commit ${BENCH_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo '?')}"
for l in "${labs[@]}"; do nvcc $F -o "/tmp/lab_$l" "kernels/lab/${l}_lab.cu" > "$out/build-$l.txt" 2>&1 & done
wait
for l in "${labs[@]}"; do
  if [ ! -x "/tmp/lab_$l" ]; then echo "## $l: build failed (build-$l.txt)"; continue; fi
  (echo "$head: kernels/lab/${l}_lab.cu"; timeout "${LAB_TIMEOUT:-90}" "/tmp/lab_$l") > "$out/$l.txt" 2>&1
  echo "## $l: rc $? ($(grep -m1 -i 'validation' "$out/$l.txt" || echo 'no validation line'))"
done
