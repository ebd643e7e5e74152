#!/usr/bin/env bash
# scripts/test.sh — the whole test suite: installs what is missing, configures, builds, runs CTest, prints the summary.
#   ./scripts/test.sh            (BUILD_DIR=build by default; JOBS defaults to the number of cores)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install_deps.sh
build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$jobs"
cd "$build"
ctest --output-on-failure -j "$jobs" --timeout 900
