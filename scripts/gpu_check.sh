#!/usr/bin/env bash
# The whole GPU check, for a GPU machine (Python 3.12, NumPy 2, CuPy 14,
# no internet): installs the carried wheels, then runs the import check, the
# test suite (its GPU tests included), the device check, and each precision's
# effect on the losses and speed (float32, tf32, mixed16). Under 8 minutes.
# Output goes to stdout and, when $OUT is set, to files there.
#
# Prepare here:   mkdir -p .whl && cp .venv-py312/wheels/*.whl .whl/
# (make test builds chainer's wheel and fetches threadpoolctl's; .whl/ is
# listed in .git/info/exclude.)
set -uo pipefail
out=${OUT:-/tmp/gpu_check}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c 'import sys, cagan, numpy, cupy, chainer; print(sys.version.split()[0], "numpy", numpy.__version__, "cupy", cupy.__version__, "chainer", chainer.__version__)'
echo "== import cagan under -W error"
python3 -W error -c 'import cagan, chainer.backends.cuda as c; print("cuda available:", c.available, "cudnn:", c.cudnn_enabled, "cupy import warnings:", cagan._compat.CUPY_IMPORT_WARNINGS)'
echo "== pytest (warnings are errors)"
timeout 120 python3 -m pytest -q -ra -p no:cacheprovider tests 2>&1 | tee "$out/pytest.log" | tail -25
echo "== device check: float32 against the CPU, the reference article's and the paper's sizes"
timeout 150 python3 scripts/device_check.py --device @cupy:0 "$@" 2>&1 | tee "$out/device_check.log"
# Each precision in its own process: CuPy reads CUPY_TF32 at its first
# float32 product. The effect on the losses: 10 steps against the CPU in
# float32 at a size the CPU steps quickly; then the speed at the reference article's
# size (float32's is in the device check above).
for precision in float32 tf32 mixed16; do
    echo "== precision $precision: the losses over 10 steps against the CPU's"
    timeout 45 python3 scripts/device_check.py --device @cupy:0 \
        --precision $precision --size 128x96 --ch 64 --compare-steps 10 \
        --steps 0 2>&1 | tee "$out/effect_$precision.log" | head -11
    if [ $precision != float32 ]; then
        timeout 35 python3 scripts/device_check.py --device @cupy:0 \
            --precision $precision --no-compare --size 256x256 \
            --steps 5 2>&1 | tee "$out/speed_$precision.log" | head -1
    fi
done
