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
    if constexpr (Op == BinaryOp::Add) return T(a + b);
    else if constexpr (Op == BinaryOp::Sub) return T(a - b);
    else if constexpr (Op == BinaryOp::Mul) return T(a * b);
    else if constexpr (Op == BinaryOp::Div) return T(a / b);
    else if constexpr (Op == BinaryOp::Pow) return T(std::pow(a, b));
    else if constexpr (Op == BinaryOp::Maximum) return (a > b || a != a) ? a : b;
    else if constexpr (Op == BinaryOp::Minimum) return (a < b || a != a) ? a : b;
    else if constexpr (Op == BinaryOp::Eq) return a == b;
    else if constexpr (Op == BinaryOp::Ne) return a != b;
    else if constexpr (Op == BinaryOp::Lt) return a < b;
    else if constexpr (Op == BinaryOp::Le) return a <= b;
    else if constexpr (Op == BinaryOp::Gt) return a > b;
    else if constexpr (Op == BinaryOp::Ge) return a >= b;
    else if constexpr (Op == BinaryOp::LogicalAnd) return a != T(0) && b != T(0);
    else if constexpr (Op == BinaryOp::LogicalOr) return a != T(0) || b != T(0);
}

template <class F>
void visit_binary(BinaryOp op, F&& f) {
    switch (op) {
#define NB_BINARY_CASE(name) \
    case BinaryOp::name: f.template operator()<BinaryOp::name>(); return;
        NB_BINARY_CASE(Add) NB_BINARY_CASE(Sub) NB_BINARY_CASE(Mul) NB_BINARY_CASE(Div) NB_BINARY_CASE(Pow)
        NB_BINARY_CASE(Maximum) NB_BINARY_CASE(Minimum) NB_BINARY_CASE(Eq) NB_BINARY_CASE(Ne) NB_BINARY_CASE(Lt)
        NB_BINARY_CASE(Le) NB_BINARY_CASE(Gt) NB_BINARY_CASE(Ge) NB_BINARY_CASE(LogicalAnd) NB_BINARY_CASE(LogicalOr)
#undef NB_BINARY_CASE
    }
}

}  // namespace nabla
