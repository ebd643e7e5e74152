// tests/fuzz/fuzz_wflw.cpp — the libFuzzer entry point of the wflw target: read_wflw_annotations over a WFLW list (and
// its euler sidecar). Built with -DNABLA_FUZZ=ON under clang; run by scripts/fuzz.sh wflw.
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    nabla::fuzz::fuzz_wflw(data, size);
    return 0;
}
