// nn/conv.cpp — Conv2d and ConvTranspose2d: torch's argument checks, parameters, default init and print format.
#include "nn/conv.h"

#include "nn/init.h"
#include "nn/repr.h"
#include "ops/conv.h"
#include "ops/factory.h"

namespace nabla::nn {

namespace {

// torch's _ConvNd checks, plus the sizes torch would only reject at the first forward.
void check_conv_args(const char* layer, int64_t in_channels, int64_t out_channels, Int2 kernel_size, int64_t groups,
                     Int2 stride, Int2 padding, Int2 dilation) {
    NB_CHECK_VALUE(in_channels > 0 && out_channels > 0, layer, ": in_channels and out_channels must be positive, got ",
                   in_channels, " and ", out_channels);
    NB_CHECK_VALUE(groups > 0, layer, ": groups must be a positive integer, got ", groups);
    NB_CHECK_VALUE(in_channels % groups == 0, layer, ": in_channels=", in_channels,
                   " must be divisible by groups=", groups);
    NB_CHECK_VALUE(out_channels % groups == 0, layer, ": out_channels=", out_channels,
                   " must be divisible by groups=", groups);
    NB_CHECK_VALUE(kernel_size.h > 0 && kernel_size.w > 0, layer, ": kernel_size must be positive, got ", kernel_size);
    NB_CHECK_VALUE(stride.h > 0 && stride.w > 0 && dilation.h > 0 && dilation.w > 0, layer,
                   ": stride and dilation must be positive, got stride=", stride, " dilation=", dilation);
    NB_CHECK_VALUE(padding.h >= 0 && padding.w >= 0, layer, ": padding must be non-negative, got ", padding);
}

// torch's _ConvNd.extra_repr: stride always, the rest only when not the default.
std::string conv_repr(int64_t in_channels, int64_t out_channels, Int2 kernel_size, Int2 stride, Int2 padding,
                      Int2 dilation, Int2 output_padding, int64_t groups, bool bias, PaddingMode padding_mode) {
    std::string s = fmt::format("{}, {}, kernel_size={}, stride={}", in_channels, out_channels, py_pair(kernel_size),
                                py_pair(stride));
    if (padding != Int2(0)) s += ", padding=" + py_pair(padding);
    if (dilation != Int2(1)) s += ", dilation=" + py_pair(dilation);
    if (output_padding != Int2(0)) s += ", output_padding=" + py_pair(output_padding);
    if (groups != 1) s += fmt::format(", groups={}", groups);
    if (!bias) s += ", bias=False";
    if (padding_mode == PaddingMode::Reflect) s += ", padding_mode=reflect";
    return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Conv2d

Conv2d::Conv2d(int64_t in_channels_, int64_t out_channels_, Int2 kernel_size_, Conv2dArgs args)
    : Module("Conv2d"),
      in_channels(in_channels_),
      out_channels(out_channels_),
      kernel_size(kernel_size_),
      options(args) {
    check_conv_args("Conv2d", in_channels, out_channels, kernel_size, args.groups, args.stride, args.padding,
                    args.dilation);
    weight =
        register_parameter("weight", empty({out_channels, in_channels / args.groups, kernel_size.h, kernel_size.w}));
    bias = register_parameter("bias", args.bias ? empty({out_channels}) : Tensor());
    reset_parameters();
}

void Conv2d::reset_parameters() { init::reset_weight_and_bias_(weight, bias); }

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, op_options()); }

Conv2dOptions Conv2d::op_options() const {
    return {.stride = options.stride,
            .padding = options.padding,
            .dilation = options.dilation,
            .groups = options.groups,
            .padding_mode = options.padding_mode};
}

int64_t Conv2d::macs(const Shape& input, const Shape& output) const {
    return numel_of(output) * (in_channels / options.groups) * kernel_size.h * kernel_size.w;
}

std::string Conv2d::extra_repr() const {
    return conv_repr(in_channels, out_channels, kernel_size, options.stride, options.padding, options.dilation, 0,
                     options.groups, options.bias, options.padding_mode);
}

// ---------------------------------------------------------------------------------------------------------------
// ConvTranspose2d

void Conv2d::sync_widths() {
    const bool depthwise = options.groups > 1 && options.groups == in_channels && options.groups == out_channels;
    out_channels = weight.size(0);
    if (depthwise) options.groups = out_channels;
    in_channels = weight.size(1) * options.groups;
}

ConvTranspose2d::ConvTranspose2d(int64_t in_channels_, int64_t out_channels_, Int2 kernel_size_,
                                 ConvTranspose2dArgs args)
    : Module("ConvTranspose2d"),
      in_channels(in_channels_),
      out_channels(out_channels_),
      kernel_size(kernel_size_),
      options(args) {
    check_conv_args("ConvTranspose2d", in_channels, out_channels, kernel_size, args.groups, args.stride, args.padding,
                    args.dilation);
    const Int2 op = args.output_padding, s = args.stride, d = args.dilation;
    NB_CHECK_VALUE(op.h >= 0 && op.w >= 0 && (op.h < s.h || op.h < d.h) && (op.w < s.w || op.w < d.w),
                   "ConvTranspose2d: output_padding ", op, " must be smaller than either stride ", s, " or dilation ",
                   d);
    weight =
        register_parameter("weight", empty({in_channels, out_channels / args.groups, kernel_size.h, kernel_size.w}));
    bias = register_parameter("bias", args.bias ? empty({out_channels}) : Tensor());
    reset_parameters();
}

void ConvTranspose2d::reset_parameters() { init::reset_weight_and_bias_(weight, bias); }

Tensor ConvTranspose2d::forward(const Tensor& x) {
    return conv_transpose2d(x, weight, bias,
                            {.stride = options.stride,
                             .padding = options.padding,
                             .output_padding = options.output_padding,
                             .dilation = options.dilation,
                             .groups = options.groups});
}

int64_t ConvTranspose2d::macs(const Shape& input, const Shape& output) const {
    return numel_of(input) * (out_channels / options.groups) * kernel_size.h * kernel_size.w;
}

std::string ConvTranspose2d::extra_repr() const {
    return conv_repr(in_channels, out_channels, kernel_size, options.stride, options.padding, options.dilation,
                     options.output_padding, options.groups, options.bias, PaddingMode::Zeros);
}

}  // namespace nabla::nn
