// backends/composite.cpp — the fused kernels written with the primitive ones: the defaults of Backend for softmax,
// binary_cross_entropy_with_logits and the optimizer and EMA steps, so that a new backend trains a model with
// fill_, copy_, unary, binary and reduce alone. The reference, cpu and cuda backends override them with one pass
// over memory; these follow the same formulas in the same order (backends/common/loss_math.h, optim_math.h), so a
// backend that relies on them computes what the fused kernels compute, to rounding.
#include "backends/backend.h"

namespace nabla {
namespace {

// Elementwise arithmetic on one backend for tensors of one shape and dtype, written out like the ops it stands for.
class Elementwise {
public:
    Elementwise(Backend& backend, const Tensor& like) : b_(backend), shape_(like.shape()), options_(like.options()) {}

    Tensor scalar(double value) {  // `value` rounded to the dtype, broadcast to the shape
        Tensor s = kernel::empty({}, options_);
        b_.fill_(s, value);
        return kernel::expand(s, shape_);
    }
    Tensor unary(UnaryOp op, const Tensor& x, UnaryArgs args = {}) {
        Tensor out = kernel::empty(shape_, options_);
        b_.unary(op, x, out, args);
        return out;
    }
    Tensor binary(BinaryOp op, const Tensor& x, const Tensor& y) {
        Tensor out = kernel::empty(shape_, options_);
        b_.binary(op, x, y, out);
        return out;
    }
    Tensor add(const Tensor& x, const Tensor& y) { return binary(BinaryOp::Add, x, y); }
    Tensor sub(const Tensor& x, const Tensor& y) { return binary(BinaryOp::Sub, x, y); }
    Tensor mul(const Tensor& x, const Tensor& y) { return binary(BinaryOp::Mul, x, y); }
    Tensor div(const Tensor& x, const Tensor& y) { return binary(BinaryOp::Div, x, y); }
    Tensor mul(const Tensor& x, double c) { return mul(x, scalar(c)); }
    void assign(const Tensor& dst, const Tensor& src) { b_.copy_(dst, src); }  // dst = src, in place

private:
    Backend& b_;
    Shape shape_;
    TensorOptions options_;
};

// The reduction over `dim` kept as a size-1 dim and broadcast back to x's shape.
Tensor reduce_broadcast(Backend& b, ReduceOp op, const Tensor& x, int64_t dim) {
    return kernel::expand(b.reduce(op, x, {dim}, true), x.shape());
}

}  // namespace

// softmax: e = exp(x - max), y = e / sum(e); log_softmax: (x - max) - log(sum(e)).
Tensor Backend::softmax(const Tensor& x, int64_t dim, bool log) {
    Elementwise e(*this, x);
    const Tensor shifted = e.sub(x, reduce_broadcast(*this, ReduceOp::Max, x, dim));
    const Tensor exps = e.unary(UnaryOp::Exp, shifted);
    const Tensor sums = reduce(ReduceOp::Sum, exps, {dim}, true);
    if (!log) return e.div(exps, kernel::expand(sums, x.shape()));
    Tensor log_sums = kernel::empty(sums.shape(), sums.options());
    unary(UnaryOp::Log, sums, log_sums, {});
    return e.sub(shifted, kernel::expand(log_sums, x.shape()));
}

// softmax: gx = y (gy - sum(gy y)); log_softmax: gx = gy - exp(y) sum(gy).
Tensor Backend::softmax_backward(const Tensor& gy, const Tensor& y, int64_t dim, bool log) {
    Elementwise e(*this, y);
    if (!log) return e.mul(y, e.sub(gy, reduce_broadcast(*this, ReduceOp::Sum, e.mul(gy, y), dim)));
    return e.sub(gy, e.mul(e.unary(UnaryOp::Exp, y), reduce_broadcast(*this, ReduceOp::Sum, gy, dim)));
}

// loss = (1 - t) z + lw softplus(-z), lw = 1 + (pw - 1) t; softplus with torch's threshold 20, past which it is -z.
Tensor Backend::bce_with_logits(const Tensor& z, const Tensor& t, const Tensor& pw) {
    Elementwise e(*this, z);
    const Tensor one = e.scalar(1.0);
    const Tensor lw = pw.defined() ? e.add(one, e.mul(e.sub(pw, one), t)) : one;
    const Tensor softplus_neg = e.unary(UnaryOp::Softplus, e.unary(UnaryOp::Neg, z), UnaryArgs::softplus(1.0, 20.0));
    return e.add(e.mul(e.sub(one, t), z), e.mul(lw, softplus_neg));
}

// d loss / dz = (1 - t) - lw sigmoid(-z), times gy.
Tensor Backend::bce_with_logits_backward(const Tensor& gy, const Tensor& z, const Tensor& t, const Tensor& pw) {
    Elementwise e(*this, z);
    const Tensor one = e.scalar(1.0);
    const Tensor lw = pw.defined() ? e.add(one, e.mul(e.sub(pw, one), t)) : one;
    const Tensor sigmoid_neg = e.unary(UnaryOp::Sigmoid, e.unary(UnaryOp::Neg, z));
    return e.mul(gy, e.sub(e.sub(one, t), e.mul(lw, sigmoid_neg)));
}

// torch.optim.SGD, single tensor, in optim_math.h's order and with its coefficients (sgd_coeffs):
// d = (maximize ? -g : g) + wd p; buf = first ? d : momentum buf + (1 - dampening) d;
// d = nesterov ? d + momentum buf : buf; p = p - lr d.
void Backend::sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdStepArgs& a) {
    const SgdCoeffs<double> c = sgd_coeffs<double>(a);  // rounded to the dtype by Elementwise::scalar, as T(...) there
    Elementwise e(*this, param);
    Tensor d = c.maximize ? e.unary(UnaryOp::Neg, grad) : grad;
    if (c.weight_decay != 0) d = e.add(d, e.mul(param, c.weight_decay));
    if (momentum_buffer.defined()) {
        const Tensor buf =
            c.first_step ? d : e.add(e.mul(momentum_buffer, c.momentum), e.mul(d, c.one_minus_dampening));
        e.assign(momentum_buffer, buf);
        d = c.nesterov ? e.add(d, e.mul(momentum_buffer, c.momentum)) : momentum_buffer;
    }
    e.assign(param, e.add(param, e.mul(d, c.neg_lr)));
}

