// ops/format.cpp — see format.h.
#include "ops/format.h"

#include <cmath>
#include <type_traits>

#include "autograd/node.h"

namespace nabla {
namespace {

template <class T>
void print_value(std::string& s, T v) {
    if constexpr (std::is_floating_point_v<T>)
        s += v != v ? "nan" : fmt::format("{:.4f}", v);  // never "-nan"
    else if constexpr (std::is_same_v<T, bool>)
        s += v ? "True" : "False";
    else
        s += fmt::format("{}", static_cast<int64_t>(v));
}

void print_dim(std::string& s, const Tensor& t, int64_t dim, std::vector<int64_t>& idx, int indent) {
    const int64_t n = t.size(dim);
    const bool summarize = t.numel() > 1000 && n > 6;
    s += '[';
    for (int64_t i = 0; i < n; ++i) {
        if (summarize && i == 3) {
            s += dim + 1 == t.dim() ? "..., " : "...,\n" + std::string(indent + 1, ' ');
            i = n - 3;
        }
        idx[dim] = i;
        if (dim + 1 == t.dim()) {
            int64_t off = 0;
            for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.strides()[d];
            dispatch_all(t.dtype(), [&]<class T>() { print_value(s, t.data_ptr<T>()[off]); });
        } else {
            print_dim(s, t, dim + 1, idx, indent + 1);
        }
        if (i + 1 < n) s += dim + 1 == t.dim() ? ", " : ",\n" + std::string(static_cast<size_t>(indent + 1), ' ');
    }
    s += ']';
}

}  // namespace

std::string to_string(const Tensor& t_in) {
    if (!t_in.defined()) return "tensor(undefined)";
    Tensor t = t_in.device().is_cpu() ? t_in : t_in.detach().to(kCPU);
    std::string s = "tensor(";
    // As torch: the dtype is shown when the values do not imply it (an empty int64 or bool tensor shows it too).
    bool show_dtype = t.dtype() != kFloat32 && t.dtype() != kInt64 && t.dtype() != kBool;
    if (t.dim() == 0) {
        dispatch_all(t.dtype(), [&]<class T>() { print_value(s, *t.data_ptr<T>()); });
    } else if (t.numel() == 0) {
        s += t.shape() == Shape{0} ? "[]" : fmt::format("[], size={}", t.shape());
        show_dtype = t.dtype() != kFloat32;
    } else {
        std::vector<int64_t> idx(static_cast<size_t>(t.dim()), 0);
        print_dim(s, t, 0, idx, 7);
    }
    if (show_dtype) s += fmt::format(", dtype={}", dtype_name(t.dtype()));
    if (!t_in.device().is_cpu()) s += fmt::format(", device='{}'", t_in.device().str());
    if (t_in.grad_fn())
        s += fmt::format(", grad_fn=<{}>", t_in.grad_fn()->name);
    else if (t_in.requires_grad())
        s += ", requires_grad=True";
    return s + ")";
}

}  // namespace nabla
