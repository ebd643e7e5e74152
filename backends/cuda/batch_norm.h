// backends/cuda/batch_norm.h — launchers of the batch norm kernels (backends/cuda/batch_norm.cu), forward and
// backward, on contiguous [N, C, *] tensors read as [N, C, S]. Per-channel vectors (weight, bias, statistics) are [C]
// and contiguous, except the running statistics, which are written through their stride; a null weight or bias is
// affine=False (weight 1, bias 0). Raw device pointers and plain structs only, so that nvcc and the host compiler
// both read it.
#pragma once
#include <cstdint>

#include "backends/common/params.h"
#include "core/dtype.h"

namespace nabla::cuda {

struct BatchNormShape {  // x as [N, C, S], S = prod(*)
    int64_t n, c, s;
};

// Training: each channel's batch mean and biased variance (one block per channel) into save_mean and
// save_invstd = 1 / sqrt(var + eps); running_mean and running_var (both null, or both set) updated in place with
// momentum and the unbiased variance. c >= 1.
void launch_batch_norm_collect_statistics(DType dtype, const void* x, BatchNormShape shape, void* running_mean,
                                          int64_t running_mean_stride, void* running_var, int64_t running_var_stride,
                                          double momentum, double eps, void* save_mean, void* save_invstd);
// Eval: save_mean = running_mean, save_invstd = 1 / sqrt(running_var + eps). c >= 1.
void launch_batch_norm_running_statistics(DType dtype, const void* running_mean, int64_t running_mean_stride,
                                          const void* running_var, int64_t running_var_stride, int64_t c, double eps,
                                          void* save_mean, void* save_invstd);
// y = act((x - mean) * invstd * weight + bias) with the saved statistics. n * c * s >= 1.
void launch_batch_norm_elemt(DType dtype, NormAct act, const void* x, const void* weight, const void* bias,
                             const void* save_mean, const void* save_invstd, void* y, BatchNormShape shape);

// Backward sums per channel (one block per channel), with gz = gy * act'(z): grad_weight = Σ gz x̂ and
// grad_bias = Σ gz (each null when not wanted), and coef [2C] doubles (null when not wanted) = {Σ gz / n, Σ gz x̂ / n}
// per channel, n = N * S, for the training gx. bias is read only with an activation. c >= 1.
void launch_batch_norm_backward_reduce(DType dtype, NormAct act, const void* gy, const void* x, const void* weight,
                                       const void* bias, const void* save_mean, const void* save_invstd,
                                       BatchNormShape shape, void* grad_weight, void* grad_bias, double* coef);
// gx = weight * invstd * (gz - coef[2c] - x̂ coef[2c + 1]) in training, weight * invstd * gz in eval (coef unread).
// x and bias are read only where needed (training, or an activation). n * c * s >= 1.
void launch_batch_norm_backward_elemt(DType dtype, NormAct act, bool training, const void* gy, const void* x,
                                      const void* weight, const void* bias, const void* save_mean,
                                      const void* save_invstd, const double* coef, void* gx, BatchNormShape shape);

}  // namespace nabla::cuda
