#!/usr/bin/env bash
# The one command for a GPU machine (see ../shared/GPU.md): install, run every GPU test,
# run the GPU benchmarks. Logs and results go to ${OUT:-benchmarks/results}.
#   bash benchmarks/gpu_all.sh            (QUICK=1 for fewer sizes and repeats;
#        QUICK_TRAINING=1 for the training benchmark alone)
#   PARTS=wgmma,tests bash benchmarks/gpu_all.sh   then   PARTS=bench ...
#        (the parts to run, default all three: when one call may not last long enough;
#        NO_WGMMA=1 leaves the wgmma kernels out of the benchmark)
#   WORKERS=N runs the GPU tests in N pytest-xdist processes (default 8 when xdist is there,
#   WORKERS=0 for one process), and the wgmma tests beside them: both are correctness runs,
#   so they may share the GPU. On an H200 (2026-11-26) the whole script took about 2.5 min:
#   the 971 GPU tests 66 s with 14 workers, the wgmma tests 28 s beside them, the two
#   benchmarks 15 + 15 s.
#   MAXFAIL=N stops the GPU tests after N failures (default 200); PYTEST_EXTRA adds pytest
#   options. On 2026-11-26 (stop 16) the 1655 GPU tests outside the wgmma files did not
#   finish in 250 s with 16 workers and HYPOTHESIS_PROFILE=gpu (test_ops' gradchecks on
#   CUDA last): give them TEST_TIMEOUT=400 where the budget allows.
#   HYPOTHESIS_PROFILE=gpu draws 8 examples per property instead of 25 (short budgets).
#   On an H200 (2026-11-27, stop 24): the 598 NEW_TESTS took 40-55 s with 14 workers; the
#   whole tree's GPU tests ran 1939 tests in 408 s with 14 workers and did not finish.
#   JUNIT=1 also writes JUnit XML (off by default: a device call brings back 8 files at most).
#   GPU_WARN= makes a NumPy RuntimeWarning fail a GPU test, as pytest.ini does on the CPU
#   (default: -W default::RuntimeWarning, reported only).
#   PARTS=new runs NEW_TESTS first, on their own (gpu-new-tests.log, every outcome and
#   traceback): the GPU tests of code written in sessions without a GPU since the last GPU
#   run. Run it before anything else, e.g. PARTS=new,bench,profile QUICK=1 in the first
#   call (profile: the step's GPU kernels, gpu-step-kernels.log; not a default part).
#
# The Hopper wgmma kernels (hgemm_wgmma.cu, mm24_wgmma.cu) ran first on an H200 on
# 2026-11-26 (all 94 tests pass); their tests still run on their own, first and under their
# own time limit, so that a kernel that hangs or faults cannot take the other tests' results
# with it. After a hang or crash the benchmark leaves the wgmma kernels out (--no-wgmma).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${OUT:-benchmarks/results}
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1 HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci}
quick=${QUICK:+--quick}
training_quick=${QUICK_TRAINING:-${QUICK:-}}; training_quick=${training_quick:+--quick}
WGMMA_TESTS="tests/kernels/test_kernels_wgmma.py tests/kernels/test_kernels_wgmma_sp.py"
PARTS=",${PARTS:-wgmma,tests,bench},"
# Not yet run on a GPU: the code written after the last GPU call (2026-11-27, stop 25, whose
# calls ran the whole tree's GPU tests: 1995 passed, and the one failure fixed and passing
# there): Linear24's kept index arrays (frozen_meta, the mma.sp metadata words),
# searchsorted with NaNs in the sequence, entr's and logdet's gradients,
# interpolate(antialias=True), the cross-family KL divergences; at stop 26 the wgmma kernels'
# 256-row tiles, the pipelined SpMV, spmv_floor, Linear24 on Hopper, Lanczos interpolation;
# at stop 27 the 96 x 64 warp tiles of hgemm and mm_24 (FRAG_BUFS=1, in test_kernels_gpu.py)
# and the regression losses' weight; at stop 28 erfc through CuPy's, sinc's exact argument
# reduction, nextafter's gradient and Normal's cdf/icdf by erfc and ndtri (test_math_ops.py,
# test_statistics.py, test_distributions.py); at stop 29 half tensors through opmath ops and
# in_float32 compositions on CuPy (test_opmath.py), bias_act's gelu kernels (erfc, sigmoid
# forms), bfloat16 nextafter, autocast_off and prelu on the half list, and half attention
# with float32 scores (MatMulFloat32, test_attention.py). Stop 30 ran them all on an H200
# (the whole tree: 2244 passed, one test's fault fixed), and its fused activation kernels
# (test_fused.py: passed after a tolerance fix); not yet on a GPU: softplus's kernels
# (test_fused.py), the pipelined SpMV as spmv_csr's default and mm24_wgmma with META_REGS=2
# by default (both GPU-tested as options at stop 30), and spmv_csr_stream.cu
# (method="stream", test_kernels_gpu.py; timed by gpu_kernels.py's "stream" rows).
# Written at stop 31 without a GPU (their CUDA text run on the host by g++ in CI, not yet
# on a device): hardsigmoid/hardswish/mish's kernels and gelu-tanh's stable forward
# (test_fused.py), softmax/log_softmax's row path (test_fused.py, test_attention.py,
# test_ops.py) and LayerNormFunction's kernels (test_norm.py, test_ops.py).
# Stop 32 (no GPU): the kernel tests' cp fixture (a "cuda" and a "host" half), the host
# forms of convert.cuh's float16 conversions, tc_common.cuh's wrappers behind CUDA_HOST_RUN
# and spmv_csr.cu's prefetch behind __CUDA_ARCH__ (test_kernels_gpu.py, test_im2col.py,
# test_batchnorm_kernels.py, test_philox.py, test_spmv_floor.py).
# Stop 38 (no GPU): philox.cu's fill with its tail unrolled, the same values
# (test_philox.py). Stop 39 (no GPU): linalg.matrix_sqrth and polar on CuPy's eigh and svd
# (test_linalg_sqrt_polar.py), clamp/fmax/maximum's new tie and NaN rules
# (test_more_ops.py, test_statistics.py).
NEW_TESTS=${NEW_TESTS:-"tests/kernels/test_kernels_wgmma.py tests/kernels/test_kernels_wgmma_sp.py \
tests/kernels/test_im2col.py tests/kernels/test_batchnorm_kernels.py tests/kernels/test_philox.py \
tests/kernels/test_spmv_floor.py tests/kernels/test_kernels_gpu.py \
tests/sparse24/test_linear24.py tests/sparse24/test_semi_structured.py \
tests/sparse24/test_linear24_masks.py tests/test_launch_counts.py \
tests/core/test_manipulation.py tests/core/test_special.py tests/core/test_linalg.py \
tests/nn/test_upsampling.py tests/test_distributions_kl_cross.py tests/nn/test_loss_weights.py \
tests/core/test_math_ops.py tests/core/test_statistics.py tests/test_distributions.py \
tests/core/test_opmath.py tests/amp/test_fused.py tests/core/test_half_reductions.py \
tests/amp/test_autocast_op_lists.py tests/nn/test_attention.py tests/nn/test_multihead.py \
tests/nn/test_norm.py tests/core/test_ops.py tests/core/test_linalg_sqrt_polar.py \
tests/core/test_more_ops.py"}

