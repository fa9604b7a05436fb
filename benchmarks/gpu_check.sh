#!/usr/bin/env bash
# The GPU check, in one command on a machine with an NVIDIA GPU:
#
#     bash benchmarks/gpu_check.sh            # the log also goes to $OUT/gpu_check.log when OUT is set
#
# It runs from the checkout without installing (the C core is optional: pure Python here), with
# the Python that holds numba and numba.cuda (PYTHON, default python3), and prints
#   1. the versions and the GPU that numba.cuda sees,
#   2. tests/test_cuda.py: the simulator, the PTX compile, and the GPU against the CPU kernel,
#   3. benchmarks/cuda_batch.py --compile: registers and spills of the kernels for an H100,
#   4. benchmarks/cuda_batch.py: backend="cuda" against the CPU batch kernels at 10^7 samples.
#
# numba-cuda 0.30 (the newest on PyPI in December 2026) fails to compile any kernel with numpy 2.5
# (numpy.row_stack is gone). Where a machine has that pair and the folder .whl holds a numpy 2.4
# wheel for its Python, the wheel is put first on the path for this run. To bring one:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl "numpy==2.4.*"
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
# numba finds the CUDA toolkit's NVVM through CUDA_HOME where it is not in a pip package
if [ -z "${CUDA_HOME:-}" ] && [ -d /usr/local/cuda ]; then export CUDA_HOME=/usr/local/cuda; fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
log="${OUT:-${TMPDIR:-/tmp}}/gpu_check.log"

# symdiff's own check that numba.cuda can compile kernels (what backend="cuda" asks before it)
probe='from symdiff.cuda_backend import _check_compiler; _check_compiler()'
{
    if ! "$PYTHON" -c "$probe" 2>/dev/null; then
        if compgen -G ".whl/numpy-*.whl" >/dev/null; then
            echo "numba.cuda cannot compile with this numpy: using the wheel in .whl"
            "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
                --target /tmp/symdiff-site .whl/numpy-*.whl && export PYTHONPATH="/tmp/symdiff-site:$PYTHONPATH"
        fi
        "$PYTHON" -c "$probe" || echo "numba.cuda cannot compile kernels here (above); the rest will fail"
    fi
    "$PYTHON" - <<'EOF'
import sys, numpy, numba, sympy
from numba import cuda
print("Python", sys.version.split()[0], "numpy", numpy.__version__, "numba", numba.__version__,
      "sympy", sympy.__version__, "numba.cuda from", cuda.__file__)
print("numba.cuda.is_available():", cuda.is_available())
if cuda.is_available():
    cuda.detect()
EOF
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
    echo "== tests/test_cuda.py"
    "$PYTHON" -m pytest -q -p no:cacheprovider -rs tests/test_cuda.py
    echo "== benchmarks/cuda_batch.py --compile"
    "$PYTHON" benchmarks/cuda_batch.py --compile
    echo "== benchmarks/cuda_batch.py -n 10000000"
    "$PYTHON" benchmarks/cuda_batch.py -n 10000000
} 2>&1 | tee "$log"
