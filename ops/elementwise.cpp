// ops/elementwise.cpp — binary arithmetic with broadcasting and type promotion, unary math, where, comparisons.
// Backward rules (g is the output gradient; sum_to folds broadcast dims back):
//   add: (g, alpha g)  sub: (g, -alpha g)  mul: (g b, g a)  div: (g / b, -g a / b^2)
//   pow: (g b a^(b-1), g a^b log a)  maximum: g to the larger input, halved on ties  where: g to the chosen side
// The unary derivatives live in backends/common/unary_math.h, next to the functions themselves.
#include "ops/elementwise.h"

#include <cmath>
#include <limits>

#include "autograd/node.h"
#include "backends/backend.h"
#include "backends/common/binary_math.h"
#include "backends/common/unary_math.h"
#include "core/trace/trace.h"
#include "ops/factory.h"
#include "ops/reduce.h"

namespace nabla {

using autograd::Grads;
using autograd::NeedsGrad;
using autograd::save;

namespace {

// Brings a and b to one dtype and one broadcast shape: returns (a', b', shape) with a', b' still carrying autograd.
struct Prepared {
    Tensor a, b;
    Shape shape;
};
Prepared prepare(const char* name, const Tensor& a, const Tensor& b, DType dtype) {
    NB_CHECK(a.device() == b.device(), name, ": tensors on different devices (", a.device(), " and ", b.device(), ")");
    return {a.dtype() == dtype ? a : a.to(dtype), b.dtype() == dtype ? b : b.to(dtype),
            broadcast_shapes(a.shape(), b.shape(), name)};
}

// The output keeps the layout of the first operand that has its full shape (channels-last stays channels-last).
MemoryFormat result_format(const Shape& shape, std::initializer_list<const Tensor*> operands) {
    for (const Tensor* t : operands)
        if (t->shape() == shape) return t->suggest_memory_format();
    return MemoryFormat::Contiguous;
}

Tensor run_binary(BinaryOp op, const Tensor& a, const Tensor& b, const Shape& shape) {
    Tensor out = make_tensor(shape, is_comparison(op) ? kBool : a.dtype(), a.device(), result_format(shape, {&a, &b}));
    backend_for(out).binary(op, a.detach().expand(shape), b.detach().expand(shape), out);
    return out;
}

bool is_integral_value(double v) { return v == std::trunc(v); }

Tensor arith(const char* name, BinaryOp op, const Tensor& a_in, const Tensor& b_in, double alpha = 1.0) {
    trace::OpScope ts(name, a_in, b_in);
    DType dt = result_type(a_in, b_in);
    if (op == BinaryOp::Div && !is_floating(dt)) dt = kFloat32;  // true division, as torch.div
    if (op == BinaryOp::Sub && (a_in.dtype() == kBool || b_in.dtype() == kBool))
        throw TypeError("sub: subtraction with a bool tensor is not supported; use logical_xor or logical_not");
    if (!is_floating(dt) && !is_integral_value(alpha))
        throw TypeError(detail::concat(name, ": alpha ", alpha, " must be an integer for ", dtype_name(dt), " inputs"));
    auto [a, b, shape] = prepare(name, a_in, b_in, dt);
    Tensor bb = (alpha != 1.0)
                    ? run_binary(BinaryOp::Mul, b, full({}, alpha, {.dtype = dt, .device = b.device()}), b.shape())
                    : b;
    Tensor y = run_binary(op, a, bb, shape);
    if (!autograd::needs_grad({a, b})) return y;
    const Shape sa = a.shape(), sb = b.shape();
    switch (op) {
        case BinaryOp::Add:
        case BinaryOp::Sub: {
            const double sign_b = op == BinaryOp::Add ? alpha : -alpha;
            autograd::record(name, {a, b}, y, [sa, sb, sign_b](const Tensor& gy, const NeedsGrad& needs) {
                return Grads{needs[0] ? sum_to(gy, sa) : Tensor(),
                             needs[1] ? sum_to(sign_b == 1.0 ? gy : mul(gy, sign_b), sb) : Tensor()};
            });
            break;
        }
        case BinaryOp::Mul:
            autograd::record(name, {a, b}, y,
                             [sa, sb, sva = save(a), svb = save(b)](const Tensor& gy, const NeedsGrad& needs) {
                                 return Grads{needs[0] ? sum_to(mul(gy, svb.get()), sa) : Tensor(),
                                              needs[1] ? sum_to(mul(gy, sva.get()), sb) : Tensor()};
                             });
            break;
        case BinaryOp::Div:
            autograd::record(
                name, {a, b}, y, [sa, sb, sva = save(a), svb = save(b)](const Tensor& gy, const NeedsGrad& needs) {
                    const Tensor& bv = svb.get();
                    return Grads{needs[0] ? sum_to(div(gy, bv), sa) : Tensor(),
                                 needs[1] ? sum_to(neg(div(mul(gy, sva.get()), mul(bv, bv))), sb) : Tensor()};
                });
            break;
        case BinaryOp::Pow:
            autograd::record(
                name, {a, b}, y,
                [sa, sb, sva = save(a), svb = save(b), svy = save(y)](const Tensor& gy, const NeedsGrad& needs) {
                    const Tensor &av = sva.get(), &bv = svb.get();
                    Tensor ga, gb;
                    if (needs[0]) ga = sum_to(mul(gy, mul(bv, pow(av, sub(bv, 1.0)))), sa);
                    // d/db a^b = a^b log a, taken as 0 where a == 0 (PyTorch's convention)
                    if (needs[1])
                        gb = sum_to(where(eq(av, 0.0), zeros({}, gy.options()), mul(gy, mul(svy.get(), log(av)))), sb);
                    return Grads{ga, gb};
                });
            break;
        case BinaryOp::Maximum:
        case BinaryOp::Minimum: {
            const bool is_max = op == BinaryOp::Maximum;
            autograd::record(
                name, {a, b}, y,
                [sa, sb, is_max, sva = save(a), svb = save(b)](const Tensor& gy, const NeedsGrad& needs) {
                    const Tensor &av = sva.get(), &bv = svb.get();
                    const Tensor zero =
                        zeros({}, gy.options());  // 0-dim: where() broadcasts it, no full tensor of zeros
                    Tensor half = where(eq(av, bv), mul(gy, 0.5), gy);  // ties split the gradient
                    Tensor ga, gb;
                    if (needs[0])
                        ga = sum_to(where(is_max ? lt(av, bv) : gt(av, bv), zero, half), sa);  // b won: nothing to a
                    if (needs[1])
                        gb = sum_to(where(is_max ? gt(av, bv) : lt(av, bv), zero, half), sb);  // a won: nothing to b
                    return Grads{ga, gb};
                });
            break;
        }
        default: break;
    }
    return y;
}

Tensor compare(const char* name, BinaryOp op, const Tensor& a_in, const Tensor& b_in) {
    trace::OpScope ts(name, a_in, b_in);
    auto [a, b, shape] = prepare(name, a_in, b_in, result_type(a_in, b_in));
    return run_binary(op, a, b, shape);
}

}  // namespace

DType result_type(const Tensor& a, const Tensor& b) {
    if ((a.dim() == 0) == (b.dim() == 0)) return promote_types(a.dtype(), b.dtype());
    const DType higher = a.dim() > 0 ? a.dtype() : b.dtype(), lower = a.dim() > 0 ? b.dtype() : a.dtype();
    auto category = [](DType t) { return t == kBool ? 0 : (is_floating(t) ? 2 : 1); };
    return category(lower) > category(higher) ? promote_types(higher, lower) : higher;
}

Tensor scalar_for(const Tensor& t, double v) {
    DType dt = t.dtype();
    if (!is_floating(dt) && !is_integral_value(v))
        dt = kFloat32;
    else if (dt == kBool)
        dt = kInt64;
    return full({}, v, {.dtype = dt, .device = t.device()});
}

Tensor unary_op(const char* name, UnaryOp op, const Tensor& x, UnaryArgs args) {
    trace::OpScope ts(name, x);
    NB_CHECK_VALUE(is_floating(x.dtype()), name, ": expected a floating tensor, got ", dtype_name(x.dtype()), " ",
                   x.shape());
    Tensor y = make_tensor(x.shape(), x.dtype(), x.device(), x.suggest_memory_format());
    backend_for(x).unary(op, x, y, args);
    if (!autograd::needs_grad({x})) return y;
    autograd::record(
        name, {x}, y, [op, args, saved = save(unary_grad_uses_output(op) ? y : x)](const Tensor& gy, const NeedsGrad&) {
            // gx takes the layout of the forward's tensor (gy may be a slice of a cat's gradient)
            Tensor gx = make_tensor(gy.shape(), gy.dtype(), gy.device(), saved.get().suggest_memory_format());
            backend_for(gy).unary_backward(op, gy, saved.get(), gx, args);
            return Grads{gx};
        });
    return y;
}

Tensor add(const Tensor& a, const Tensor& b, double alpha) { return arith("add", BinaryOp::Add, a, b, alpha); }
Tensor sub(const Tensor& a, const Tensor& b, double alpha) { return arith("sub", BinaryOp::Sub, a, b, alpha); }
Tensor mul(const Tensor& a, const Tensor& b) { return arith("mul", BinaryOp::Mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return arith("div", BinaryOp::Div, a, b); }
Tensor add(const Tensor& a, double b) { return add(a, scalar_for(a, b)); }
Tensor sub(const Tensor& a, double b) { return sub(a, scalar_for(a, b)); }
Tensor mul(const Tensor& a, double b) { return mul(a, scalar_for(a, b)); }
Tensor div(const Tensor& a, double b) { return div(a, scalar_for(a, b)); }
Tensor pow(const Tensor& a, const Tensor& b) { return arith("pow", BinaryOp::Pow, a, b); }
Tensor pow(const Tensor& a, double exponent) {
    if (!is_floating(a.dtype())) return pow(a, scalar_for(a, exponent));  // int ** 2 stays int; int ** 0.5 is float32
    return unary_op("pow", UnaryOp::PowScalar, a, UnaryArgs::pow(exponent));
}
Tensor maximum(const Tensor& a, const Tensor& b) { return arith("maximum", BinaryOp::Maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return arith("minimum", BinaryOp::Minimum, a, b); }

Tensor neg(const Tensor& x) {
    if (x.dtype() == kBool) throw TypeError("neg: negation of a bool tensor is not supported; use logical_not");
    if (!is_floating(x.dtype())) return mul(x, scalar_for(x, -1.0));
    return unary_op("neg", UnaryOp::Neg, x);
}
Tensor exp(const Tensor& x) { return unary_op("exp", UnaryOp::Exp, x); }
Tensor log(const Tensor& x) { return unary_op("log", UnaryOp::Log, x); }
Tensor sqrt(const Tensor& x) { return unary_op("sqrt", UnaryOp::Sqrt, x); }
Tensor rsqrt(const Tensor& x) { return unary_op("rsqrt", UnaryOp::Rsqrt, x); }
Tensor reciprocal(const Tensor& x) { return unary_op("reciprocal", UnaryOp::Reciprocal, x); }
Tensor abs(const Tensor& x) {
    if (!is_floating(x.dtype()) && x.dtype() != kBool) return where(lt(x, 0.0), neg(x), x);
    return unary_op("abs", UnaryOp::Abs, x);
}
Tensor sign(const Tensor& x) { return unary_op("sign", UnaryOp::Sign, x); }
Tensor sin(const Tensor& x) { return unary_op("sin", UnaryOp::Sin, x); }
Tensor cos(const Tensor& x) { return unary_op("cos", UnaryOp::Cos, x); }
Tensor atan(const Tensor& x) { return unary_op("atan", UnaryOp::Atan, x); }
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {  // traced by unary_op
    constexpr double inf = std::numeric_limits<double>::infinity();
    const double lo = min.value_or(-inf), hi = max.value_or(inf);
    if (lo > hi) return add(mul(x, 0.0), hi);  // torch: every value becomes max (NaN stays), with gradient 0
    return unary_op("clamp", UnaryOp::Clamp, x, UnaryArgs::clamp(lo, hi));
}

Tensor where(const Tensor& cond, const Tensor& a_in, const Tensor& b_in) {
    trace::OpScope ts("where", cond, a_in, b_in);
    NB_CHECK(cond.dtype() == kBool, "where: condition must be bool, got ", dtype_name(cond.dtype()));
    auto [a, b, ab_shape] = prepare("where", a_in, b_in, result_type(a_in, b_in));
    Shape shape = broadcast_shapes(cond.shape(), ab_shape, "where");
    Tensor y = make_tensor(shape, a.dtype(), a.device(), result_format(shape, {&a, &b, &cond}));
    backend_for(y).where(cond.detach().expand(shape), a.detach().expand(shape), b.detach().expand(shape), y);
    if (!autograd::needs_grad({a, b})) return y;
    const Shape sa = a.shape(), sb = b.shape();
    autograd::record("where", {a, b}, y, [sa, sb, sc = save(cond)](const Tensor& gy, const NeedsGrad& needs) {
        const Tensor& c = sc.get();
        Tensor zero = zeros({}, gy.options());
        return Grads{needs[0] ? sum_to(where(c, gy, zero), sa) : Tensor(),
                     needs[1] ? sum_to(where(c, zero, gy), sb) : Tensor()};
    });
    return y;
}
Tensor where(const Tensor& cond, const Tensor& a, double b) { return where(cond, a, scalar_for(a, b)); }

Tensor eq(const Tensor& a, const Tensor& b) { return compare("eq", BinaryOp::Eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare("ne", BinaryOp::Ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare("lt", BinaryOp::Lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare("le", BinaryOp::Le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare("gt", BinaryOp::Gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare("ge", BinaryOp::Ge, a, b); }
Tensor eq(const Tensor& a, double b) { return eq(a, scalar_for(a, b)); }
Tensor ne(const Tensor& a, double b) { return ne(a, scalar_for(a, b)); }
Tensor lt(const Tensor& a, double b) { return lt(a, scalar_for(a, b)); }
Tensor le(const Tensor& a, double b) { return le(a, scalar_for(a, b)); }
Tensor gt(const Tensor& a, double b) { return gt(a, scalar_for(a, b)); }
Tensor ge(const Tensor& a, double b) { return ge(a, scalar_for(a, b)); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return compare("logical_and", BinaryOp::LogicalAnd, a, b); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return compare("logical_or", BinaryOp::LogicalOr, a, b); }
Tensor logical_not(const Tensor& a) { return eq(a, zeros({}, {.dtype = a.dtype(), .device = a.device()})); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(double a, const Tensor& b) { return add(neg(b), a); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(double a, const Tensor& b) {  // as torch's __rtruediv__; integers divide in float32
    return mul(reciprocal(is_floating(b.dtype()) ? b : b.to(kFloat32)), a);
}

}  // namespace nabla
