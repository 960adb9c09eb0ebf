#!/usr/bin/env bash
# One prepared run on a CUDA machine: the CUDA tests, then the full-shape benchmark.
# Usage: bash benchmarks/gpu_check.sh [OUTDIR]   (a few minutes on an H100; needs ~20 GB disk)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-results}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -m pytest -q -p no:pytestqt -p no:cacheprovider \
    tests/engine/test_speed_paths.py tests/engine/test_parity.py 2>&1 | tee "$out/tests.log"
python3 -m benchmarks.bench_step --device cuda --shape full --modes bf16,int8 --peers bf16 --seconds 20 \
    --dir /tmp/voxcap-full 2>&1 | grep -v -i warning | tee "$out/bench.txt"
