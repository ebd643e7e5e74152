// ops/loss.cpp — torch.nn.functional losses composed of elementwise, reduction and softmax ops (their gradients
// follow from those ops; no backward of their own). Per element, with d = input - target:
//   l1: |d|   mse: d²   smooth_l1: |d| < beta ? 0.5 d² / beta : |d| - 0.5 beta
//   binary_cross_entropy: -w (t max(log p, -100) + (1 - t) max(log(1 - p), -100))
//   binary_cross_entropy_with_logits: w ((1 - t) z + lw softplus(-z)), lw = 1 + (pos_weight - 1) t, where
//     softplus(-z) = log(1 + exp(-z)) is PyTorch's max(-z, 0) + log1p(exp(-|z|)), stable for any z;
//     without pos_weight the gradient is w (σ(z) - t).
//   The clamp of binary_cross_entropy: where p is 0 or 1 the forward equals PyTorch's (100 per clamped log) and the
//     gradient is that of the clamped function (finite; 0 through a clamped log), where PyTorch's hand-written
//     (p - t) / max(p (1 - p), 1e-12) gives ±1e12 or 0. Inputs outside [0, 1] are an error, as in PyTorch.
//   nll_loss: -w[t] logp[t], picked with a one-hot mask eq(arange(C), t) (no gather), which is all zero where t is
//     ignore_index; Mean divides by Σ w[t] over the kept targets (NaN when none is kept, as PyTorch).
//   cross_entropy: log_softmax over dim 1, then nll_loss; label smoothing ls adds ls / C Σ_c -w[c] logp[c] per sample
//     (PyTorch 1.13's cross_entropy_loss_label_smoothing, same denominator);
//     probability targets t: -Σ_c w[c] t'[c] logp[c] with t' = (1 - ls) t + ls / C, Mean over the N * d samples.
#include "ops/loss.h"

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "backends/backend.h"
#include "core/trace/trace.h"
#include "ops/activation.h"
#include "ops/elementwise.h"
#include "ops/factory.h"
#include "ops/reduce.h"
#include "ops/softmax.h"

