// ops/optim.cpp — the fused optimizer updates: shape checks, the kernel call, and the version bumps.
#include "ops/optim.h"

#include <initializer_list>
#include <utility>

#include "backends/backend.h"

namespace nabla {
namespace {

// The parameter is floating point; every defined tensor of `state` (named as the op's arguments) matches it: same
// shape, dtype and device, contiguous.
void check_state(const char* op, const Tensor& param,
                 std::initializer_list<std::pair<const char*, const Tensor*>> state) {
    NB_CHECK_VALUE(is_floating(param.dtype()), op, ": the parameter must be floating point, got ",
                   dtype_name(param.dtype()));
    for (const auto& [name, t] : state) {
        if (!t->defined()) continue;
        if (t->shape() != param.shape())
            throw ShapeError(
                detail::concat(op, ": ", name, " ", t->shape(), " does not match the parameter ", param.shape()));
        NB_CHECK_VALUE(t->dtype() == param.dtype(), op, ": ", name, " is ", dtype_name(t->dtype()), ", the parameter ",
                       dtype_name(param.dtype()));
        NB_CHECK_VALUE(t->device() == param.device(), op, ": ", name, " is on ", t->device(), ", the parameter on ",
                       param.device());
        NB_CHECK_VALUE(t->is_contiguous(), op, ": ", name, " ", t->shape(), " must be contiguous (strides ",
                       t->strides(), ")");
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
    check_state("sgd_step_", param, {{"grad", &grad}, {"momentum_buffer", &momentum_buffer}});
    on_contiguous(param, [&](const Tensor& p) { backend_for(p).sgd_step(p, grad, momentum_buffer, args); });
    bump({&momentum_buffer});
}

void adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const Tensor& max_exp_avg_sq, const AdamStepArgs& args) {
    check_state(
        "adam_step_", param,
        {{"grad", &grad}, {"exp_avg", &exp_avg}, {"exp_avg_sq", &exp_avg_sq}, {"max_exp_avg_sq", &max_exp_avg_sq}});
    on_contiguous(
        param, [&](const Tensor& p) { backend_for(p).adam_step(p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, args); });
    bump({&exp_avg, &exp_avg_sq, &max_exp_avg_sq});
}

void ema_update_(const Tensor& ema, const Tensor& model, double decay) {
    check_state("ema_update_", ema, {{"model", &model}, {"the average", &ema}});
    backend_for(ema).ema_update(ema, model, decay);
    bump({&ema});
}

}  // namespace nabla
