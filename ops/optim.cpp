// ops/optim.cpp — the fused optimizer updates: shape checks, the kernel call, and the version bumps.
#include "ops/optim.h"

#include <initializer_list>

#include "backends/backend.h"

namespace nabla {
namespace {

// Every defined tensor of `state` must match the parameter: same shape, same dtype, contiguous.
void check_state(const char* op, const Tensor& param, std::initializer_list<const Tensor*> state) {
    NB_CHECK_VALUE(is_floating(param.dtype()), op, ": the parameter must be floating point, got ",
                   dtype_name(param.dtype()));
    for (const Tensor* t : state) {
        if (!t->defined()) continue;
        if (t->shape() != param.shape())
            throw ShapeError(detail::concat(op, ": parameter ", param.shape(), " and a gradient or state tensor ",
                                            t->shape(), " differ in shape"));
        NB_CHECK_VALUE(t->dtype() == param.dtype() && t->is_contiguous(), op,
                       ": gradient and state must be contiguous and of the parameter's dtype ",
                       dtype_name(param.dtype()));
    }
}

// Runs `kernel(p)` on the parameter, or on a contiguous copy that is then copied back when it is a strided view.
template <class F>
void on_contiguous(const Tensor& param, F&& kernel) {
    if (param.is_contiguous()) {
        kernel(param);
    } else {
        const Tensor p = param.contiguous();
        kernel(p);
        param.detach().copy_(p);
    }
    param.storage()->bump_version();
}

void bump(std::initializer_list<const Tensor*> written) {
    for (const Tensor* t : written)
        if (t->defined()) t->storage()->bump_version();
}

}  // namespace

void sgd_step_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdStepArgs& args) {
    check_state("sgd_step_", param, {&grad, &momentum_buffer});
    on_contiguous(param, [&](const Tensor& p) { backend_for(p).sgd_step(p, grad, momentum_buffer, args); });
    bump({&momentum_buffer});
}

void adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const Tensor& max_exp_avg_sq, const AdamStepArgs& args) {
    check_state("adam_step_", param, {&grad, &exp_avg, &exp_avg_sq, &max_exp_avg_sq});
    on_contiguous(
        param, [&](const Tensor& p) { backend_for(p).adam_step(p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, args); });
    bump({&exp_avg, &exp_avg_sq, &max_exp_avg_sq});
}

void ema_update_(const Tensor& ema, const Tensor& model, double decay) {
    check_state("ema_update_", ema, {&model});
    NB_CHECK_VALUE(ema.is_contiguous(), "ema_update_: the average must be contiguous");
    backend_for(ema).ema_update(ema, model, decay);
    bump({&ema});
}

}  // namespace nabla
