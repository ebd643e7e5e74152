// tests/fuzz/fuzz_safetensors.cpp — the libFuzzer entry point of the safetensors target: load_safetensors over
// arbitrary files, metadata included. Built with -DNABLA_FUZZ=ON under clang; run by scripts/fuzz.sh safetensors.
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    nabla::fuzz::fuzz_safetensors(data, size);
    return 0;
}
