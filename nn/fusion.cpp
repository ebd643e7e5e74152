// nn/fusion.cpp — the fused paths of BatchNorm2d + activation and Conv2d + BatchNorm2d + activation (nn/fusion.h).
#include "nn/fusion.h"

#include "autograd/grad_mode.h"
#include "core/trace/trace.h"
#include "nn/activation.h"
#include "ops/activation.h"
#include "ops/conv.h"
#include "ops/elementwise.h"

namespace nabla::nn {

namespace {

// The trace scope a module's own call would open, for the fused call that stands in for it.
trace::ModuleScope module_scope(const Module& m) {
    return trace::ModuleScope([&m] {
        std::string p = m.path();
        return p.empty() ? m.type_name() : p;
    });
}

// Folding needs the running statistics, and only inference may skip the batch statistics and the tape.
bool can_fold(const BatchNorm2d& bn) {
    return !bn.is_training() && bn.options.track_running_stats && !autograd::is_grad_enabled() && !has_forward_hooks();
}

}  // namespace

NormAct fusable_activation(const Module& act) {
    if (dynamic_cast<const ReLU*>(&act)) return NormAct::Relu;
    if (dynamic_cast<const SiLU*>(&act)) return NormAct::Silu;
    return NormAct::None;
}

Tensor bn_act(BatchNorm2d& bn, Module& act, const Tensor& x) {
    const NormAct a = fusable_activation(act);
    if (a == NormAct::None || has_forward_hooks()) return act(bn(x));
    return bn_act(bn, a, x);
}

Tensor bn_act(BatchNorm2d& bn, NormAct act, const Tensor& x) {
    if (act == NormAct::None) return bn(x);
    if (has_forward_hooks()) return act == NormAct::Relu ? relu(bn(x)) : silu(bn(x));
    const auto scope = module_scope(bn);
    return bn.forward_act(x, act);
}

Tensor conv_bn_act(Conv2d& conv, BatchNorm2d& bn, Module& act, const Tensor& x) {
    const NormAct a = fusable_activation(act);
    if (a == NormAct::None) return act(conv_bn_act(conv, bn, NormAct::None, x));  // Identity or another activation
    if (!can_fold(bn)) return bn_act(bn, act, conv(x));
    return conv_bn_act(conv, bn, a, x);
}

Tensor conv_bn_act(Conv2d& conv, BatchNorm2d& bn, NormAct act, const Tensor& x) {
    if (!can_fold(bn)) return bn_act(bn, act, conv(x));
    const auto scope = module_scope(conv);
    NB_CHECK(bn.num_features == conv.out_channels, "conv_bn_act: BatchNorm2d(", bn.num_features,
             ") cannot follow a conv with ", conv.out_channels, " output channels");
    Tensor s = rsqrt(bn.running_var + bn.options.eps);  // [C_out]
    if (bn.weight.defined()) s = s * bn.weight;
    Tensor b = conv.bias.defined() ? (conv.bias - bn.running_mean) * s : -(bn.running_mean * s);
    if (bn.bias.defined()) b = b + bn.bias;
    const Tensor w = conv.weight * s.reshape({-1, 1, 1, 1});
    return conv2d_act(act, x, w, b, conv.op_options());
}

}  // namespace nabla::nn
