#!/usr/bin/env bash
# The one prepared device run for a session lent a GPU (15 minutes of device time, all tries together):
# the CUDA tests (tests/landscape/test_cuda.py), then the benchmarks on the device (W1–W3, curvature, W4–W5).
#
# Here, once — the peers and transformers (for W5) are not in the device image, so they travel as wheels
# (.whl is git-ignored):
#     .venv/bin/python -m pip download --no-deps -d .whl loss-landscapes==3.0.6 pyhessian==0.1 \
#         transformers==5.23.0 tokenizers==0.23.3 huggingface-hub==2.4.0 safetensors==0.8.0 regex tqdm pyyaml \
#         httpx2 httpcore2 hf-xet truststore
# Then call the device tool's run with command "bash benchmarks/gpu_check.sh", carry [".whl"] and
# timeout_s 570; the logs come back from $OUT. A dry run here, on the CPU:
#     PYTHON=.venv/bin/python DEVICE=cpu OUT=/tmp/gpu-check bash benchmarks/gpu_check.sh
set -u
PYTHON=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-out}
SITE=$(mktemp -d)
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=$SITE
# losslab itself and the peers, without dependencies (torch, h5py, sympy, scikit-learn are in the image)
"$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --no-cache-dir \
    --target "$SITE" .whl/* . || exit 1
if [ "$DEVICE" = cuda ]; then
    nvidia-smi -L
    timeout 150 "$PYTHON" -m pytest -q -p no:cacheprovider -W "ignore::DeprecationWarning" -rs \
        tests/landscape/test_cuda.py 2>&1 | tee "$OUT/cuda-tests.log"
fi
timeout 300 "$PYTHON" benchmarks/bench_landscape.py --device "$DEVICE" --methods fused,vmap 2>&1 \
    | tee "$OUT/bench-landscape-$DEVICE.log"
timeout 90 "$PYTHON" benchmarks/bench_curvature.py --device "$DEVICE" --repeats 3 2>&1 \
    | tee "$OUT/bench-curvature-$DEVICE.log"
# W4 (ResNet-18, 256 images) and W5 (GPT-2 10.5 M, 16×128 tokens), 21×21 planes, against loss-landscapes;
# both sides also under autocast bfloat16 (the peer through a Metric that enters it)
timeout 200 "$PYTHON" benchmarks/bench_models.py --device "$DEVICE" --memory 8GiB --autocast bfloat16 2>&1 \
    | tee "$OUT/bench-models-$DEVICE.log"
