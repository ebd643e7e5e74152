// ops/format.h — printing tensors with fmt, in PyTorch's layout:
//   tensor([[1.0000, 2.0000],
//           [3.0000, 4.0000]], dtype=float64, requires_grad=True)
//   tensor(True)   tensor([], size=[2, 0])   tensor([2.0000, 4.0000], grad_fn=<mul>)
// Large tensors are summarised with "..." (the first and last 3 entries of each dim), as torch does. Simpler than
// torch: floats always with 4 decimals, no column padding, dtypes without "torch.", grad_fn named by its op.
#pragma once
#include <fmt/format.h>

#include <string>

#include "core/tensor.h"

namespace nabla {
std::string to_string(const Tensor& t);
}

template <>
struct fmt::formatter<nabla::Tensor> : fmt::formatter<std::string> {
    auto format(const nabla::Tensor& t, fmt::format_context& ctx) const {
        return fmt::formatter<std::string>::format(nabla::to_string(t), ctx);
    }
};
