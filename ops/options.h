// ops/options.h — the option aggregates of the ops, with PyTorch's names and defaults, shared by ops/ and backends/.
// Read with designated initializers: conv2d(x, w, b, {.stride = 2, .padding = 1, .groups = 2}).
#pragma once
#include <array>
#include <cstdint>
#include <optional>

#include "core/shape.h"

namespace nabla {

// --- elementwise (ops/elementwise.cpp, ops/activation.cpp) ---
// The math of each op is in backends/common/unary_math.h, shared by every backend (host and device).
enum class UnaryOp {
    Neg, Exp, Log, Sqrt, Rsqrt, Abs, Sign, Sin, Cos, Atan, Reciprocal,
    Relu, Relu6, LeakyRelu, Sigmoid, Tanh, Silu, Hardswish, Hardsigmoid, Softplus,
    Clamp, PowScalar,
};
struct UnaryArgs {  // the op's scalar parameters: leaky slope, softplus (beta, threshold), clamp (min, max), exponent
    double a = 0, b = 0;
};
enum class BinaryOp { Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr };

// --- reductions (ops/reduce.cpp) ---
enum class ReduceOp { Sum, Mean, Max, Min };

// --- conv (ops/conv.cpp) ---
enum class PaddingMode { Zeros, Reflect };
struct Conv2dOptions {
    Int2 stride = 1;
    Int2 padding = 0;
    Int2 dilation = 1;
    int64_t groups = 1;
    PaddingMode padding_mode = PaddingMode::Zeros;  // Reflect is applied by ops/conv.cpp as pad() then conv
};
struct ConvTranspose2dOptions {
    Int2 stride = 1;
    Int2 padding = 0;
    Int2 output_padding = 0;
    Int2 dilation = 1;
    int64_t groups = 1;
};

// --- pooling (ops/pool.cpp) ---
struct MaxPool2dOptions {
    Int2 kernel_size;
    Int2 stride = 0;  // 0 means "= kernel_size", PyTorch's stride=None
    Int2 padding = 0;
    Int2 dilation = 1;
    bool ceil_mode = false;
};
struct AvgPool2dOptions {
    Int2 kernel_size;
    Int2 stride = 0;  // 0 means "= kernel_size"
    Int2 padding = 0;
    bool ceil_mode = false;
    bool count_include_pad = true;
};

// --- interpolate (ops/interpolate.cpp) ---
enum class InterpolateMode { Nearest, Bilinear, Bicubic };
struct InterpolateOptions {
    std::optional<Int2> size;                          // give size or scale_factor, as PyTorch
    std::optional<std::array<double, 2>> scale_factor;
    InterpolateMode mode = InterpolateMode::Nearest;
    std::optional<bool> align_corners;                 // only for bilinear/bicubic; false when not given
    bool recompute_scale_factor = false;
};
// What the kernels get: the resolved output size and the source-coordinate ratio per axis (see specs/u2net_panet.md §3.1).
struct UpsampleParams {
    InterpolateMode mode = InterpolateMode::Nearest;
    int64_t out_h = 0, out_w = 0;
    bool align_corners = false;
    double scale_h = 0, scale_w = 0;  // the ratio in/out actually used by the source-coordinate rule
};

// --- unfold / fold (ops/unfold.cpp) ---
struct UnfoldOptions {
    Int2 kernel_size;
    Int2 dilation = 1;
    Int2 padding = 0;
    Int2 stride = 1;
};

// --- padding (ops/pad.cpp) ---
enum class PadMode { Constant, Reflect, Replicate };

// --- losses (ops/loss.cpp) ---
enum class Reduction { None, Mean, Sum };

}  // namespace nabla
