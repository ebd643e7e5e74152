// backends/common/params.h — what the op layer hands the kernels: the kinds of op (UnaryOp, BinaryOp, ReduceOp,
// PadMode, InterpolateMode) and the parameter structs after the op layer resolved PyTorch's defaults (ConvParams,
// PoolParams, UpsampleParams, UnfoldOptions). Plain data on the lowest layer, so that ops/, every backend and the
// CUDA compiler share one definition. The user-facing option structs built on these are in ops/options.h.
#pragma once
#include <cstdint>

#include "core/shape.h"

namespace nabla {

// --- elementwise (ops/elementwise.cpp, ops/activation.cpp); the math of each op is in backends/common/unary_math.h ---
enum class UnaryOp {
    Neg,
    Exp,
    Log,
    Sqrt,
    Rsqrt,
    Abs,
    Sign,
    Sin,
    Cos,
    Atan,
    Reciprocal,
    Relu,
    Relu6,
    LeakyRelu,
    Sigmoid,
    Tanh,
    Silu,
    Hardswish,
    Hardsigmoid,
    Softplus,
    Clamp,
    PowScalar,
};
// The scalar parameters of the unary ops that have any. What a and b mean depends on the op, so callers build them
// by name, and the kernels (backends/common/unary_math.h) read them as the table says:
//   LeakyRelu  a = negative slope          Softplus  a = beta, b = threshold
//   Clamp      a = min, b = max            PowScalar a = exponent
struct UnaryArgs {
    double a = 0, b = 0;
    static constexpr UnaryArgs leaky_relu(double negative_slope) { return {negative_slope, 0}; }
    static constexpr UnaryArgs softplus(double beta, double threshold) { return {beta, threshold}; }
    static constexpr UnaryArgs clamp(double min, double max) { return {min, max}; }
    static constexpr UnaryArgs pow(double exponent) { return {exponent, 0}; }
};
enum class BinaryOp { Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr };

// --- reductions (ops/reduce.cpp) ---
enum class ReduceOp { Sum, Mean, Max, Min };

// --- batch norm and the folded inference conv (ops/batch_norm.cpp batch_norm_act, ops/conv.cpp conv2d_act): the
// activation a kernel applies to its output; the math is in backends/common/norm_act_math.h ---
enum class NormAct { None, Relu, Silu };

// --- conv2d and conv_transpose2d (ops/conv.cpp), after the op layer resolved defaults ---
struct ConvParams {
    Int2 stride = 1, padding = 0, dilation = 1, output_padding = 0;
    int64_t groups = 1;
    NormAct act = NormAct::None;  // applied to conv2d's output (conv2d_act: forward only, never with a backward)
    bool bf16 = false;            // autocast (core/autocast.h): compute in bfloat16 where the backend can, I/O float32
};

// --- max_pool2d and avg_pool2d (ops/pool.cpp): stride resolved, output size computed by the op layer ---
struct PoolParams {
    Int2 kernel_size, stride, padding, dilation = 1;
    bool ceil_mode = false;
    bool count_include_pad = true;
    int64_t out_h = 0, out_w = 0;
};

// --- interpolate (ops/interpolate.cpp): the resolved output size and the source-coordinate ratio per axis
// (docs/ops_semantics.md §1-2) ---
enum class InterpolateMode { Nearest, Bilinear, Bicubic };
struct UpsampleParams {
    InterpolateMode mode = InterpolateMode::Nearest;
    int64_t out_h = 0, out_w = 0;
    bool align_corners = false;
    double scale_h = 0, scale_w = 0;  // the ratio in/out actually used by the source-coordinate rule
};

// --- unfold / fold (ops/unfold.cpp), the same struct for the op and its im2col/col2im kernels ---
struct UnfoldOptions {
    Int2 kernel_size;
    Int2 dilation = 1;
    Int2 padding = 0;
    Int2 stride = 1;
};

// --- padding (ops/pad.cpp) ---
enum class PadMode { Constant, Reflect, Replicate };

}  // namespace nabla
