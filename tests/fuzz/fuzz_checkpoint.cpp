// tests/fuzz/fuzz_checkpoint.cpp — the libFuzzer entry point of the checkpoint target: load_checkpoint: a safetensors
// file and its checkpoint metadata. Built with -DNABLA_FUZZ=ON under clang; run by scripts/fuzz.sh checkpoint.
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    nabla::fuzz::fuzz_checkpoint(data, size);
    return 0;
}
