// backends/cuda/optim.h — launchers of the fused optimizer kernels (optim.cu): one pass over a parameter and its
// state per step, with the per-element math of backends/common/optim_math.h (torch's single-tensor SGD and
// Adam/AdamW, ultralytics' ModelEMA). Every pointer is to n contiguous elements of dtype (float32 or float64) on the
// current device; a null momentum_buffer means momentum 0, a null max_exp_avg_sq amsgrad off.
#pragma once
#include <cstdint>

#include "backends/common/optim_math.h"  // SgdStepArgs, AdamStepArgs
#include "core/dtype.h"

namespace nabla::cuda {

void launch_sgd_step(DType dtype, void* param, const void* grad, void* momentum_buffer, int64_t n,
                     const SgdStepArgs& args);
void launch_adam_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_avg_sq, void* max_exp_avg_sq,
                      int64_t n, const AdamStepArgs& args);
void launch_ema_update(DType dtype, void* ema, const void* model, int64_t n, double decay);

}  // namespace nabla::cuda
