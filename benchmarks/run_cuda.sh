#!/usr/bin/env bash
# The same side-by-side benchmark on one CUDA GPU (prepared; NOT run: no GPU was available when it was written).
# Ours (fp32 / bf16 / int8, eager and compiled: compile=True uses CUDA graphs, mode="reduce-overhead") vs
# transformers MusicGen at the issue's shape; audiocraft too when run from its side venv. ~5 min on an H100.
#   bash benchmarks/run_cuda.sh [extra bench_vs_peers.py flags]
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}src" HF_HUB_OFFLINE=1
OUT="${OUT:-.}"
nvidia-smi --query-gpu=name,memory.total --format=csv || true
python benchmarks/bench_vs_peers.py --device cuda --threads 4 --repeats 5 \
  --sweep-hidden 1024 --sweep-layers 24 --sweep-batches 1 4 16 64 \
  --json "$OUT/bench_vs_peers_cuda.json" "$@" 2>&1 | tee "$OUT/bench_vs_peers_cuda.log"
