// tests/fuzz/fuzz_yolo_model.cpp — the libFuzzer entry point of the yolo_model target: YOLOv5 built from a model yaml
// (parse_model). Built with -DNABLA_FUZZ=ON under clang; run by scripts/fuzz.sh yolo_model.
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    nabla::fuzz::fuzz_yolo_model(data, size);
    return 0;
}
