// ops/elementwise.h — arithmetic, math functions and comparisons, elementwise with broadcasting (torch.*).
// Mixed dtypes promote as torch.result_type (below); division of integers gives float32 as torch.div does.
// A number (double) next to a tensor acts as PyTorch's wrapped Python number, see scalar_for. As the numbers are
// doubles, 2.0 counts as the integer 2: int64 + 2.0 is int64 here, where torch gives float32 for the literal 2.0.
#pragma once
#include <optional>

#include "core/tensor.h"
#include "ops/options.h"

namespace nabla {

// torch.result_type of two operands: promote_types, except that a tensor with dims decides over a 0-dim tensor
// unless the 0-dim one is of a higher category (bool < integer < floating):
//   float32 [3] + float64 0-dim -> float32    int64 [3] + float64 0-dim -> float64    uint8 [3] + int64 0-dim -> uint8
DType result_type(const Tensor& a, const Tensor& b);

// The 0-dim tensor a number becomes next to tensor t: of t's dtype, except float32 for a fractional number next to
// an integer or bool tensor, and int64 for an integral number next to a bool tensor (torch: bool_mask + 1 is int64).
Tensor scalar_for(const Tensor& t, double value);

Tensor add(const Tensor& a, const Tensor& b, double alpha = 1.0);
Tensor sub(const Tensor& a, const Tensor& b, double alpha = 1.0);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor atan(const Tensor& x);
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max);

// where(cond, a, b): a where cond is true, else b; all three broadcast.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, double b);

// Comparisons give bool tensors and carry no gradient.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double b);
Tensor ne(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

// Internal building blocks shared with ops/activation.cpp: run a UnaryOp with its recorded backward.
Tensor unary_op(const char* name, UnaryOp op, const Tensor& x, UnaryArgs args = {});

}  // namespace nabla
