// backends/common/unary_math.h — the scalar math of every elementwise op and of its derivative, written once and
// compiled for the host (reference and cpu backends) and for CUDA devices, so the CPU tests check the device math.
// PyTorch's conventions where they matter: relu' uses the output (y > 0); relu6' is 0 at the kinks; sign(0) = 0;
// clamp' is 1 on the closed interval; softplus is linear above `threshold`; pow' with exponent 0 is 0.
#pragma once
#include <cmath>

#include "backends/common/params.h"

#ifdef __CUDACC__
#define NB_HD __host__ __device__
#else
#define NB_HD
#endif

namespace nabla {

// True when the backward of `op` is written in terms of its output y rather than its input x (it saves y then).
constexpr bool unary_grad_uses_output(UnaryOp op) {
    return op == UnaryOp::Exp || op == UnaryOp::Sqrt || op == UnaryOp::Rsqrt || op == UnaryOp::Reciprocal ||
           op == UnaryOp::Relu || op == UnaryOp::Sigmoid || op == UnaryOp::Tanh;
}

template <UnaryOp Op, class T>
NB_HD inline T unary_fn(T x, T a, T b) {
    using std::exp, std::log, std::sqrt, std::abs, std::sin, std::cos, std::atan, std::tanh, std::pow, std::log1p;
    if constexpr (Op == UnaryOp::Neg)
        return -x;
    else if constexpr (Op == UnaryOp::Exp)
        return exp(x);
    else if constexpr (Op == UnaryOp::Log)
        return log(x);
    else if constexpr (Op == UnaryOp::Sqrt)
        return sqrt(x);
    else if constexpr (Op == UnaryOp::Rsqrt)
        return T(1) / sqrt(x);
    else if constexpr (Op == UnaryOp::Abs)
        return abs(x);
    else if constexpr (Op == UnaryOp::Sign)
        return T((x > T(0)) - (x < T(0)));
    else if constexpr (Op == UnaryOp::Sin)
        return sin(x);
    else if constexpr (Op == UnaryOp::Cos)
        return cos(x);
    else if constexpr (Op == UnaryOp::Atan)
        return atan(x);
    else if constexpr (Op == UnaryOp::Reciprocal)
        return T(1) / x;
    else if constexpr (Op == UnaryOp::Relu)
        return x > T(0) ? x : (x != x ? x : T(0));
    else if constexpr (Op == UnaryOp::Relu6)
        return x != x ? x : (x < T(0) ? T(0) : (x > T(6) ? T(6) : x));
    else if constexpr (Op == UnaryOp::LeakyRelu)
        return x > T(0) ? x : a * x;
    else if constexpr (Op == UnaryOp::Sigmoid)
        return T(1) / (T(1) + exp(-x));
    else if constexpr (Op == UnaryOp::Tanh)
        return tanh(x);
    else if constexpr (Op == UnaryOp::Silu)
        return x / (T(1) + exp(-x));
    else if constexpr (Op == UnaryOp::Hardswish)
        return x <= T(-3) ? T(0) : (x >= T(3) ? x : x * (x + T(3)) / T(6));
    else if constexpr (Op == UnaryOp::Hardsigmoid)
        return x <= T(-3) ? T(0) : (x >= T(3) ? T(1) : x / T(6) + T(0.5));
    else if constexpr (Op == UnaryOp::Softplus)
        return x * a > b ? x : log1p(exp(a * x)) / a;  // a = beta, b = threshold
    else if constexpr (Op == UnaryOp::Clamp)
        return x != x ? x : (x < a ? a : (x > b ? b : x));  // a = min, b = max
    else if constexpr (Op == UnaryOp::PowScalar)
        return pow(x, a);
}

// d op / d x, expressed in v = y if unary_grad_uses_output(Op), else v = x.
template <UnaryOp Op, class T>
NB_HD inline T unary_grad(T v, T a, T b) {
    using std::exp, std::cos, std::sin, std::pow;
    if constexpr (Op == UnaryOp::Neg)
        return T(-1);
    else if constexpr (Op == UnaryOp::Exp)
        return v;
    else if constexpr (Op == UnaryOp::Log)
        return T(1) / v;
    else if constexpr (Op == UnaryOp::Sqrt)
        return T(0.5) / v;
    else if constexpr (Op == UnaryOp::Rsqrt)
        return T(-0.5) * v * v * v;
    else if constexpr (Op == UnaryOp::Abs)
        return T((v > T(0)) - (v < T(0)));
    else if constexpr (Op == UnaryOp::Sign)
        return T(0);
    else if constexpr (Op == UnaryOp::Sin)
        return cos(v);
    else if constexpr (Op == UnaryOp::Cos)
        return -sin(v);
    else if constexpr (Op == UnaryOp::Atan)
        return T(1) / (T(1) + v * v);
    else if constexpr (Op == UnaryOp::Reciprocal)
        return -v * v;
    else if constexpr (Op == UnaryOp::Relu)
        return v > T(0) ? T(1) : T(0);
    else if constexpr (Op == UnaryOp::Relu6)
        return (v > T(0) && v < T(6)) ? T(1) : T(0);
    else if constexpr (Op == UnaryOp::LeakyRelu)
        return v > T(0) ? T(1) : a;
    else if constexpr (Op == UnaryOp::Sigmoid)
        return v * (T(1) - v);
    else if constexpr (Op == UnaryOp::Tanh)
        return T(1) - v * v;
    else if constexpr (Op == UnaryOp::Silu) {
        T s = T(1) / (T(1) + exp(-v));
        return s * (T(1) + v * (T(1) - s));
    } else if constexpr (Op == UnaryOp::Hardswish)
        return v < T(-3) ? T(0) : (v <= T(3) ? v / T(3) + T(0.5) : T(1));
    else if constexpr (Op == UnaryOp::Hardsigmoid)
        return (v > T(-3) && v < T(3)) ? T(1) / T(6) : T(0);
    else if constexpr (Op == UnaryOp::Softplus) {
        if (v * a > b) return T(1);
        T z = exp(v * a);
        return z / (z + T(1));
    } else if constexpr (Op == UnaryOp::Clamp)
        return (v >= a && v <= b) ? T(1) : T(0);
    else if constexpr (Op == UnaryOp::PowScalar)
        return a == T(0) ? T(0) : a * pow(v, a - T(1));
}

// Turns a runtime UnaryOp into a compile-time one, once per kernel call (not per element):
//   visit_unary(op, [&]<UnaryOp Op>() { for (...) y[i] = unary_fn<Op>(x[i], a, b); });
template <class F>
void visit_unary(UnaryOp op, F&& f) {
    switch (op) {
        case UnaryOp::Neg: return f.template operator()<UnaryOp::Neg>();
        case UnaryOp::Exp: return f.template operator()<UnaryOp::Exp>();
        case UnaryOp::Log: return f.template operator()<UnaryOp::Log>();
        case UnaryOp::Sqrt: return f.template operator()<UnaryOp::Sqrt>();
        case UnaryOp::Rsqrt: return f.template operator()<UnaryOp::Rsqrt>();
        case UnaryOp::Abs: return f.template operator()<UnaryOp::Abs>();
        case UnaryOp::Sign: return f.template operator()<UnaryOp::Sign>();
        case UnaryOp::Sin: return f.template operator()<UnaryOp::Sin>();
        case UnaryOp::Cos: return f.template operator()<UnaryOp::Cos>();
        case UnaryOp::Atan: return f.template operator()<UnaryOp::Atan>();
        case UnaryOp::Reciprocal: return f.template operator()<UnaryOp::Reciprocal>();
        case UnaryOp::Relu: return f.template operator()<UnaryOp::Relu>();
        case UnaryOp::Relu6: return f.template operator()<UnaryOp::Relu6>();
        case UnaryOp::LeakyRelu: return f.template operator()<UnaryOp::LeakyRelu>();
        case UnaryOp::Sigmoid: return f.template operator()<UnaryOp::Sigmoid>();
        case UnaryOp::Tanh: return f.template operator()<UnaryOp::Tanh>();
        case UnaryOp::Silu: return f.template operator()<UnaryOp::Silu>();
        case UnaryOp::Hardswish: return f.template operator()<UnaryOp::Hardswish>();
        case UnaryOp::Hardsigmoid: return f.template operator()<UnaryOp::Hardsigmoid>();
        case UnaryOp::Softplus: return f.template operator()<UnaryOp::Softplus>();
        case UnaryOp::Clamp: return f.template operator()<UnaryOp::Clamp>();
        case UnaryOp::PowScalar: return f.template operator()<UnaryOp::PowScalar>();
    }
}

}  // namespace nabla
