// tests/fuzz/fuzz_yolo_label.cpp — the libFuzzer entry point of the yolo_label target: read_label_file over a YOLO
// label file. Built with -DNABLA_FUZZ=ON under clang; run by scripts/fuzz.sh yolo_label.
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    nabla::fuzz::fuzz_yolo_label(data, size);
    return 0;
}
