// ops/sort.h — torch.sort (always stable), argsort and topk along one dim.
//   x: [*pre, n, *post] -> values, indices: [*pre, n (sort) or k (topk), *post]; indices are int64 positions along dim.
// NaN sorts as larger than every number. The values carry a gradient (scattered back through the indices).
#pragma once
#include "core/tensor.h"

namespace nabla {

ValuesIndices sort(const Tensor& x, int64_t dim = -1, bool descending = false);
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false);
// The k largest (or smallest) along dim; sorted=false is accepted, and the result is sorted anyway.
ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);

}  // namespace nabla
