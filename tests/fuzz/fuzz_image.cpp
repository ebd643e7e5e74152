// tests/fuzz/fuzz_image.cpp — the libFuzzer entry point of the image target: decode_image (read_image's decoder: the
// format sniffing, the size limit, stb_image). Built with -DNABLA_FUZZ=ON under clang; run by scripts/fuzz.sh image.
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    nabla::fuzz::fuzz_image(data, size);
    return 0;
}
