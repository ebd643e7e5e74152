// ops/conv.cpp — conv2d and conv_transpose2d (torch.nn.functional.conv2d / conv_transpose2d): shape checks, the
// kernel call and the backward rule. The math, with output sizes and gradients, is u2net_panet.md §3.6:
//   conv2d:           x [N, C_in, H, W] * w [C_out, C_in/g, kh, kw] (+ b [C_out]) -> y [N, C_out, H_out, W_out]
//                     dx = conv_transpose2d(dy, w)   dw = sum dy * x_window   db = sum dy over N, H, W
//   conv_transpose2d: x [N, C_in, H, W] * w [C_in, C_out/g, kh, kw] (+ b [C_out]) -> y [N, C_out, H_out, W_out]
//                     dx = conv2d(dy, w)             dw = sum x * dy_window   db = sum dy over N, H, W
// The backend computes only the gradients that are needed; the node saves x and w (one of them for each of dx, dw).
// padding_mode=Reflect is F.pad(x, (pw, pw, ph, ph), 'reflect') then a conv with padding 0 (§3.4), so its gradient
// flows through pad's backward.
#include "ops/conv.h"

#include <algorithm>

#include "autograd/node.h"
#include "backends/backend.h"
#include "ops/pad.h"

namespace nabla {

using autograd::Grads;
using autograd::NeedsGrad;
using autograd::save;

namespace {

std::string str(Int2 v) { return detail::concat("(", v.h, ", ", v.w, ")"); }

// What both ops check: ranks, dtypes, devices, and the scalar options.
void check_common(const char* op, const Tensor& x, const Tensor& w, const Tensor& b, Int2 stride, Int2 padding,
                  Int2 dilation, int64_t groups, const char* weight_layout) {
    NB_CHECK(x.dim() == 4, op, ": expected input [N, C_in, H, W], got ", x.shape());
    NB_CHECK(w.dim() == 4, op, ": expected weight ", weight_layout, ", got ", w.shape());
    if (!is_floating(x.dtype()) || w.dtype() != x.dtype() || (b.defined() && b.dtype() != x.dtype()))
        throw TypeError(detail::concat(op, ": expected input, weight and bias of one floating dtype, got input ",
                                       dtype_name(x.dtype()), ", weight ", dtype_name(w.dtype()),
                                       b.defined() ? ", bias " : "", b.defined() ? dtype_name(b.dtype()) : ""));
    NB_CHECK(w.device() == x.device() && (!b.defined() || b.device() == x.device()), op,
             ": input, weight and bias must be on one device, got input on ", x.device(), " and weight on ",
             w.device());
    NB_CHECK_VALUE(groups >= 1, op, ": groups must be positive, got groups=", groups);
    NB_CHECK_VALUE(stride.h >= 1 && stride.w >= 1 && dilation.h >= 1 && dilation.w >= 1, op,
                   ": stride and dilation must be positive, got stride=", str(stride), " dilation=", str(dilation));
    NB_CHECK_VALUE(padding.h >= 0 && padding.w >= 0, op, ": padding must be non-negative, got padding=", str(padding));
}

void check_bias(const char* op, const Tensor& b, int64_t c_out, const Tensor& w) {
    NB_CHECK(!b.defined() || (b.dim() == 1 && b.size(0) == c_out), op, ": bias ", b.defined() ? b.shape() : Shape{},
             " should be [", c_out, "], the output channels of weight ", w.shape());
}

void check_output(const char* op, const Tensor& x, const Tensor& w, int64_t h_out, int64_t w_out, Int2 padding) {
    NB_CHECK(h_out > 0 && w_out > 0, op, ": input ", x.shape(), " with padding ", str(padding), " and weight ",
             w.shape(), " gives an empty output of ", h_out, "x", w_out);
}

Tensor detached_contiguous(const Tensor& t) { return t.defined() ? t.detach().contiguous() : Tensor(); }

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o) {
    const char* op = "conv2d";
    check_common(op, x, weight, bias, o.stride, o.padding, o.dilation, o.groups, "[C_out, C_in/groups, kh, kw]");
    const int64_t c_out = weight.size(0), groups = o.groups;
    NB_CHECK(c_out % groups == 0, op, ": weight ", weight.shape(), " has ", c_out,
             " output channels, which groups=", groups, " does not divide");
    NB_CHECK(x.size(1) == weight.size(1) * groups, op, ": weight ", weight.shape(), " with groups=", groups,
             " expects ", weight.size(1) * groups, " input channels, but input ", x.shape(), " has ", x.size(1));
    check_bias(op, bias, c_out, weight);
    // H_out = floor((H + 2p - d(k-1) - 1) / s) + 1, written so that a kernel larger than the input gives <= 0
    const int64_t span_h = x.size(2) + 2 * o.padding.h - o.dilation.h * (weight.size(2) - 1) - 1;
    const int64_t span_w = x.size(3) + 2 * o.padding.w - o.dilation.w * (weight.size(3) - 1) - 1;
    check_output(op, x, weight, span_h < 0 ? 0 : span_h / o.stride.h + 1, span_w < 0 ? 0 : span_w / o.stride.w + 1,
                 o.padding);

    if (o.padding_mode == PaddingMode::Reflect && (o.padding.h > 0 || o.padding.w > 0)) {
        Conv2dOptions inner = o;
        inner.padding = 0;
        inner.padding_mode = PaddingMode::Zeros;
        return conv2d(pad(x, {o.padding.w, o.padding.w, o.padding.h, o.padding.h}, PadMode::Reflect), weight, bias,
                      inner);
    }

    const ConvParams p{.stride = o.stride, .padding = o.padding, .dilation = o.dilation, .groups = groups};
    Tensor xc = detached_contiguous(x), wc = detached_contiguous(weight);
    Tensor y = backend_for(xc).conv2d(xc, wc, detached_contiguous(bias), p);  // [N, C_out, H_out, W_out]
    if (!autograd::needs_grad({x, weight, bias})) return y;
    autograd::record(op, {x, weight, bias}, y, [p, sx = save(xc), sw = save(wc)](const Tensor& gy, const NeedsGrad& n) {
        ConvGrads g = backend_for(gy).conv2d_backward(gy.contiguous(), sx.get(), sw.get(), p, {n[0], n[1], n[2]});
        return Grads{g.input, g.weight, g.bias};
    });
    return y;
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvTranspose2dOptions& o) {
    const char* op = "conv_transpose2d";
    check_common(op, x, weight, bias, o.stride, o.padding, o.dilation, o.groups, "[C_in, C_out/groups, kh, kw]");
    const int64_t c_in = weight.size(0), groups = o.groups, c_out = weight.size(1) * groups;
    NB_CHECK(c_in % groups == 0, op, ": weight ", weight.shape(), " has ", c_in,
             " input channels, which groups=", groups, " does not divide");
    NB_CHECK(x.size(1) == c_in, op, ": weight ", weight.shape(), " with groups=", groups, " expects ", c_in,
             " input channels, but input ", x.shape(), " has ", x.size(1));
    check_bias(op, bias, c_out, weight);
    const Int2 s = o.stride, d = o.dilation, out_pad = o.output_padding;
    NB_CHECK_VALUE(out_pad.h >= 0 && out_pad.w >= 0 && out_pad.h < std::max(s.h, d.h) && out_pad.w < std::max(s.w, d.w),
                   op, ": output_padding ", str(out_pad), " must be smaller than either stride ", str(s),
                   " or dilation ", str(d));
    // H_out = (H - 1)s - 2p + d(k-1) + output_padding + 1
    const int64_t h_out = (x.size(2) - 1) * s.h - 2 * o.padding.h + d.h * (weight.size(2) - 1) + out_pad.h + 1;
    const int64_t w_out = (x.size(3) - 1) * s.w - 2 * o.padding.w + d.w * (weight.size(3) - 1) + out_pad.w + 1;
    check_output(op, x, weight, h_out, w_out, o.padding);

    const ConvParams p{.stride = s, .padding = o.padding, .dilation = d, .output_padding = out_pad, .groups = groups};
    Tensor xc = detached_contiguous(x), wc = detached_contiguous(weight);
    Tensor y = backend_for(xc).conv_transpose2d(xc, wc, detached_contiguous(bias), p);  // [N, C_out, H_out, W_out]
    if (!autograd::needs_grad({x, weight, bias})) return y;
    autograd::record(op, {x, weight, bias}, y, [p, sx = save(xc), sw = save(wc)](const Tensor& gy, const NeedsGrad& n) {
        ConvGrads g =
            backend_for(gy).conv_transpose2d_backward(gy.contiguous(), sx.get(), sw.get(), p, {n[0], n[1], n[2]});
        return Grads{g.input, g.weight, g.bias};
    });
    return y;
}

}  // namespace nabla
