// tests/fuzz/fuzz_prepared_list.cpp — the libFuzzer entry point of the prepared_list target: read_prepared_list over
// PFLD's prepared list.txt. Built with -DNABLA_FUZZ=ON under clang; run by scripts/fuzz.sh prepared_list.
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    nabla::fuzz::fuzz_prepared_list(data, size);
    return 0;
}