pip install -q --no-deps --no-build-isolation -e . 2>&1 | tail -2
# gpu-run.log: the device, the versions and the benchmarks' whole output (appended by
# each part; a device call brings back 8 files at most, so one log holds all three).
RUN_LOG="$OUT_DIR/gpu-run.log"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee -a "$RUN_LOG"
python -c "import cupy, numpy, numba; print('cupy', cupy.__version__, 'numpy', numpy.__version__, 'numba', numba.__version__)" | tee -a "$RUN_LOG"

# pytest.ini fails a test on a NumPy RuntimeWarning (the CPU suite's guard against warnings
# leaking from minigrad). The GPU tests' host-side references never ran under it: here a
# warning is reported, not fatal (GPU_WARN= restores the strict filter).
GPU_WARN=${GPU_WARN--W default::RuntimeWarning}

xdist=""
WORKERS=${WORKERS:-8}
if [ "$WORKERS" != 0 ] && python -c "import xdist" 2>/dev/null; then xdist="-n $WORKERS"; fi

# 0. The tests of code that has not run on a GPU yet.
if [[ $PARTS == *,new,* ]]; then
timeout ${NEW_TIMEOUT:-240} python -m pytest -m gpu $GPU_WARN -v -rA --tb=short -p no:cacheprovider \
    -p no:benchmark $xdist $NEW_TESTS > "$OUT_DIR/gpu-new-tests.log" 2>&1
echo "new gpu tests exit: $?"; grep -E "^(FAILED|ERROR) " "$OUT_DIR/gpu-new-tests.log" | head -60
tail -n 2 "$OUT_DIR/gpu-new-tests.log"
fi

