#!/usr/bin/env bash
# scripts/demo.sh — the main job: installs what is missing, builds `nabla`, and runs `nabla demo`: the shipped models
# (data/weights/) on the bundled photos and new generated pictures, then a short U2NETP training run on generated
# pairs (fine-tuning the shipped U2NETP when there is one) with evaluation and predicted masks. Extra arguments go to
# `nabla demo` (see `build/nabla demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install_deps.sh
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target nabla_cli
"$build/nabla" demo "$@"
