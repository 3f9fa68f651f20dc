#!/usr/bin/env bash
# Build the project's environment from nothing: a virtualenv in .venv/ with
# torch, mmcv (compiled with its ops), the OpenMMLab codebases and mmhirivit.
#
# Idempotent: a second run only checks what is there. The compiled mmcv wheel
# is cached outside the clone ($MMHIRIVIT_CACHE, default ~/.cache/mmhirivit),
# keyed by the mmcv, torch and Python versions, and reused when present.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMHIRIVIT_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
CACHE="${MMHIRIVIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmhirivit}"
MMCV_VERSION=2.1.0
TORCH_VERSION=2.14.1

STEP=""
SRC=""
START=$SECONDS
step() {
    STEP="$1"
    printf '\n==> [setup %4ds] %s\n' "$((SECONDS - START))" "$STEP"
}
on_exit() {
    local rc=$?
    [ -n "$SRC" ] && rm -rf "$SRC"
    [ $rc -ne 0 ] && printf '\nsetup FAILED at step: %s (exit %d)\n' "$STEP" "$rc" >&2
    exit $rc
}
trap on_exit EXIT

step "virtualenv $VENV"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)
INSTALL=("${PIP[@]}" install -q -c "$ROOT/requirements/constraints.txt")
PYVER="$("$PY" -c 'import sys; print(f"py{sys.version_info[0]}{sys.version_info[1]}")')"

step "build tools (requirements/build.txt)"
"${INSTALL[@]}" -r "$ROOT/requirements/build.txt"

step "torch $TORCH_VERSION + torchvision (requirements/torch.txt)"
"${INSTALL[@]}" -r "$ROOT/requirements/torch.txt"

step "mmcv $MMCV_VERSION with compiled ops"
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_VERSION-$PYVER"
mmcv_ok() {
    "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null
}
if mmcv_ok; then
    echo "mmcv $MMCV_VERSION with ops already installed"
else
    if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
        echo "no cached wheel in $WHEEL_DIR: compiling mmcv $MMCV_VERSION (15-35 minutes on 2 cores, by machine)"
        SRC="$(mktemp -d)"
        "${PIP[@]}" download -q --no-deps --no-build-isolation --no-binary :all: "mmcv==$MMCV_VERSION" -d "$SRC"
        tar -xzf "$SRC"/mmcv-"$MMCV_VERSION".tar.gz -C "$SRC"
        # torch 2.14's headers need C++20; mmcv 2.1.0 asks for C++17.
        sed -i 's/-std=c++17/-std=c++20/g' "$SRC/mmcv-$MMCV_VERSION/setup.py"
        grep -q -- '-std=c++20' "$SRC/mmcv-$MMCV_VERSION/setup.py"
        mkdir -p "$WHEEL_DIR"
        (cd "$SRC/mmcv-$MMCV_VERSION" &&
            MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)" "${PIP[@]}" wheel -q --no-build-isolation \
                --no-deps . -w "$SRC/dist")
        # Move into the cache only once complete, so an interrupted build never
        # leaves a broken wheel that later runs would trust.
        mv "$SRC"/dist/mmcv-*.whl "$WHEEL_DIR/"
    else
        echo "using cached wheel from $WHEEL_DIR"
    fi
    "${INSTALL[@]}" --no-deps --force-reinstall "$WHEEL_DIR"/mmcv-*.whl
fi

step "OpenMMLab codebases and runtime needs (requirements/mminstall.txt, runtime.txt, tests.txt, deploy.txt)"
"${INSTALL[@]}" -r "$ROOT/requirements/mminstall.txt" -r "$ROOT/requirements/runtime.txt" \
    -r "$ROOT/requirements/tests.txt" -r "$ROOT/requirements/deploy.txt"

step "mmhirivit (editable)"
"${INSTALL[@]}" --no-deps --no-build-isolation -e "$ROOT"

step "prove the stack"
"$PY" - <<'EOF'
import torch
from mmcv.ops import RoIAlign, nms
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])
_, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
assert keep.tolist() == [0, 2], keep
feats = torch.arange(64.).view(1, 1, 8, 8)
out = RoIAlign((2, 2), 1.0, 2)(feats, torch.tensor([[0., 0., 0., 4., 4.]]))
assert out.shape == (1, 1, 2, 2), out.shape
import mmdet.models, mmseg.models, mmpretrain.models  # noqa: F401,E401
import pkg_resources  # noqa: F401  (mmengine imports it when loading configs)
import mmhirivit
print(f'torch {torch.__version__}, mmcv ops ok, mmdet/mmseg/mmpretrain import, '
      f'mmhirivit {mmhirivit.__version__}')
EOF
STEP=""
printf '\nsetup done in %ds: activate with  source %s/bin/activate\n' "$((SECONDS - START))" "$VENV"