# 1. The wgmma kernels: the one-tile diagnostics first (they name the misreading when wrong).
no_wgmma=""
junit() { [ -n "${JUNIT:-}" ] && echo "--junitxml=$OUT_DIR/$1.xml"; }
run_wgmma() {
timeout ${WGMMA_TIMEOUT:-150} python -m pytest -m gpu $GPU_WARN -q -rA -p no:cacheprovider $WGMMA_TESTS \
    -k "one_tile or one_cta" > "$OUT_DIR/gpu-wgmma-tests.log" 2>&1
local diag=$?
echo "==== all wgmma tests" >> "$OUT_DIR/gpu-wgmma-tests.log"
timeout ${WGMMA_TIMEOUT:-150} python -m pytest -m gpu $GPU_WARN -q -p no:cacheprovider $WGMMA_TESTS \
    $(junit gpu-wgmma-tests) >> "$OUT_DIR/gpu-wgmma-tests.log" 2>&1
local wgmma=$?
echo "$diag $wgmma" > "$OUT_DIR/.wgmma-exit"
}
report_wgmma() {
read -r diag wgmma < "$OUT_DIR/.wgmma-exit"; rm -f "$OUT_DIR/.wgmma-exit"
echo "wgmma diagnostics exit: $diag, wgmma tests exit: $wgmma"
sed -n '/^==== all wgmma tests/,$p' "$OUT_DIR/gpu-wgmma-tests.log" \
    | grep -E "^(FAILED|ERROR)|passed|failed" | tail -20
# 1 = some tests failed (wrong products: the benchmark shows their error); other codes (a
# timeout, a crash) mean a kernel may hang or fault: leave the wgmma kernels out.
[ "$wgmma" -le 1 ] || no_wgmma="--no-wgmma"
}
wgmma_pid=""
if [[ $PARTS == *,wgmma,* ]]; then
    if [ -n "$xdist" ] && [[ $PARTS == *,tests,* ]]; then run_wgmma & wgmma_pid=$!
    else run_wgmma; report_wgmma; fi
fi
[ -z "${NO_WGMMA:-}" ] || no_wgmma="--no-wgmma"   # e.g. PARTS=bench NO_WGMMA=1 after they failed

# 2. Every other GPU test.
if [[ $PARTS == *,tests,* ]]; then
# Each outcome is printed with the test's name as it finishes (-rfE and the tracebacks
# come only at the end, which a TEST_TIMEOUT cuts off: on 2026-11-26 that left 71
# failures unnamed); a test that hangs is stopped after 120 s (pytest-timeout).
per_test=""; python -c "import pytest_timeout" 2>/dev/null && per_test="--timeout=120"
timeout ${TEST_TIMEOUT:-300} python -m pytest -m gpu $GPU_WARN -v -p no:cacheprovider -p no:benchmark \
    --tb=short --durations=25 $per_test --maxfail=${MAXFAIL:-200} ${PYTEST_EXTRA:-} $xdist $(junit gpu-tests) $(for f in $WGMMA_TESTS; do echo --ignore="$f"; done) \
    ${TESTS:-tests} > "$OUT_DIR/gpu-tests.log" 2>&1
echo "gpu tests exit: $?"; grep -E "(FAILED|ERROR) tests/" "$OUT_DIR/gpu-tests.log" \
    | sed 's/^.*\(FAILED\|ERROR\) /\1 /' | sort -u | head -80
tail -n 3 "$OUT_DIR/gpu-tests.log"
fi
if [ -n "$wgmma_pid" ]; then wait "$wgmma_pid"; report_wgmma; fi

# 3. The benchmarks (each writes its JSON and markdown table into $OUT_DIR).
if [[ $PARTS == *,bench,* ]]; then
# -X faulthandler: a process that dies in C (a kernel fault) still names its Python line.
# On 2026-11-27 gpu_kernels.py ended within seconds of starting the 2:4 section, its
# output cut to a tail that the tests' output pushed out: now it all goes to gpu-run.log.
echo "== benchmarks/gpu_kernels.py $quick $no_wgmma" | tee -a "$RUN_LOG"
timeout ${BENCH_TIMEOUT:-240} python -X faulthandler benchmarks/gpu_kernels.py --out "$OUT_DIR" \
    $quick $no_wgmma >> "$RUN_LOG" 2>&1
echo "gpu_kernels.py exit: $?" | tee -a "$RUN_LOG"
echo "== benchmarks/gpu_training.py $training_quick" | tee -a "$RUN_LOG"
timeout ${BENCH_TIMEOUT:-240} python -X faulthandler benchmarks/gpu_training.py --out "$OUT_DIR" \
    $training_quick >> "$RUN_LOG" 2>&1
echo "gpu_training.py exit: $?" | tee -a "$RUN_LOG"
grep -E "^(ratios|  [a-z]+ +[^:]+: [0-9.]+)|^wrote " "$RUN_LOG" | tail -n 40
fi

# 4. (PARTS=...,profile, not by default) the kernels a ResNet step launches on this GPU,
# minigrad's and PyTorch's, beside the launches the CuPy stand-in counts on the CPU
# (benchmarks/count_launches.py): the measurement that proxy stands for.
if [[ $PARTS == *,profile,* ]]; then
echo "== benchmarks/profile_gpu_step.py --kernels"
timeout ${PROFILE_TIMEOUT:-180} python benchmarks/profile_gpu_step.py --kernels \
    > "$OUT_DIR/gpu-step-kernels.log" 2>&1
echo "profile exit: $?"; tail -n 40 "$OUT_DIR/gpu-step-kernels.log"
fi
