#!/usr/bin/env bash
# scripts/format.sh — formats every C++ file of the tree with clang-format (.clang-format: Google's layout, 4-space
# indents, 120 columns); the style/clang_format test fails when a file is not formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
find core autograd backends ops nn models apps tests bench \( -name '*.h' -o -name '*.cpp' -o -name '*.cu' \) -print0 |
    xargs -0 clang-format --style=file -i
