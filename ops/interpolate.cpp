// ops/interpolate.cpp — torch.nn.functional.interpolate (nearest, bilinear, bicubic; align_corners; size or
// scale_factor with recompute_scale_factor), the op layer of backend upsample / upsample_backward.
//   x: [N, C, H, W] -> y: [N, C, out_h, out_w];  y[oy][ox] = sum_a sum_b wy[a] wx[b] x[iy[a]][ix[b]]
// Here: option checks and the resolution of sizes and ratios (docs/ops_semantics.md §1-2); the per-pixel taps and
// weights are backends/common/interpolate_math.h. Backward: the adjoint, which scatter-adds gy * wy * wx to the same
// input pixels (upsample_backward); it needs only the shapes and the params, so nothing is saved.
#include "ops/interpolate.h"

#include <cmath>

#include "autograd/node.h"
#include "backends/backend.h"
#include "core/trace/trace.h"

namespace nabla {

using autograd::Grads;
using autograd::NeedsGrad;

namespace {

const char* mode_name(InterpolateMode m) {
    switch (m) {
        case InterpolateMode::Nearest: return "nearest";
        case InterpolateMode::Bilinear: return "bilinear";
        case InterpolateMode::Bicubic: return "bicubic";
    }
    return "?";
}

struct Axis {
    int64_t out;
    double ratio;
};

// One spatial axis (0: H, 1: W) of size in: the output size and the ratio of the source-coordinate rule.
//   out = size, or floor(in * scale_factor) in double (PyTorch: static_cast<int64_t>(in * scale)).
//   ratio = (in-1)/(out-1) with align_corners (0 when out = 1), else 1/scale_factor when a scale is given and not
//   recomputed, else in/out.
Axis resolve_axis(int64_t in, const InterpolateOptions& o, int axis) {
    const double scale = o.scale_factor ? (*o.scale_factor)[axis] : 0.0;
    const int64_t out = o.size ? (axis == 0 ? o.size->h : o.size->w)
                               : static_cast<int64_t>(std::floor(static_cast<double>(in) * scale));
    if (out <= 0 || in <= 0) return {out, 0.0};  // reported by the caller with both shapes
    if (o.align_corners.value_or(false))
        return {out, out > 1 ? static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0};
    if (o.scale_factor && !o.recompute_scale_factor) return {out, 1.0 / scale};
    return {out, static_cast<double>(in) / static_cast<double>(out)};
}

}  // namespace

UpsampleParams upsample_params(const Shape& x_shape, const InterpolateOptions& o) {
    NB_CHECK(x_shape.size() == 4, "interpolate: expected a 4-D input [N, C, H, W], got ", x_shape);
    NB_CHECK_VALUE(!(o.size && o.scale_factor), "interpolate: only one of size or scale_factor should be defined");
    NB_CHECK_VALUE(o.size || o.scale_factor, "interpolate: either size or scale_factor should be defined");
    NB_CHECK_VALUE(!(o.mode == InterpolateMode::Nearest && o.align_corners),
                   "interpolate: align_corners option can only be set with the interpolating modes bilinear | bicubic, "
                   "not nearest");
    NB_CHECK_VALUE(!(o.recompute_scale_factor && o.size),
                   "interpolate: recompute_scale_factor is not meaningful with an explicit size");
    if (o.scale_factor) {
        const auto [sh, sw] = *o.scale_factor;
        NB_CHECK_VALUE(std::isfinite(sh) && std::isfinite(sw) && sh > 0 && sw > 0,
                       "interpolate: scale_factor must be positive and finite, got (", sh, ", ", sw, ")");
    }
    const Axis h = resolve_axis(x_shape[2], o, 0), w = resolve_axis(x_shape[3], o, 1);
    NB_CHECK(x_shape[2] > 0 && x_shape[3] > 0 && h.out > 0 && w.out > 0,
             "interpolate: input and output sizes should be greater than 0, but got input ", x_shape, " and output [",
             x_shape[0], ", ", x_shape[1], ", ", h.out, ", ", w.out, "]");
    return {.mode = o.mode,
            .out_h = h.out,
            .out_w = w.out,
            .align_corners = o.align_corners.value_or(false),
            .scale_h = h.ratio,
            .scale_w = w.ratio};
}

Tensor interpolate(const Tensor& x, const InterpolateOptions& o) {
    trace::OpScope ts("interpolate", x);
    NB_CHECK_VALUE(is_floating(x.dtype()), "interpolate (", mode_name(o.mode), "): expected a floating tensor, got ",
                   dtype_name(x.dtype()), " ", x.shape());
    const UpsampleParams p = upsample_params(x.shape(), o);
    // The kernels take a dense NCHW or channels-last map and answer in its layout, so that the convs after a
    // channels-last interpolate keep running on NHWC.
    const MemoryFormat f = x.suggest_memory_format();
    Tensor y = backend_for(x).upsample(x.detach().contiguous(f), p);  // [N, C, out_h, out_w]
    autograd::record("interpolate", {x}, y, [p, f, x_shape = x.shape()](const Tensor& gy, const NeedsGrad&) {
        return Grads{backend_for(gy).upsample_backward(gy.contiguous(f), x_shape, p)};  // [N, C, H, W]
    });
    return y;
}

}  // namespace nabla
