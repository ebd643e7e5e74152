// backends/cuda/optim.cpp — CudaBackend::sgd_step, adam_step and ema_update: the in-place updates of one contiguous
// parameter and its state (nn/optim), handed to the kernels of optim.cu. Undefined state tensors are passed as null.
#include "backends/cuda/optim.h"

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"

namespace nabla {

namespace {
void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }
}  // namespace

void CudaBackend::sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                           const SgdStepArgs& args) {
    cuda::DeviceGuard guard(param.device());
    if (param.numel() == 0) return;
    cuda::launch_sgd_step(param.dtype(), param.raw_data(), grad.raw_data(), data_or_null(momentum_buffer),
                          param.numel(), args);
}

void CudaBackend::adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                            const Tensor& max_exp_avg_sq, const AdamStepArgs& args) {
    cuda::DeviceGuard guard(param.device());
    if (param.numel() == 0) return;
    cuda::launch_adam_step(param.dtype(), param.raw_data(), grad.raw_data(), exp_avg.raw_data(), exp_avg_sq.raw_data(),
                           data_or_null(max_exp_avg_sq), param.numel(), args);
}

void CudaBackend::ema_update(const Tensor& ema, const Tensor& model, double decay) {
    cuda::DeviceGuard guard(ema.device());
    if (ema.numel() == 0) return;
    cuda::launch_ema_update(ema.dtype(), ema.raw_data(), model.raw_data(), ema.numel(), decay);
}

}  // namespace nabla
