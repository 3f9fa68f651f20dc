#!/usr/bin/env bash
# The GPU figures of docs/benchmarks.md, in one prepared run:
#   0. the test suite on the GPU (the tools take their GPU paths there, and
#      the tests marked gpu, twins of the CPU-only ones, run); SUITE=0 skips
#      it;
#   1. backbone throughput (images/s, batch 64), fp32 and fp16 autocast:
#      HIRI-ViT-S at 448 (channels-last, BN folded, and the plain NCHW
#      network) against Swin-T at 224;
#   2. Mask R-CNN training: step time and peak memory in fp32, fp16 AMP and
#      bf16 AMP, batch 2, without recomputation, recomputing stages 1-3
#      (with_cp 11100, the COCO configs' setting) and recomputing every
#      stage: HIRI-ViT-S global and windowed at 1600x2666, Swin-T at
#      800x1333.
# Usage: bash tools/analysis_tools/gpu_benchmark.sh [PYTHON]
# TINY=1 runs the same commands at tiny sizes on TINY_DEVICE (default cpu),
# without AMP and the backbones' memory column: a check that the script works
# (the tests run it), not figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${1:-python}
if [ "${SUITE:-1}" = 1 ]; then
    "$PY" -m pytest tests -q
fi
if [ "${TINY:-0}" = 1 ]; then
    device=${TINY_DEVICE:-cpu} sizes="64 128" batch=2 repeats=1 warmup=0
    precisions="fp32" train_precisions="fp32"
    det_shapes="128 192 128 192 64 96" steps=1 memory=(--no-memory)
else
    device=cuda sizes="224 448" batch=64 repeats=20 warmup=2
    precisions="fp32 fp16" det_shapes="1600 2666 1600 2666 800 1333"
    train_precisions="fp32 fp16 bf16" steps=5 memory=()
fi
for precision in $precisions; do
    flag=()
    [ "$precision" = fp16 ] && flag=(--fp16)
    # shellcheck disable=SC2086
    "$PY" tools/analysis_tools/benchmark_backbone.py --device "$device" \
        --sizes $sizes --batch "$batch" --repeats "$repeats" \
        --warmup "$warmup" \
        --models HIRI-ViT-S HIRI-ViT-S-NCHW Swin-T "${flag[@]}" "${memory[@]}"
done
for precision in $train_precisions; do
    amp=()
    [ "$precision" != fp32 ] && amp=(--amp "$precision")
    # shellcheck disable=SC2086
    "$PY" tools/analysis_tools/benchmark_train.py --device "$device" \
        configs/maskrcnn_hirivit_s_1x_coco.py \
        configs/maskrcnn_hirivit_s_win_1x_coco.py \
        mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py \
        --shapes $det_shapes --batch 2 --steps "$steps" --warmup "$warmup" \
        --with-cp off 11100 all "${amp[@]}"
done
