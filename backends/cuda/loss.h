// backends/cuda/loss.h — launchers of the fused binary_cross_entropy_with_logits kernels (loss.cu); the math is
// backends/common/loss_math.h. Every operand has the output's n elements, in one of two geometries:
//   flat     each operand dense (step 1) or one value broadcast (step 0), read at i * step: the common case
//   strided  any strides (zero where broadcast), through a StridedIndexer over the output's shape
// pw may be null: a pos_weight of 1. The output is contiguous. dtype is float32 or float64.
#pragma once
#include <cstdint>

#include "backends/common/strided_index.h"
#include "core/dtype.h"

namespace nabla::cuda {

struct BceSteps {  // element i of each operand is at i * step (0 or 1)
    int64_t x = 1, t = 1, pw = 0, gy = 1;
};

// loss = bce_with_logits_fn(x, t, pw); ix operands: {y, x, t, pw}
void launch_bce_with_logits(DType dtype, const void* x, const void* t, const void* pw, void* y, int64_t n,
                            const BceSteps& steps);
void launch_bce_with_logits(DType dtype, const void* x, const void* t, const void* pw, void* y, int64_t n,
                            const StridedIndexer<4>& ix);

// gx = gy * bce_with_logits_grad(x, t, pw); ix operands: {gx, gy, x, t, pw}
void launch_bce_with_logits_backward(DType dtype, const void* gy, const void* x, const void* t, const void* pw,
                                     void* gx, int64_t n, const BceSteps& steps);
void launch_bce_with_logits_backward(DType dtype, const void* gy, const void* x, const void* t, const void* pw,
                                     void* gx, int64_t n, const StridedIndexer<5>& ix);

}  // namespace nabla::cuda
