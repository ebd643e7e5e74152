// core/autocast.cpp — the thread's autocast precision (core/autocast.h).
#include "core/autocast.h"

#include <string>

#include "core/error.h"

namespace nabla {

namespace {
thread_local Precision t_precision = Precision::Float32;
}

Precision autocast_precision() { return t_precision; }
void set_autocast_precision(Precision p) { t_precision = p; }

Precision parse_precision(const char* text) {
    const std::string t = text;
    if (t == "fp32" || t == "float32") return Precision::Float32;
    if (t == "bf16" || t == "bfloat16") return Precision::BFloat16;
    throw ValueError("precision must be fp32 or bf16, got '" + t + "'");
}

}  // namespace nabla
