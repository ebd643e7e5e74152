// tests/fuzz/fuzz_segmentation_list.cpp — the libFuzzer entry point of the segmentation_list target:
// find_segmentation_pairs over an "image mask" list file. Built with -DNABLA_FUZZ=ON under clang; run by
// scripts/fuzz.sh segmentation_list.
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    nabla::fuzz::fuzz_segmentation_list(data, size);
    return 0;
}
