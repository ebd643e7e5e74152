// nn/pooling.cpp — the pooling layers: torch's argument checks at construction, the op, the print format.
#include "nn/pooling.h"

#include "nn/repr.h"
#include "ops/pool.h"

namespace nabla::nn {

namespace {

// The checks torch's pooling kernels make on the first forward, made at construction; returns the resolved stride.
Int2 checked_stride(const char* layer, Int2 kernel, Int2 stride, Int2 padding, Int2 dilation) {
    NB_CHECK_VALUE(kernel.h > 0 && kernel.w > 0, layer, ": kernel_size should be greater than zero, got ", kernel);
    NB_CHECK_VALUE(stride.h >= 0 && stride.w >= 0, layer, ": stride should not be negative, got ", stride);
    NB_CHECK_VALUE(dilation.h > 0 && dilation.w > 0, layer, ": dilation should be greater than zero, got ", dilation);
    NB_CHECK_VALUE(padding.h >= 0 && padding.w >= 0 && padding.h <= kernel.h / 2 && padding.w <= kernel.w / 2, layer,
                   ": padding ", padding, " should be non-negative and at most half of kernel_size ", kernel);
    return stride == Int2(0) ? kernel : stride;
}

}  // namespace

MaxPool2d::MaxPool2d(Int2 kernel_size, MaxPool2dArgs a)
    : Module("MaxPool2d"),
      options{.kernel_size = kernel_size,
              .stride = checked_stride("MaxPool2d", kernel_size, a.stride, a.padding, a.dilation),
              .padding = a.padding,
              .dilation = a.dilation,
              .ceil_mode = a.ceil_mode} {}

Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, options); }

std::string MaxPool2d::extra_repr() const {
    return fmt::format("kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={}",
                       py_int_or_pair(options.kernel_size), py_int_or_pair(options.stride),
                       py_int_or_pair(options.padding), py_int_or_pair(options.dilation), py_bool(options.ceil_mode));
}

AvgPool2d::AvgPool2d(Int2 kernel_size, AvgPool2dArgs a)
    : Module("AvgPool2d"),
      options{.kernel_size = kernel_size,
              .stride = checked_stride("AvgPool2d", kernel_size, a.stride, a.padding, 1),
              .padding = a.padding,
              .ceil_mode = a.ceil_mode,
              .count_include_pad = a.count_include_pad} {}

Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, options); }

std::string AvgPool2d::extra_repr() const {  // torch prints only these three
    return fmt::format("kernel_size={}, stride={}, padding={}", py_int_or_pair(options.kernel_size),
                       py_int_or_pair(options.stride), py_int_or_pair(options.padding));
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Int2 output_size_) : Module("AdaptiveAvgPool2d"), output_size(output_size_) {
    NB_CHECK_VALUE(output_size.h >= 0 && output_size.w >= 0, "AdaptiveAvgPool2d: output_size ", output_size,
                   " must be non-negative");
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, output_size); }

std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + py_int_or_pair(output_size); }

}  // namespace nabla::nn
