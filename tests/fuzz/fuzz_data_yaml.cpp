// tests/fuzz/fuzz_data_yaml.cpp — the libFuzzer entry point of the data_yaml target: read_data_yaml over a YOLOv5
// data.yaml. Built with -DNABLA_FUZZ=ON under clang; run by scripts/fuzz.sh data_yaml.
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    nabla::fuzz::fuzz_data_yaml(data, size);
    return 0;
}
