// ops/conv.cpp — conv2d and conv_transpose2d (torch.nn.functional.conv2d / conv_transpose2d): shape checks, the
// kernel call and the backward rule. The math, with output sizes and gradients, is docs/ops_semantics.md §6:
//   conv2d:           x [N, C_in, H, W] * weight [C_out, C_in/g, kh, kw] (+ bias [C_out]) -> y [N, C_out, H_out, W_out]
//                     gx = conv_transpose2d(gy, weight)   gweight = sum gy * x_window   gbias = sum gy over N, H, W
//   conv_transpose2d: x [N, C_in, H, W] * weight [C_in, C_out/g, kh, kw] (+ bias [C_out]) -> y [N, C_out, H_out, W_out]
//                     gx = conv2d(gy, weight)             gweight = sum x * gy_window   gbias = sum gy over N, H, W
// The node saves x (for gweight) and weight (for gx); the backend computes only the gradients that are needed.
// padding_mode=Reflect is F.pad(x, (pw, pw, ph, ph), 'reflect') then a conv with padding 0
// (docs/ops_semantics.md §4), so its gradient flows through pad's backward.
#include "ops/conv.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "backends/backend.h"
#include "core/autocast.h"
#include "core/trace/flops.h"
#include "core/trace/trace.h"
#include "ops/pad.h"

namespace nabla {

using autograd::Grads;
using autograd::NeedsGrad;
using autograd::save;

namespace {

// What both ops check: ranks, dtypes, devices and the scalar options. weight_layout spells the expected weight shape.
void check_conv(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvParams& p,
                const char* weight_layout) {
    NB_CHECK(x.dim() == 4, op, ": expected input [N, C_in, H, W], got ", x.shape());
    NB_CHECK(weight.dim() == 4, op, ": expected weight ", weight_layout, ", got ", weight.shape());
    if (!is_floating(x.dtype()) || weight.dtype() != x.dtype() || (bias.defined() && bias.dtype() != x.dtype()))
        throw TypeError(detail::concat(op, ": expected input, weight and bias of one floating dtype, got input ",
                                       dtype_name(x.dtype()), ", weight ", dtype_name(weight.dtype()),
                                       bias.defined() ? ", bias " : "",
                                       bias.defined() ? dtype_name(bias.dtype()) : ""));
    NB_CHECK(weight.device() == x.device() && (!bias.defined() || bias.device() == x.device()), op,
             ": input, weight and bias must be on one device, got input on ", x.device(), " and weight on ",
             weight.device());
    NB_CHECK_VALUE(p.groups >= 1, op, ": groups must be positive, got groups=", p.groups);
    NB_CHECK_VALUE(p.stride.h >= 1 && p.stride.w >= 1 && p.dilation.h >= 1 && p.dilation.w >= 1, op,
                   ": stride and dilation must be positive, got stride=", p.stride, " dilation=", p.dilation);
    NB_CHECK_VALUE(p.padding.h >= 0 && p.padding.w >= 0, op, ": padding must be non-negative, got padding=", p.padding);
}

void check_bias(const char* op, const Tensor& bias, int64_t c_out, const Tensor& weight) {
    NB_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == c_out), op, ": bias ",
             bias.defined() ? bias.shape() : Shape{}, " should be [", c_out, "], the output channels of weight ",
             weight.shape());
}

void check_output_size(const char* op, const Tensor& x, const Tensor& weight, Int2 out, Int2 padding) {
    NB_CHECK(out.h > 0 && out.w > 0, op, ": input ", x.shape(), " with padding ", padding, " and weight ",
             weight.shape(), " gives an empty output of ", out.h, "x", out.w);
}

// What the kernels get: contiguous and off the tape (the node records the original tensors). The input keeps a
// channels-last layout (the cpu backend convolves it as nhwc and returns channels-last), as torch's conv does.
Tensor detached_contiguous(const Tensor& t) { return t.defined() ? t.detach().contiguous() : Tensor(); }
Tensor detached_input(const Tensor& x) { return x.detach().contiguous(x.suggest_memory_format()); }

}  // namespace

int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
    const int64_t span = in + 2 * padding - dilation * (kernel - 1) - 1;  // where the last window starts
    return span < 0 ? 0 : span / stride + 1;
}

