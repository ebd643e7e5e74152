// backends/cuda/softmax.h — launchers of the softmax kernels (softmax.cu): softmax and log_softmax along one dim of a
// contiguous tensor seen as [outer, n, inner], and their backward from the output y.
//   softmax: y = exp(x - max) / sum exp(x - max);  log_softmax: y = (x - max) - log(sum exp(x - max))
//   backward: softmax gx = y * (gy - sum(y * gy));  log_softmax gx = gy - exp(y) * sum(gy)
// dtype is float32 or float64; every pointer is to contiguous device memory of outer * n * inner elements (> 0).
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace nabla::cuda {

void launch_softmax(DType dtype, bool log, const void* x, void* y, int64_t outer, int64_t n, int64_t inner);
void launch_softmax_backward(DType dtype, bool log, const void* gy, const void* y, void* gx, int64_t outer, int64_t n,
                             int64_t inner);

}  // namespace nabla::cuda
