#!/usr/bin/env bash
# The one command for a GPU machine (see ../shared/GPU.md): install, run every GPU test,
# run the GPU benchmarks. Logs and results go to ${OUT:-benchmarks/results}.
#   bash benchmarks/gpu_all.sh            (QUICK=1 for fewer sizes and repeats)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${OUT:-benchmarks/results}
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1 HYPOTHESIS_PROFILE=ci
quick=${QUICK:+--quick}

pip install -q --no-deps --no-build-isolation -e . 2>&1 | tail -2
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT_DIR/device.txt"
python -c "import cupy, numpy, numba; print('cupy', cupy.__version__, 'numpy', numpy.__version__, 'numba', numba.__version__)" | tee -a "$OUT_DIR/device.txt"

timeout ${TEST_TIMEOUT:-300} python -m pytest -m gpu -q -p no:cacheprovider --maxfail=40 \
    --junitxml="$OUT_DIR/gpu-tests.xml" ${TESTS:-tests} > "$OUT_DIR/gpu-tests.log" 2>&1
echo "gpu tests exit: $?"; grep -E "^(FAILED|ERROR)" "$OUT_DIR/gpu-tests.log" | head -40
tail -n 3 "$OUT_DIR/gpu-tests.log"

for bench in benchmarks/gpu_kernels.py benchmarks/gpu_training.py; do
  [ -f "$bench" ] || continue
  echo "== $bench"
  timeout ${BENCH_TIMEOUT:-240} python "$bench" --out "$OUT_DIR" $quick 2>&1 | tail -n 60
done
