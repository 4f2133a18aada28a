# Sourced by the GPU scripts: `require_cuda NAME` stops with one line when $PY lacks torch or sees no GPU.
require_cuda() {
  if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "$1: $PY cannot import torch: install torch (with CUDA) for it, or set PY=/path/to/python" >&2
    exit 1
  fi
  if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "$1: no CUDA device visible (torch.cuda.is_available() is False): run this on a GPU machine" >&2
    exit 1
  fi
}
