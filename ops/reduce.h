// ops/reduce.h — reductions (torch.sum, mean, max, min, amax, amin, argmax, argmin, var, std, norm).
// `dims` empty means all dims. max/min over one dim return values and int64 indices (the first extreme wins);
// amax/amin's gradient is shared evenly among ties, as in PyTorch. var/std use Bessel's correction by default.
#pragma once
#include "core/tensor.h"

namespace nabla {

Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor amax(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor max(const Tensor& x);  // over all elements
Tensor min(const Tensor& x);
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim = false);
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor var(const Tensor& x, const Shape& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor std(const Tensor& x, const Shape& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor norm(const Tensor& x, double p = 2.0, const Shape& dims = {}, bool keepdim = false);
// Sums a broadcast tensor back to `shape` (torch's Tensor.sum_to_size): the gradient of expand and of broadcasting.
Tensor sum_to(const Tensor& grad, const Shape& shape);

// True when every element of a floating tensor is finite (torch.isfinite(x).all()); integer tensors always are.
bool all_finite(const Tensor& x);

}  // namespace nabla
