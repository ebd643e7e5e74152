// nn/metrics_detail.h — what the metric files (nn/metrics*.cpp) share: reading a tensor's values as doubles, and
// the same-shape check.
// Not part of the public API.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace nabla::metrics::detail {

// The values of t in row-major order, converted to double (any dtype, device and strides; no autograd).
std::vector<double> host_doubles(const Tensor& t);

// A ShapeError "metric: pred [..] and <second> [..] must have the same shape" unless the shapes are equal.
void check_same_shape(const char* metric, const Tensor& pred, const Tensor& target, const char* second = "target");

}  // namespace nabla::metrics::detail
