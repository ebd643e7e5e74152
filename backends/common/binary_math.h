// backends/common/binary_math.h — the scalar math of the binary elementwise ops, shared by host and device backends.
// maximum/minimum propagate NaN as torch.maximum does; comparisons return bool.
#pragma once
#include <cmath>

#include "backends/common/unary_math.h"

namespace nabla {

constexpr bool is_comparison(BinaryOp op) {
    return op == BinaryOp::Eq || op == BinaryOp::Ne || op == BinaryOp::Lt || op == BinaryOp::Le || op == BinaryOp::Gt ||
           op == BinaryOp::Ge || op == BinaryOp::LogicalAnd || op == BinaryOp::LogicalOr;
}

template <BinaryOp Op, class T>
NB_HD inline auto binary_fn(T a, T b) {
    if constexpr (Op == BinaryOp::Add)
        return T(a + b);
    else if constexpr (Op == BinaryOp::Sub)
        return T(a - b);
    else if constexpr (Op == BinaryOp::Mul)
        return T(a * b);
    else if constexpr (Op == BinaryOp::Div)
        return T(a / b);
    else if constexpr (Op == BinaryOp::Pow)
        return T(std::pow(a, b));
    else if constexpr (Op == BinaryOp::Maximum)
        return (a > b || a != a) ? a : b;
    else if constexpr (Op == BinaryOp::Minimum)
        return (a < b || a != a) ? a : b;
    else if constexpr (Op == BinaryOp::Eq)
        return a == b;
    else if constexpr (Op == BinaryOp::Ne)
        return a != b;
    else if constexpr (Op == BinaryOp::Lt)
        return a < b;
    else if constexpr (Op == BinaryOp::Le)
        return a <= b;
    else if constexpr (Op == BinaryOp::Gt)
        return a > b;
    else if constexpr (Op == BinaryOp::Ge)
        return a >= b;
    else if constexpr (Op == BinaryOp::LogicalAnd)
        return a != T(0) && b != T(0);
    else if constexpr (Op == BinaryOp::LogicalOr)
        return a != T(0) || b != T(0);
}

template <class F>
void visit_binary(BinaryOp op, F&& f) {
    switch (op) {
        case BinaryOp::Add: return f.template operator()<BinaryOp::Add>();
        case BinaryOp::Sub: return f.template operator()<BinaryOp::Sub>();
        case BinaryOp::Mul: return f.template operator()<BinaryOp::Mul>();
        case BinaryOp::Div: return f.template operator()<BinaryOp::Div>();
        case BinaryOp::Pow: return f.template operator()<BinaryOp::Pow>();
        case BinaryOp::Maximum: return f.template operator()<BinaryOp::Maximum>();
        case BinaryOp::Minimum: return f.template operator()<BinaryOp::Minimum>();
        case BinaryOp::Eq: return f.template operator()<BinaryOp::Eq>();
        case BinaryOp::Ne: return f.template operator()<BinaryOp::Ne>();
        case BinaryOp::Lt: return f.template operator()<BinaryOp::Lt>();
        case BinaryOp::Le: return f.template operator()<BinaryOp::Le>();
        case BinaryOp::Gt: return f.template operator()<BinaryOp::Gt>();
        case BinaryOp::Ge: return f.template operator()<BinaryOp::Ge>();
        case BinaryOp::LogicalAnd: return f.template operator()<BinaryOp::LogicalAnd>();
        case BinaryOp::LogicalOr: return f.template operator()<BinaryOp::LogicalOr>();
    }
}

}  // namespace nabla
