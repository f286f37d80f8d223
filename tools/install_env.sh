#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment with the verified OpenMMLab stack.
#
#   VENV=.venv            where the environment lives
#   MMGAT_WHEELS=...      where the compiled mmcv wheel is cached (default ~/.cache/mmgat/wheels);
#                         a second install reuses it instead of compiling for ~10 minutes again
#   TORCH_SPEC=...        override the torch requirement (see README, "CUDA")
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
WHEELS="${MMGAT_WHEELS:-$HOME/.cache/mmgat/wheels}"
MMCV_VERSION=2.1.0
TORCH_VERSION=2.13.0
SETUPTOOLS_RUNTIME=80.9.0   # torch 2.13 requires >=77; mmcv's build needs <70 (build.txt)

log() { printf '[install] %s\n' "$*"; }

# Machines of this project keep a CPU build of torch on disk; pip finds it through find-links.
PIP_EXTRA=()
[ -d /opt/wheels ] && PIP_EXTRA+=(--find-links /opt/wheels)

if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check "${PIP_EXTRA[@]}")

if [ -z "${TORCH_SPEC:-}" ]; then
    # A pinned version only: an unpinned torch pulls a multi-GB CUDA build. On a CUDA machine the
    # PyPI wheel of the same version (CUDA build) is the right one, and pip picks it there when
    # /opt/wheels (CPU build) is absent.
    TORCH_SPEC="torch==$TORCH_VERSION"
fi
log "torch: $TORCH_SPEC"
"${PIP[@]}" -q "$TORCH_SPEC" "setuptools==$SETUPTOOLS_RUNTIME" numpy==1.26.4

mkdir -p "$WHEELS"
TORCH_TAG="$("$PY" -c 'import torch; print(torch.__version__.replace("+", "_"))')"
CACHE_DIR="$WHEELS/torch-$TORCH_TAG"
mkdir -p "$CACHE_DIR"
if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
    MMCV_WHEEL="$(ls "$CACHE_DIR"/mmcv-$MMCV_VERSION-*.whl 2>/dev/null | head -n 1 || true)"
    if [ -z "$MMCV_WHEEL" ]; then
        log "compiling mmcv $MMCV_VERSION with ops (about 10 minutes on 2 cores, done once per torch build)"
        BUILD_DIR="$(mktemp -d)"
        # pip warns that torch wants a newer setuptools: expected for the duration of the build.
        "${PIP[@]}" -q -r "$ROOT/requirements/build.txt"
        MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
            "$PY" -m pip wheel --no-build-isolation --no-deps --no-binary mmcv \
            -w "$BUILD_DIR" "mmcv==$MMCV_VERSION"
        mv "$BUILD_DIR"/mmcv-*.whl "$CACHE_DIR"/
        "${PIP[@]}" -q "setuptools==$SETUPTOOLS_RUNTIME"
        rm -rf "$BUILD_DIR"
        MMCV_WHEEL="$(ls "$CACHE_DIR"/mmcv-$MMCV_VERSION-*.whl | head -n 1)"
    else
        log "reusing compiled $MMCV_WHEEL"
    fi
    "${PIP[@]}" -q "$MMCV_WHEEL" -r "$ROOT/requirements/runtime.txt" numpy==1.26.4
fi

log "runtime and test requirements"
"${PIP[@]}" -q -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/optional.txt" \
    -r "$ROOT/requirements/tests.txt" "mmcv==$MMCV_VERSION" "setuptools==$SETUPTOOLS_RUNTIME"
"${PIP[@]}" -q --no-deps --no-build-isolation -e "$ROOT"

"$PY" - <<'PY'
import torch, mmcv, mmcv.ops, mmengine, mmdet, mmseg
print(f"[install] ok: torch {torch.__version__} (cuda={torch.cuda.is_available()}), "
      f"mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, "
      f"mmseg {mmseg.__version__}")
PY
