# bench/rows.sh — the steps of the README's speed table, one per row: "name|bench/compare_models.sh arguments"
# (Nabla's `nabla bench` arguments, plus --torch-precision for PyTorch's side). Sourced by bench/compare_all.sh,
# which times both sides, and bench/breakdown.sh, which traces Nabla's.
# shellcheck shell=bash
# shellcheck disable=SC2034  # used by the scripts that source it
rows=(
    "PFLD training|pfld --batch 32 --size 112"
    "PFLD inference|pfld --batch 32 --size 112 --infer"
    "YOLOv5s training|yolov5s --batch 4 --size 320"
    "YOLOv5s inference|yolov5s --batch 4 --size 320 --infer"
    "U2NETP training|u2netp --batch 2 --size 288"
    "U2NETP inference|u2netp --batch 2 --size 288 --infer"
    "U2NET training|u2net --batch 2 --size 288"
    "U2NET inference|u2net --batch 2 --size 288 --infer"
    "PANet training|panet --batch 4 --size 48"
    "PANet inference|panet --batch 4 --size 48 --infer"
    "PFLD training, bf16 vs PyTorch fp32|pfld --batch 32 --size 112 --precision bf16 --torch-precision fp32"
    "YOLOv5s training, bf16 vs PyTorch fp32|yolov5s --batch 4 --size 320 --precision bf16 --torch-precision fp32"
    "U2NETP training, bf16 vs PyTorch fp32|u2netp --batch 2 --size 288 --precision bf16 --torch-precision fp32"
    "PANet training, bf16 vs PyTorch fp32|panet --batch 4 --size 48 --precision bf16 --torch-precision fp32"
    "PFLD training, both bf16|pfld --batch 32 --size 112 --precision bf16"
    "YOLOv5s training, both bf16|yolov5s --batch 4 --size 320 --precision bf16"
    "U2NETP training, both bf16|u2netp --batch 2 --size 288 --precision bf16"
    "PANet training, both bf16|panet --batch 4 --size 48 --precision bf16"
)
