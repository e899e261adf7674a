#!/usr/bin/env bash
# Compiles each src/main/cuda/*.cu into one fatbin (SASS per supported architecture + PTX for the newest, so newer
# GPUs can JIT) and writes an index that the Java side reads. Called by Maven in generate-resources.
# Usage: build-kernels.sh SRC_DIR OUT_DIR [NVCC]
#   NVCC: explicit compiler (Maven's -Dnvcc=...); else $NVCC, then PATH, then /usr/local/cuda/bin/nvcc.
# Without nvcc the build stays green: the index says so, and Kernels.module(...) throws a clear error at run time.
set -euo pipefail
src=$1 out=$2 explicit=${3:-}
pkg="$out/dev/mambaout/kernels"
mkdir -p "$pkg"
index="$pkg/kernels.properties"

nvcc=""
for cand in "$explicit" "${NVCC:-}" "$(command -v nvcc || true)" /usr/local/cuda/bin/nvcc; do
  if [ -n "$cand" ] && [ -x "$cand" ]; then nvcc=$cand; break; fi
done
if [ -z "$nvcc" ]; then
  printf 'status=not-built\nreason=nvcc was not found when this jar was built (looked at -Dnvcc, $NVCC, PATH, /usr/local/cuda/bin/nvcc)\n' > "$index"
  echo "[kernels] nvcc not found (-Dnvcc, \$NVCC, PATH, /usr/local/cuda/bin): CUDA kernels NOT built; the jar will report this when a kernel is loaded"
  exit 0
fi

# SASS for Ampere (sm_80) and Hopper (sm_90); PTX of compute_90 for anything newer. sm_80 SASS runs on every 8.x GPU
# (sm_86, sm_89: same major version), so separate sm_86/sm_89 SASS would only re-tune occupancy, at 40% more bytes in
# a jar that must fit the 64 MiB GPU bundle. An architecture this nvcc no longer knows is dropped with a note rather
# than failing the build.
known=$("$nvcc" --list-gpu-arch 2>/dev/null | tr '\n' ' ')
gencode=() archs=()
for a in 80 90; do
  if [[ " $known " == *" compute_$a "* ]]; then
    code="sm_$a"; [ "$a" = 90 ] && code="[sm_90,compute_90]"
    gencode+=("-gencode" "arch=compute_$a,code=$code"); archs+=("sm_$a")
  else
    echo "[kernels] $nvcc does not support sm_$a: dropped"
  fi
done
[ ${#archs[@]} -gt 0 ] || { echo "[kernels] $nvcc supports none of sm_80/90" >&2; exit 1; }

version=$("$nvcc" --version | sed -n 's/.*release \([0-9.]*\), \(V[0-9.]*\).*/\1 \2/p')
headers=("$src"/*.cuh)
modules=()
built=0
for cu in "$src"/*.cu; do
  name=$(basename "$cu" .cu)
  modules+=("$name")
  fatbin="$pkg/$name.fatbin"
  stale=0
  [ -f "$fatbin" ] || stale=1
  for dep in "$cu" "${headers[@]}"; do [ -e "$dep" ] && [ "$dep" -nt "$fatbin" ] && stale=1; done
  [ "$stale" = 1 ] || continue
  # --threads 0: one nvcc thread per -gencode, so the four architectures compile in parallel.
  "$nvcc" -fatbin -O3 -lineinfo -std=c++17 --threads 0 "${gencode[@]}" -I "$src" -o "$fatbin.tmp" "$cu"
  mv "$fatbin.tmp" "$fatbin"
  built=$((built + 1))
done
{
  echo "status=built"
  echo "nvcc=$version"
  echo "archs=$(IFS=,; echo "${archs[*]}")"
  echo "ptx=compute_90"
  echo "modules=$(IFS=,; echo "${modules[*]}")"
} > "$index.tmp"
mv "$index.tmp" "$index"
echo "[kernels] nvcc $version: ${#modules[@]} fatbins (${archs[*]} + compute_90 PTX), $built rebuilt"
