// nn/optim/clip_grad.cpp — clip_grad_norm_ and clip_grad_value_ (torch/nn/utils/clip_grad.py) composed of ops.
#include "nn/optim/clip_grad.h"

#include <cmath>

#include "ops/ops.h"

namespace nabla::optim {

Tensor clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
    NoGradGuard no_grad;
    std::vector<Tensor> grads;
    for (const auto& p : parameters)
        if (p.grad().defined()) grads.push_back(p.grad());
    if (grads.empty()) return zeros({});
    DType dtype = grads[0].dtype();  // torch.stack promotes the per-tensor norms to one dtype
    for (const auto& g : grads)
        if (g.dtype() == kFloat64) dtype = kFloat64;
    std::vector<Tensor> norms;
    for (const auto& g : grads) norms.push_back(norm(g, norm_type).to(dtype));
    const Tensor total = std::isinf(norm_type) && norm_type > 0 ? amax(stack(norms)) : norm(stack(norms), norm_type);
    const double value = total.item<double>();
    if (error_if_nonfinite && !std::isfinite(value))
        throw Error(detail::concat("clip_grad_norm_: the total norm of order ", norm_type, " of the gradients of ",
                                   grads.size(), " parameters is ", value, ", so it cannot be clipped (pass ",
                                   "error_if_nonfinite=false to scale the gradients by it anyway)"));
    // max_norm / (total + 1e-6) clamped to 1, in the norm's dtype; torch's number / tensor is reciprocal(t) * number
    const Tensor coef = clamp(mul(reciprocal(add(total, 1e-6)), max_norm), std::nullopt, 1.0);
    for (auto& g : grads) g.mul_(coef);
    return total;
}

void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value) {
    NoGradGuard no_grad;
    for (const auto& p : parameters)
        if (Tensor g = p.grad(); g.defined()) g.clamp_(-clip_value, clip_value);
}

}  // namespace nabla::optim
