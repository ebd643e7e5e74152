#!/usr/bin/env bash
# scripts/demo.sh — the main job: installs what is missing, builds `nabla`, and runs `nabla demo` (train, evaluate and
# predict with a small segmentation net on generated
# data, printing the loss as it falls. Extra arguments go to `nabla demo` (see `build/nabla demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install_deps.sh
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target nabla_cli
"$build/nabla" demo "$@"
