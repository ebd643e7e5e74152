// core/trace/shapes.cpp — the input shapes of op scopes (torch.profiler's record_shapes, shown as key_averages'
// "Input Shapes"): "f32[8,3,288,288],f32[16,3,3,3]", one dtype[dims] per defined input, in argument order.
//
// Only recorded op scopes of a session with Config::shapes come here (trace::OpScope, core/trace/trace.cpp begin_op).
// The text is built in a reused per-thread buffer and looked up in a per-thread cache of interned texts, so a
// training step whose shapes were seen before does no heap work; the records keep the interned pointer. Undefined
// tensors (a missing bias) are left out. dtypes as in jax/XLA: f32 f64 i64 u8 bool.
#include <charconv>
#include <string>
#include <unordered_map>

#include "core/tensor.h"
#include "core/trace/trace.h"

namespace nabla::trace::detail {

namespace {

const char* short_dtype(DType t) {
    switch (t) {
        case DType::Float32: return "f32";
        case DType::Float64: return "f64";
        case DType::Int64: return "i64";
        case DType::UInt8: return "u8";
        case DType::Bool: return "bool";
    }
    return "?";
}

struct ShapeCache {
    std::string text;                                       // reused: capacity grows once
    std::unordered_map<std::string, const char*> interned;  // text -> intern(text)
};
ShapeCache& cache() {
    thread_local ShapeCache c;
    return c;
}

void append(std::string& out, const Tensor& t) {
    if (!t.defined()) return;
    if (!out.empty()) out += ',';
    out += short_dtype(t.dtype());
    out += '[';
    char digits[24];
    const Shape& shape = t.shape();
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) out += ',';
        const auto r = std::to_chars(digits, digits + sizeof digits, shape[i]);
        out.append(digits, r.ptr);
    }
    out += ']';
}

const char* finish(ShapeCache& c) {
    if (auto it = c.interned.find(c.text); it != c.interned.end()) return it->second;
    const char* p = intern(c.text);
    c.interned.emplace(c.text, p);
    return p;
}

}  // namespace

const char* intern_shapes(const Tensor* const* inputs, size_t n) {
    ShapeCache& c = cache();
    c.text.clear();
    for (size_t i = 0; i < n; ++i) append(c.text, *inputs[i]);
    return finish(c);
}

const char* intern_shapes(const std::vector<Tensor>& inputs) {
    ShapeCache& c = cache();
    c.text.clear();
    for (const Tensor& t : inputs) append(c.text, t);
    return finish(c);
}

}  // namespace nabla::trace::detail
