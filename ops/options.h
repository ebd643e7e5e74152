// ops/options.h — the option aggregates of the ops, with PyTorch's names and defaults. Read with designated
// initializers: conv2d(x, w, b, {.stride = 2, .padding = 1, .groups = 2}). The kinds of op and the structs the
// kernels get (UnaryOp, InterpolateMode, UnfoldOptions, ...) are one layer down, in backends/common/params.h.
#pragma once
#include <array>
#include <cstdint>
#include <optional>

#include "backends/common/params.h"
#include "core/shape.h"

namespace nabla {

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
struct InterpolateOptions {
    std::optional<Int2> size;  // give size or scale_factor, as PyTorch
    std::optional<std::array<double, 2>> scale_factor;
    InterpolateMode mode = InterpolateMode::Nearest;
    std::optional<bool> align_corners;  // only for bilinear/bicubic; false when not given
    bool recompute_scale_factor = false;
};

// --- losses (ops/loss.cpp) ---
enum class Reduction { None, Mean, Sum };

}  // namespace nabla