namespace {

const char* conv2d_name(NormAct act) {
    switch (act) {
        case NormAct::Relu: return "conv2d_relu";
        case NormAct::Silu: return "conv2d_silu";
        case NormAct::None: break;
    }
    return "conv2d";
}

// conv2d, or conv2d_act when act is not None (then nothing is recorded: the caller checked that no grad is needed).
Tensor conv2d_impl(NormAct act, const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o) {
    const char* op = conv2d_name(act);
    trace::OpScope ts(
        op, [&] { return trace::conv2d_flops(x.shape(), weight.shape(), o); }, x, weight, bias);
    const ConvParams p{.stride = o.stride,
                       .padding = o.padding,
                       .dilation = o.dilation,
                       .groups = o.groups,
                       .act = act,
                       .bf16 = autocast_precision() == Precision::BFloat16 && x.dtype() == kFloat32};
    check_conv(op, x, weight, bias, p, "[C_out, C_in/groups, kh, kw]");
    const int64_t c_out = weight.size(0);
    NB_CHECK(c_out % p.groups == 0, op, ": weight ", weight.shape(), " has ", c_out,
             " output channels, which groups=", p.groups, " does not divide");
    NB_CHECK(x.size(1) == weight.size(1) * p.groups, op, ": weight ", weight.shape(), " with groups=", p.groups,
             " expects ", weight.size(1) * p.groups, " input channels, but input ", x.shape(), " has ", x.size(1));
    check_bias(op, bias, c_out, weight);
    check_output_size(op, x, weight,
                      {conv_output_size(x.size(2), weight.size(2), p.stride.h, p.padding.h, p.dilation.h),
                       conv_output_size(x.size(3), weight.size(3), p.stride.w, p.padding.w, p.dilation.w)},
                      p.padding);

    if (o.padding_mode == PaddingMode::Reflect && (o.padding.h > 0 || o.padding.w > 0)) {
        Conv2dOptions unpadded = o;
        unpadded.padding = 0;
        unpadded.padding_mode = PaddingMode::Zeros;
        return conv2d_impl(act, pad(x, {o.padding.w, o.padding.w, o.padding.h, o.padding.h}, PadMode::Reflect), weight,
                           bias, unpadded);
    }

    const Tensor xc = detached_input(x), wc = detached_contiguous(weight);
    Tensor y = backend_for(xc).conv2d(xc, wc, detached_contiguous(bias), p);  // [N, C_out, H_out, W_out]
    if (act != NormAct::None) return y;
    autograd::record(
        op, {x, weight, bias}, y, [p, sx = save(xc), sw = save(wc)](const Tensor& gy, const NeedsGrad& needs) {
            const ConvGrads g = backend_for(gy).conv2d_backward(gy.contiguous(sx.get().suggest_memory_format()),
                                                                sx.get(), sw.get(), p, {needs[0], needs[1], needs[2]});
            return Grads{g.input, g.weight, g.bias};
        });
    return y;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o) {
    return conv2d_impl(NormAct::None, x, weight, bias, o);
}

Tensor conv2d_act(NormAct act, const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o) {
    NB_CHECK_VALUE(!autograd::is_grad_enabled() ||
                       !(x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad())),
                   conv2d_name(act), ": an inference op (no backward), but input ", x.shape(), " or weight ",
                   weight.shape(), " requires grad; run it under NoGradGuard or use conv2d and an activation");
    return conv2d_impl(act, x, weight, bias, o);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvTranspose2dOptions& o) {
    trace::OpScope ts(
        "conv_transpose2d", [&] { return trace::conv_transpose2d_flops(x.shape(), weight.shape()); }, x, weight, bias);
    const char* op = "conv_transpose2d";
    const ConvParams p{.stride = o.stride,
                       .padding = o.padding,
                       .dilation = o.dilation,
                       .output_padding = o.output_padding,
                       .groups = o.groups};
    check_conv(op, x, weight, bias, p, "[C_in, C_out/groups, kh, kw]");
    const int64_t c_in = weight.size(0), c_out = weight.size(1) * p.groups;
    NB_CHECK(c_in % p.groups == 0, op, ": weight ", weight.shape(), " has ", c_in,
             " input channels, which groups=", p.groups, " does not divide");
    NB_CHECK(x.size(1) == c_in, op, ": weight ", weight.shape(), " with groups=", p.groups, " expects ", c_in,
             " input channels, but input ", x.shape(), " has ", x.size(1));
    check_bias(op, bias, c_out, weight);
    const Int2 s = p.stride, d = p.dilation, out_pad = p.output_padding;
    NB_CHECK_VALUE(out_pad.h >= 0 && out_pad.w >= 0 && out_pad.h < std::max(s.h, d.h) && out_pad.w < std::max(s.w, d.w),
                   op, ": output_padding ", out_pad, " must be smaller than either stride ", s, " or dilation ", d);
    // H_out = (H - 1)s - 2p + d(k-1) + output_padding + 1
    const int64_t h_out = (x.size(2) - 1) * s.h - 2 * p.padding.h + d.h * (weight.size(2) - 1) + out_pad.h + 1;
    const int64_t w_out = (x.size(3) - 1) * s.w - 2 * p.padding.w + d.w * (weight.size(3) - 1) + out_pad.w + 1;
    check_output_size(op, x, weight, {h_out, w_out}, p.padding);

    const Tensor xc = detached_input(x), wc = detached_contiguous(weight);
    Tensor y = backend_for(xc).conv_transpose2d(xc, wc, detached_contiguous(bias), p);  // [N, C_out, H_out, W_out]
    autograd::record(
        op, {x, weight, bias}, y, [p, sx = save(xc), sw = save(wc)](const Tensor& gy, const NeedsGrad& needs) {
            const ConvGrads g = backend_for(gy).conv_transpose2d_backward(
                gy.contiguous(sx.get().suggest_memory_format()), sx.get(), sw.get(), p, {needs[0], needs[1], needs[2]});
            return Grads{g.input, g.weight, g.bias};
        });
    return y;
}

}  // namespace nabla
