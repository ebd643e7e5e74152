#!/usr/bin/env bash
# scripts/install_deps.sh — installs the Debian packages Nabla builds with, only those that are missing.
# Idempotent: a second run does nothing. Needs root (or sudo) the first time on a fresh machine.
set -euo pipefail

packages=(cmake g++ make pkg-config ccache libdnnl-dev libfmt-dev libstb-dev catch2 libcli11-dev nlohmann-json3-dev
          libyaml-cpp-dev libbenchmark-dev clang-format zlib1g-dev libcpp-httplib-dev
          libopenmpi-dev openmpi-bin openssh-client)  # OpenMPI: data-parallel training (nn/distributed.h)
# Only for regenerating fixtures and the PyTorch benchmarks (OpenCV: tests/fixtures/make_landmarks.py's Euler angles;
# python3-yaml: the YOLOv5 twin in scripts/torch_models.py reads the model files).
if [[ "${NABLA_WITH_TORCH:-0}" == 1 ]]; then
    packages+=(python3-torch python3-numpy python3-yaml libopenblas0-pthread libtcmalloc-minimal4 python3-opencv)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install_deps: installing ${missing[*]}"
sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
