// ops/batch_norm.cpp — F.batch_norm (one kernel with its own backward) and F.group_norm (composed of other ops).
//   x: [N, C, *]; batch norm statistics are per channel over the n = N * prod(*) values of that channel.
//   training: mean = Σx / n, var = Σ(x - mean)² / n (biased), invstd = 1 / sqrt(var + eps),
//             y = (x - mean) * invstd * weight + bias;
//             running_mean <- (1 - m) running_mean + m mean,  running_var <- (1 - m) running_var + m var n / (n - 1)
//             (unbiased), in place, under no grad, bumping their version (docs/ops_semantics.md §8).
//   eval:     the same normalisation with running_mean and running_var.
// Backward, with x̂ = (x - mean) * invstd and per-channel sums:
//   training: gx = weight * invstd * (gy - mean(gy) - x̂ mean(gy x̂))    eval: gx = weight * invstd * gy
//   gweight = Σ gy x̂,  gbias = Σ gy.
// The node saves x, weight and the kernel's [C] save_mean / save_invstd (batch or running statistics).
// batch_norm_act: y = act(z) with z the batch norm above; backward gz = gy act'(z) with z recomputed from x, weight,
// bias and the saved statistics (the node saves bias too), then the rules above with gz for gy.
#include "ops/batch_norm.h"

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "backends/backend.h"
#include "core/trace/trace.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace nabla {

using autograd::Grads;
using autograd::NeedsGrad;
using autograd::save;

namespace {

// A per-channel vector argument (weight, bias, running stats): undefined, or [C] of x's dtype and device.
void check_channel_vector(const char* op, const Tensor& t, const char* what, const Tensor& x) {
    if (!t.defined()) return;
    NB_CHECK(t.dim() == 1 && t.size(0) == x.size(1), op, ": ", what, " ", t.shape(), " does not match the ", x.size(1),
             " channels of input ", x.shape());
    if (t.dtype() != x.dtype())
        throw TypeError(detail::concat(op, ": ", what, " is ", dtype_name(t.dtype()), " but input ", x.shape(), " is ",
                                       dtype_name(x.dtype())));
    NB_CHECK(t.device() == x.device(), op, ": ", what, " is on ", t.device(), " but input ", x.shape(), " is on ",
             x.device());
}

Shape channel_shape(const Tensor& x) {  // [1, C, 1, ...] to broadcast a [C] vector over x
    Shape s(static_cast<size_t>(x.dim()), 1);
    s[1] = x.size(1);
    return s;
}

const char* op_name(NormAct act) {
    switch (act) {
        case NormAct::Relu: return "batch_norm_relu";
        case NormAct::Silu: return "batch_norm_silu";
        case NormAct::None: break;
    }
    return "batch_norm";
}

}  // namespace

Tensor batch_norm_act(NormAct act, const Tensor& x_in, const Tensor& running_mean, const Tensor& running_var,
                      const Tensor& weight_in, const Tensor& bias_in, bool training, double momentum, double eps) {
    const char* name = op_name(act);
    trace::OpScope ts(name, x_in, running_mean, running_var, weight_in, bias_in);
    NB_CHECK(x_in.dim() >= 2, name, ": expected input [N, C, *], got ", x_in.shape());
    NB_CHECK_VALUE(is_floating(x_in.dtype()), name, ": expected a floating input, got ", dtype_name(x_in.dtype()), " ",
                   x_in.shape());
    check_channel_vector(name, weight_in, "weight", x_in);
    check_channel_vector(name, bias_in, "bias", x_in);
    check_channel_vector(name, running_mean, "running_mean", x_in);
    check_channel_vector(name, running_var, "running_var", x_in);
    NB_CHECK(running_mean.defined() == running_var.defined(), name,
             ": give both running_mean and running_var or neither (input ", x_in.shape(), ")");
    NB_CHECK(training || running_mean.defined(), name,
             ": running_mean and running_var must be defined in eval mode (input ", x_in.shape(), ")");
    const int64_t channels = x_in.size(1);
    if (training)
        NB_CHECK(channels == 0 || x_in.numel() / channels > 1, name,
                 ": expected more than 1 value per channel when training, got input ", x_in.shape());

    // x: [N, C, *] contiguous, or channels-last [N, C, H, W] (kept: the output has x's layout); weight, bias: [C]
    // contiguous or undefined (contiguous() keeps the tape)
    const Tensor x = x_in.contiguous(x_in.suggest_memory_format());
    const Tensor weight = weight_in.defined() ? weight_in.contiguous() : Tensor();
    const Tensor bias = bias_in.defined() ? bias_in.contiguous() : Tensor();
    BatchNormResult r;
    {
        NoGradGuard no_grad;  // the running statistics are buffers: their update is never on the tape
        r = backend_for(x).batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps, act);
    }
    if (training && running_mean.defined()) {  // the kernel wrote them in place
        running_mean.storage()->bump_version();
        running_var.storage()->bump_version();
    }
    autograd::record(name, {x, weight, bias}, r.output,
                     [training, act, sx = save(x), sw = save(weight), sb = save(act == NormAct::None ? Tensor() : bias),
                      sm = save(r.save_mean), si = save(r.save_invstd)](const Tensor& gy, const NeedsGrad& needs) {
                         const BatchNormGrads g = backend_for(gy).batch_norm_backward(
                             gy.contiguous(sx.get().suggest_memory_format()), sx.get(), sw.get(), sb.get(), sm.get(),
                             si.get(), training, act, {needs[0], needs[1], needs[2]});
                         return Grads{g.input, g.weight, g.bias};  // [N, C, *], [C], [C]
                     });
    return r.output;
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
    return batch_norm_act(NormAct::None, x, running_mean, running_var, weight, bias, training, momentum, eps);
}

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
    trace::OpScope ts("group_norm", x, weight, bias);
    NB_CHECK(x.dim() >= 2, "group_norm: expected input [N, C, *], got ", x.shape());
    const int64_t n = x.size(0), c = x.size(1);
    NB_CHECK_VALUE(num_groups > 0 && c % num_groups == 0, "group_norm: expected the ", c, " channels of input ",
                   x.shape(), " to be divisible by num_groups=", num_groups);
    check_channel_vector("group_norm", weight, "weight", x);
    check_channel_vector("group_norm", bias, "bias", x);
    const int64_t per_group = n * num_groups > 0 ? x.numel() / (n * num_groups) : 0;
    Tensor xg = x.reshape({n, num_groups, per_group});                         // [N, G, C/G * prod(*)]
    Tensor centered = sub(xg, mean(xg, {2}, true));                            // [N, G, C/G * prod(*)]
    Tensor var_biased = mean(mul(centered, centered), {2}, true);              // [N, G, 1]
    Tensor y = mul(centered, rsqrt(add(var_biased, eps))).reshape(x.shape());  // [N, C, *]
    if (weight.defined()) y = mul(y, weight.reshape(channel_shape(x)));
    if (bias.defined()) y = add(y, bias.reshape(channel_shape(x)));
    return y;
}

}  // namespace nabla