namespace nabla {

namespace {

Tensor reduce_loss(const Tensor& loss, Reduction reduction) {
    switch (reduction) {
        case Reduction::None: return loss;
        case Reduction::Sum: return sum(loss);
        case Reduction::Mean: break;
    }
    return mean(loss);
}

void check_same_shape(const char* op, const Tensor& input, const Tensor& target) {
    NB_CHECK(input.shape() == target.shape(), op, ": target ", target.shape(), " must have the same shape as input ",
             input.shape());
}

void check_broadcasts_to(const char* op, const Tensor& t, const char* what, const Tensor& input) {
    if (!t.defined()) return;
    bool fits = t.dim() <= input.dim();
    for (int64_t i = 1; fits && i <= t.dim(); ++i) fits = t.size(-i) == 1 || t.size(-i) == input.size(-i);
    NB_CHECK(fits, op, ": ", what, " ", t.shape(), " does not broadcast to input ", input.shape());
}

// log(p) clamped at -100 as PyTorch's BCE, with a zero gradient (not 0 * inf = NaN) where p = 0.
Tensor clamped_log(const Tensor& p) {
    Tensor positive = gt(p, 0.0);
    return where(positive, clamp(log(where(positive, p, 1.0)), -100.0, std::nullopt), -100.0);
}

// The class-index half of nll_loss: per element -w[t] logp[t] and w[t], both 0 where t is ignored.
//   logp: [N, C, d...], target: int64 [N, d...] -> loss, weight_of_target: [N, d...]
struct Picked {
    Tensor loss, weight_of_target;
};
Picked pick_targets(const char* op, const Tensor& logp, const Tensor& target, const Tensor& weight,
                    int64_t ignore_index) {
    if (target.dtype() != kInt64)
        throw TypeError(detail::concat(op, ": expected int64 class indices as target, got ", dtype_name(target.dtype()),
                                       " ", target.shape(), " (input ", logp.shape(), ")"));
    NB_CHECK(logp.dim() >= 2, op, ": expected input [N, C] or [N, C, d1, ...], got ", logp.shape());
    const int64_t classes = logp.size(1);
    Shape expected = logp.shape();
    expected.erase(expected.begin() + 1);
    NB_CHECK(target.shape() == expected, op, ": expected target ", expected, " for input ", logp.shape(),
             ", got target ", target.shape());
    if (weight.defined())
        NB_CHECK(weight.dim() == 1 && weight.size(0) == classes, op, ": weight ", weight.shape(),
                 " must have one entry per class of input ", logp.shape());
    {  // every target is a class or ignore_index (PyTorch: "Target 7 is out of bounds.")
        const Tensor host = target.to(kCPU).contiguous();
        const int64_t* pt = host.data_ptr<int64_t>();
        for (int64_t i = 0; i < host.numel(); ++i)
            if (pt[i] != ignore_index && (pt[i] < 0 || pt[i] >= classes))
                throw IndexError(detail::concat(op, ": target ", pt[i], " is out of bounds for ", classes,
                                                " classes (input ", logp.shape(), ", ignore_index ", ignore_index,
                                                ")"));
    }
    Shape class_shape(static_cast<size_t>(logp.dim()), 1);  // [1, C, 1, ...]
    class_shape[1] = classes;
    const Tensor t = target.unsqueeze(1);  // [N, 1, d...]
    const Tensor class_ids = arange(static_cast<double>(classes), {.dtype = kInt64, .device = logp.device()});
    Tensor onehot = eq(class_ids.reshape(class_shape), t);  // [N, C, d...]
    if (ignore_index >= 0 && ignore_index < classes)
        onehot = logical_and(onehot, ne(t, static_cast<double>(ignore_index)));
    Tensor w_onehot = onehot.to(logp.dtype());  // [N, C, d...]: w[t] at the target class, 0 elsewhere
    if (weight.defined()) w_onehot = mul(w_onehot, weight.reshape(class_shape));
    return {neg(sum(mul(logp, w_onehot), {1})), sum(w_onehot, {1})};
}

Tensor reduce_weighted(const Tensor& loss, const Tensor& weight_of_target, Reduction reduction) {
    if (reduction == Reduction::Mean) return div(sum(loss), sum(weight_of_target));
    return reduce_loss(loss, reduction);
}

// A [C] input (with a [] class or [C] probability target) is one sample: run it with a batch dim of 1, then drop it.
template <class F>
Tensor unbatched(const Tensor& input, const Tensor& target, Reduction reduction, F&& f) {
    if (input.dim() != 1) return f(input, target);
    Tensor loss = f(input.unsqueeze(0), target.unsqueeze(0));
    return reduction == Reduction::None ? loss.squeeze(0) : loss;
}

}  // namespace

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
    trace::OpScope ts("l1_loss", input, target);
    check_same_shape("l1_loss", input, target);
    return reduce_loss(abs(sub(input, target)), reduction);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
    trace::OpScope ts("mse_loss", input, target);
    check_same_shape("mse_loss", input, target);
    Tensor d = sub(input, target);
    return reduce_loss(mul(d, d), reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta) {
    trace::OpScope ts("smooth_l1_loss", input, target);
    check_same_shape("smooth_l1_loss", input, target);
    NB_CHECK_VALUE(beta >= 0, "smooth_l1_loss: beta must be non-negative, got ", beta);
    if (beta == 0) return l1_loss(input, target, reduction);
    Tensor d = sub(input, target);
    Tensor ad = abs(d);
    return reduce_loss(where(lt(ad, beta), mul(mul(d, d), 0.5 / beta), sub(ad, 0.5 * beta)), reduction);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, Reduction reduction) {
    trace::OpScope ts("binary_cross_entropy", input, target, weight);
    check_same_shape("binary_cross_entropy", input, target);
    check_broadcasts_to("binary_cross_entropy", weight, "weight", input);
    if (input.numel() > 0) {
        NoGradGuard no_grad;
        const double lo = min(input).item<double>(), hi = max(input).item<double>();
        NB_CHECK_VALUE(lo >= 0 && hi <= 1, "binary_cross_entropy: all elements of input ", input.shape(),
                       " should be between 0 and 1, got values in [", lo, ", ", hi, "]");
    }
    Tensor loss = neg(add(mul(target, clamped_log(input)), mul(1.0 - target, clamped_log(1.0 - input))));
    if (weight.defined()) loss = mul(loss, weight);
    return reduce_loss(loss, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        const Tensor& pos_weight, Reduction reduction) {
    trace::OpScope ts("binary_cross_entropy_with_logits", input, target, weight, pos_weight);
    check_same_shape("binary_cross_entropy_with_logits", input, target);
    check_broadcasts_to("binary_cross_entropy_with_logits", weight, "weight", input);
    check_broadcasts_to("binary_cross_entropy_with_logits", pos_weight, "pos_weight", input);
    Tensor loss;
    if (!autograd::needs_grad({target, pos_weight})) {
        // The common case (gradient for the logits only): one fused kernel each way, backends/common/loss_math.h.
        const Shape& shape = input.shape();
        const Tensor t = target.detach(),
                     pw = pos_weight.defined() ? pos_weight.detach().to(input.dtype()).expand(shape) : Tensor();
        loss = backend_for(input).bce_with_logits(input, t, pw);
        autograd::record(
            "binary_cross_entropy_with_logits", {input}, loss,
            [sx = autograd::save(input), st = autograd::save(t), pw](const Tensor& gy, const autograd::NeedsGrad&) {
                return autograd::Grads{backend_for(gy).bce_with_logits_backward(gy, sx.get(), st.get(), pw)};
            });
    } else {  // gradients for targets or pos_weight too: composed of ops, so the tape derives them
        Tensor log_sigmoid_neg = softplus(neg(input));  // log(1 + exp(-z)) = -log σ(z)
        if (pos_weight.defined()) log_sigmoid_neg = mul(add(mul(sub(pos_weight, 1.0), target), 1.0), log_sigmoid_neg);
        loss = add(mul(1.0 - target, input), log_sigmoid_neg);
    }
    if (weight.defined()) loss = mul(loss, weight);
    return reduce_loss(loss, reduction);
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                Reduction reduction) {
    trace::OpScope ts("nll_loss", input, target, weight);
    return unbatched(input, target, reduction, [&](const Tensor& logp, const Tensor& t) {
        Picked p = pick_targets("nll_loss", logp, t, weight, ignore_index);
        return reduce_weighted(p.loss, p.weight_of_target, reduction);
    });
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     Reduction reduction, double label_smoothing) {
    trace::OpScope ts("cross_entropy", input, target, weight);
    NB_CHECK_VALUE(label_smoothing >= 0 && label_smoothing <= 1,
                   "cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
    NB_CHECK(input.dim() >= 1, "cross_entropy: expected input [N, C], [N, C, d1, ...] or [C], got ", input.shape());
    return unbatched(input, target, reduction, [&](const Tensor& x, const Tensor& t) {
        const int64_t classes = x.size(1);
        const double ls = label_smoothing;
        Shape class_shape(static_cast<size_t>(x.dim()), 1);  // [1, C, 1, ...]
        class_shape[1] = classes;
        if (weight.defined())
            NB_CHECK(weight.dim() == 1 && weight.size(0) == classes, "cross_entropy: weight ", weight.shape(),
                     " must have one entry per class of input ", x.shape());
        Tensor logp = log_softmax(x, 1);  // [N, C, d...]
        Tensor w_logp = weight.defined() ? mul(logp, weight.reshape(class_shape)) : logp;
        if (is_floating(t.dtype())) {  // class probabilities [N, C, d...]; Mean divides by the N * d samples
            NB_CHECK(t.shape() == x.shape(), "cross_entropy: probability target ", t.shape(),
                     " must have the same shape as input ", x.shape());
            Tensor tp = ls > 0 ? add(mul(t, 1 - ls), ls / static_cast<double>(classes)) : t;
            Tensor loss = neg(sum(mul(w_logp, tp), {1}));
            return reduce_loss(loss, reduction);
        }
        Picked p = pick_targets("cross_entropy", logp, t, weight, ignore_index);
        if (ls == 0) return reduce_weighted(p.loss, p.weight_of_target, reduction);
        Tensor smooth = where(ne(t, static_cast<double>(ignore_index)), neg(sum(w_logp, {1})), 0.0);  // [N, d...]
        const double a = 1 - ls, b = ls / static_cast<double>(classes);
        if (reduction == Reduction::None) return add(mul(p.loss, a), mul(smooth, b));
        Tensor total = add(mul(sum(p.loss), a), mul(sum(smooth), b));
        return reduction == Reduction::Sum ? total : div(total, sum(p.weight_of_target));
    });
}

}  // namespace nabla
