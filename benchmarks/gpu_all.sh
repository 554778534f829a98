#!/usr/bin/env bash
# The one command for a GPU machine (see ../shared/GPU.md): install, run every GPU test,
# run the GPU benchmarks. Logs and results go to ${OUT:-benchmarks/results}.
#   bash benchmarks/gpu_all.sh            (QUICK=1 for fewer sizes and repeats)
#   PARTS=wgmma,tests bash benchmarks/gpu_all.sh   then   PARTS=bench ...
#        (the parts to run, default all three: when one call may not last long enough;
#        NO_WGMMA=1 leaves the wgmma kernels out of the benchmark)
#
# The Hopper wgmma kernels (hgemm_wgmma.cu, mm24_wgmma.cu) were written and checked without
# a GPU; their tests run on their own, first and under their own time limit, so that a
# kernel that hangs or faults cannot take the other tests' results with it. When they fail,
# the benchmark leaves the wgmma kernels out (--no-wgmma).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${OUT:-benchmarks/results}
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1 HYPOTHESIS_PROFILE=ci
quick=${QUICK:+--quick}
WGMMA_TESTS="tests/kernels/test_kernels_wgmma.py tests/kernels/test_kernels_wgmma_sp.py"
PARTS=",${PARTS:-wgmma,tests,bench},"

pip install -q --no-deps --no-build-isolation -e . 2>&1 | tail -2
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT_DIR/device.txt"
python -c "import cupy, numpy, numba; print('cupy', cupy.__version__, 'numpy', numpy.__version__, 'numba', numba.__version__)" | tee -a "$OUT_DIR/device.txt"

# 1. The wgmma kernels: the one-tile diagnostics first (they name the misreading when wrong).
no_wgmma=""
if [[ $PARTS == *,wgmma,* ]]; then
timeout ${WGMMA_TIMEOUT:-150} python -m pytest -m gpu -q -rA -p no:cacheprovider $WGMMA_TESTS \
    -k "one_tile or one_cta" > "$OUT_DIR/gpu-wgmma-diagnostic.log" 2>&1
diag=$?
timeout ${WGMMA_TIMEOUT:-150} python -m pytest -m gpu -q -p no:cacheprovider $WGMMA_TESTS \
    --junitxml="$OUT_DIR/gpu-wgmma-tests.xml" > "$OUT_DIR/gpu-wgmma-tests.log" 2>&1
wgmma=$?
echo "wgmma diagnostics exit: $diag, wgmma tests exit: $wgmma"
grep -E "^(FAILED|ERROR)|passed|failed" "$OUT_DIR/gpu-wgmma-tests.log" | tail -20
[ "$wgmma" -eq 0 ] || no_wgmma="--no-wgmma"
fi
[ -z "${NO_WGMMA:-}" ] || no_wgmma="--no-wgmma"   # e.g. PARTS=bench NO_WGMMA=1 after they failed

# 2. Every other GPU test.
if [[ $PARTS == *,tests,* ]]; then
timeout ${TEST_TIMEOUT:-300} python -m pytest -m gpu -q -p no:cacheprovider --maxfail=40 \
    --junitxml="$OUT_DIR/gpu-tests.xml" $(for f in $WGMMA_TESTS; do echo --ignore="$f"; done) \
    ${TESTS:-tests} > "$OUT_DIR/gpu-tests.log" 2>&1
echo "gpu tests exit: $?"; grep -E "^(FAILED|ERROR)" "$OUT_DIR/gpu-tests.log" | head -40
tail -n 3 "$OUT_DIR/gpu-tests.log"
fi

# 3. The benchmarks (each writes its JSON and markdown table into $OUT_DIR).
[[ $PARTS == *,bench,* ]] || exit 0
echo "== benchmarks/gpu_kernels.py $quick $no_wgmma"
timeout ${BENCH_TIMEOUT:-240} python benchmarks/gpu_kernels.py --out "$OUT_DIR" $quick \
    $no_wgmma 2>&1 | tail -n 60
echo "== benchmarks/gpu_training.py $quick"
timeout ${BENCH_TIMEOUT:-240} python benchmarks/gpu_training.py --out "$OUT_DIR" $quick 2>&1 \
    | tail -n 60
