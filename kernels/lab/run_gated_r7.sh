#!/bin/bash
# Round 7 of the gated dwconv lab in one device call (H200, sm_90; ~2 minutes): three builds in parallel (erf_fast,
# v7b's erf, the mainline since its promotion; erff, the mainline of round 7; erf -> 1 = GELU as the identity),
# validation of each (FAIL lines and a count), then the v4 vs v7 tables. Run from the repository root.
#   bash kernels/lab/run_gated_r7.sh 2>&1 | tee "${OUT:-/tmp}/results-gated-r7.txt"
set -u
F="-O3 -lineinfo -std=c++17 -arch=sm_90"
L=kernels/lab/gated_dwconv_lab.cu
echo "# $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1), $(date -u +%F), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'): $0"
nvcc $F -o /tmp/gl $L & nvcc $F -DGD_ERF=1 -o /tmp/gl_fe $L & nvcc $F -DGD_ERF=2 -o /tmp/gl_id $L & wait
for b in gl gl_fe gl_id; do echo "## $b --check"; /tmp/$b --check | grep -v "^GD\|^device"; done
echo "## gl --time-v7 (GELU, erf_fast)"; /tmp/gl --time-v7
echo "## gl --time-v7-silu";             /tmp/gl --time-v7-silu
echo "## gl_fe --time-v7 (erff)";       /tmp/gl_fe --time-v7
echo "## gl_id --time-v7 (identity)";    /tmp/gl_id --time-v7
