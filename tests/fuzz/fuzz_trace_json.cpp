// tests/fuzz/fuzz_trace_json.cpp — the libFuzzer entry point of the trace_json target: trace::read_json over a Chrome
// trace. Built with -DNABLA_FUZZ=ON under clang; run by scripts/fuzz.sh trace_json.
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    nabla::fuzz::fuzz_trace_json(data, size);
    return 0;
}
