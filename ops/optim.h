// ops/optim.h — the fused in-place updates of the optimizers, one pass over memory per parameter instead of a chain of
// tensor ops (the math, and why it rounds as torch does, is in backends/common/optim_math.h). nn/optim calls them:
//   sgd_step_(param, grad, momentum_buffer, args)                          torch.optim.SGD (single-tensor form)
//   adam_step_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, args)     torch.optim.Adam and AdamW
//   ema_update_(ema, model, decay)                 ema = decay * ema + (1 - decay) * model (ultralytics' ModelEMA)
// grad and the state tensors are contiguous, of the parameter's shape and dtype (an undefined momentum_buffer means
// momentum 0, an undefined max_exp_avg_sq amsgrad off). A parameter that is a strided view is updated through a
// contiguous copy. They record no gradient and bump the version of every tensor they write.
#pragma once
#include "backends/common/optim_math.h"  // SgdStepArgs, AdamStepArgs
#include "core/tensor.h"

namespace nabla {

void sgd_step_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdStepArgs& args);
void adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const Tensor& max_exp_avg_sq, const AdamStepArgs& args);
void ema_update_(const Tensor& ema, const Tensor& model, double decay);

}  // namespace nabla
