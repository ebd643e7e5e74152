#!/usr/bin/env bash
# scripts/gpu_check.sh — everything the CUDA backend needs checked on a machine with a GPU, in one go (under 8
# minutes on 16 cores): builds for this machine's GPU, runs the tests that exercise the device (the cuda backend's
# own and every op's parity test, which run their fast side on cuda when a device is present), then times a short
# training step and an inference of each model on the device, and prints a compact summary.
#   ./scripts/gpu_check.sh            (BUILD_DIR=build-gpu; JOBS defaults to the number of cores)
# Exit status: 0 when every step passed; the summary names what failed. Logs are in $BUILD_DIR/gpu_check/.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-gpu}
jobs=${JOBS:-$(nproc)}
logs=$build/gpu_check
mkdir -p "$logs"
summary=()
failed=0
note() {  # note NAME STATUS DETAIL
    summary+=("$(printf '%-34s %-5s %s' "$1" "$2" "$3")")
    [[ $2 == ok ]] || failed=1
}

if ! command -v nvidia-smi > /dev/null || ! nvidia-smi -L > "$logs/gpus.txt" 2>&1; then
    echo "gpu_check: no GPU here (nvidia-smi -L failed); nothing to check" >&2
    exit 77
fi
cat "$logs/gpus.txt"

./scripts/install_deps.sh > "$logs/install.log" 2>&1 || { echo "gpu_check: install_deps failed, see $logs/install.log"; exit 1; }
start=$SECONDS
if cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=native > "$logs/configure.log" 2>&1 &&
    cmake --build "$build" -j "$jobs" > "$logs/build.log" 2>&1; then
    warnings=$(grep -c -i "warning" "$logs/build.log")
    note build ok "$((SECONDS - start)) s, $warnings warning lines ($(grep -o 'convolutions on [^)]*' "$logs/configure.log"))"
else
    note build FAIL "see $logs/build.log"
    printf '%s\n' "${summary[@]}"
    exit 1
fi

# The device tests: the cuda backend's, and the op and optimizer parity tests (they add cuda to fast_devices).
start=$SECONDS
(cd "$build" && ctest -j 4 --timeout 600 -R '^(backends/|ops/|nn/optim|nn/)' --output-on-failure) > "$logs/ctest.log" 2>&1
result=$(grep -E "tests passed|tests failed" "$logs/ctest.log" | tail -1)
if grep -q "100% tests passed" "$logs/ctest.log"; then note "ctest (backends, ops, nn)" ok "$result, $((SECONDS - start)) s"; else
    note "ctest (backends, ops, nn)" FAIL "$result; see $logs/ctest.log"
fi
skipped=$(grep -c "cuda device checks skipped\|cuda parity tests skipped" "$logs/ctest.log")
[[ $skipped -eq 0 ]] || note "device actually used" FAIL "$skipped tests say they skipped the device"

# The other convolution path (im2col + cuBLAS, -DNABLA_CUDNN=OFF): the conv tests against the reference on the GPU.
start=$SECONDS
gemm=$build-gemm
if cmake -S . -B "$gemm" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=native -DNABLA_CUDNN=OFF \
    > "$logs/configure-gemm.log" 2>&1 &&
    cmake --build "$gemm" -j "$jobs" --target test_ops_conv test_ops_unfold > "$logs/build-gemm.log" 2>&1 &&
    "$gemm/tests/test_ops_conv" > "$logs/conv-gemm.log" 2>&1 && "$gemm/tests/test_ops_unfold" >> "$logs/conv-gemm.log" 2>&1; then
    note "conv tests, im2col + cuBLAS path" ok "$((SECONDS - start)) s"
else
    note "conv tests, im2col + cuBLAS path" FAIL "see $logs/build-gemm.log, $logs/conv-gemm.log"
fi

# A few training steps and inferences of every model on the device.
nabla=$build/nabla
bench() {  # bench LABEL ARGS...
    local label=$1
    shift
    if timeout 300 "$nabla" bench "$@" --device cuda --warmup 2 --steps 5 > "$logs/$label.log" 2>&1; then
        note "$label" ok "$(grep -E -m1 'median|ms' "$logs/$label.log" | tr -s ' ' | cut -c1-80)"
    else
        note "$label" FAIL "$(tail -1 "$logs/$label.log" | cut -c1-100)"
    fi
}
for m in "u2netp --batch 8 --size 320" "u2net --batch 4 --size 320" "panet --batch 16 --size 48" \
    "pfld --batch 64 --size 112" "yolov5s --batch 16 --size 640" "tinyseg --batch 8 --size 64"; do
    name=${m%% *}
    # shellcheck disable=SC2086
    bench "train $name" $m
    # shellcheck disable=SC2086
    bench "infer $name" $m --infer
done

# One short training run end to end (data, loss, optimizer, checkpoint) on the device.
tmp=$(mktemp -d)
if timeout 300 "$nabla" train tinyseg --device cuda --epochs 1 --max-steps 5 --output "$tmp/run" > "$logs/train.log" 2>&1; then
    note "nabla train tinyseg --device cuda" ok "$(grep -E -m1 -o 'loss[^,]*' "$logs/train.log" | tail -1)"
else
    note "nabla train tinyseg --device cuda" FAIL "$(tail -1 "$logs/train.log" | cut -c1-100)"
fi
rm -rf "$tmp"

echo
echo "gpu_check summary ($(head -1 "$logs/gpus.txt"))"
printf '%s\n' "${summary[@]}"
exit $failed