// torch.optim.Adam / AdamW, single tensor, in optim_math.h's order and with its coefficients (adam_coeffs): the
// moments, then p = p decay_factor - step_size m / (sqrt(v) / sqrt(bias_correction2) + eps), v the max with amsgrad.
void Backend::adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                        const Tensor& max_exp_avg_sq, const AdamStepArgs& a) {
    const AdamCoeffs<double> c = adam_coeffs<double>(a);
    Elementwise e(*this, param);
    Tensor g = c.maximize ? e.unary(UnaryOp::Neg, grad) : grad;
    if (c.l2_weight_decay != 0) g = e.add(g, e.mul(param, c.l2_weight_decay));
    e.assign(exp_avg, e.add(e.mul(exp_avg, c.beta1), e.mul(g, c.one_minus_beta1)));
    e.assign(exp_avg_sq, e.add(e.mul(exp_avg_sq, c.beta2), e.mul(e.mul(g, c.one_minus_beta2), g)));
    Tensor second_moment = exp_avg_sq;
    if (max_exp_avg_sq.defined()) {
        e.assign(max_exp_avg_sq, e.binary(BinaryOp::Maximum, max_exp_avg_sq, exp_avg_sq));
        second_moment = max_exp_avg_sq;
    }
    const Tensor decayed = c.decay_factor == 1 ? param : e.mul(param, c.decay_factor);
    const Tensor denom =
        e.add(e.div(e.unary(UnaryOp::Sqrt, second_moment), e.scalar(c.bias_correction2_sqrt)), e.scalar(c.eps));
    e.assign(param, e.add(decayed, e.div(e.mul(exp_avg, c.neg_step_size), denom)));
}

// ultralytics' ModelEMA: ema = decay ema + (1 - decay) model.
void Backend::ema_update(const Tensor& ema, const Tensor& model, double decay) {
    Elementwise e(*this, ema);
    e.assign(ema, e.add(e.mul(ema, decay), e.mul(model, 1 - decay)));
}

}  // namespace nabla
