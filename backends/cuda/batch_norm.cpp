// backends/cuda/batch_norm.cpp — CudaBackend::batch_norm and batch_norm_backward: layouts, outputs and geometry on
// the host, kernels in backends/cuda/batch_norm.cu. A channels-last input (and its gy) is made contiguous NCHW and
// the results are contiguous NCHW, which backends/backend.h allows; weight and bias are [C] contiguous or undefined
// (affine=False); the running statistics are written in place through their stride, as the reference does.
#include "backends/cuda/batch_norm.h"

#include <array>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"

namespace nabla {

namespace {

// x (contiguous) as [N, C, S]. With no values per channel the shape is {0, C, 1}, so that no kernel divides by S = 0.
cuda::BatchNormShape shape_of(const Tensor& x) {
    const int64_t n = x.size(0), c = x.size(1);
    if (x.numel() == 0) return {0, c, 1};
    return {n, c, x.numel() / (n * c)};
}

const void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

Tensor contiguous_or_undefined(const Tensor& t) { return t.defined() ? kernel::contiguous(t) : Tensor(); }

}  // namespace

BatchNormResult CudaBackend::batch_norm(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in,
                                        const Tensor& running_mean, const Tensor& running_var, bool training,
                                        double momentum, double eps, NormAct act) {
    cuda::DeviceGuard guard(x_in.device());
    const Tensor x = kernel::contiguous(x_in);  // channels-last -> NCHW
    const Tensor weight = contiguous_or_undefined(weight_in), bias = contiguous_or_undefined(bias_in);
    const cuda::BatchNormShape shape = shape_of(x);
    Tensor y = kernel::empty(x.shape(), x.options());
    Tensor save_mean = kernel::empty({shape.c}, x.options());
    Tensor save_invstd = kernel::empty({shape.c}, x.options());
    if (shape.c == 0) return {y, save_mean, save_invstd};

    const bool track = running_mean.defined();  // training may run without running statistics; eval may not
    const int64_t rm_stride = track ? running_mean.stride(0) : 0, rv_stride = track ? running_var.stride(0) : 0;
    if (training)
        cuda::launch_batch_norm_collect_statistics(x.dtype(), x.raw_data(), shape,
                                                   track ? running_mean.raw_data() : nullptr, rm_stride,
                                                   track ? running_var.raw_data() : nullptr, rv_stride, momentum, eps,
                                                   save_mean.raw_data(), save_invstd.raw_data());
    else
        cuda::launch_batch_norm_running_statistics(x.dtype(), running_mean.raw_data(), rm_stride,
                                                   running_var.raw_data(), rv_stride, shape.c, eps,
                                                   save_mean.raw_data(), save_invstd.raw_data());
    if (x.numel() > 0)
        cuda::launch_batch_norm_elemt(x.dtype(), act, x.raw_data(), data_or_null(weight), data_or_null(bias),
                                      save_mean.raw_data(), save_invstd.raw_data(), y.raw_data(), shape);
    return {y, save_mean, save_invstd};
}

BatchNormGrads CudaBackend::batch_norm_backward(const Tensor& gy_in, const Tensor& x_in, const Tensor& weight_in,
                                                const Tensor& bias_in, const Tensor& save_mean,
                                                const Tensor& save_invstd, bool training, NormAct act,
                                                std::array<bool, 3> needs) {
    cuda::DeviceGuard guard(x_in.device());
    const Tensor gy = kernel::contiguous(gy_in), x = kernel::contiguous(x_in);  // channels-last -> NCHW
    const Tensor weight = contiguous_or_undefined(weight_in), bias = contiguous_or_undefined(bias_in);
    const Tensor mean = kernel::contiguous(save_mean), invstd = kernel::contiguous(save_invstd);
    const cuda::BatchNormShape shape = shape_of(x);
    BatchNormGrads g;
    if (needs[0]) g.input = kernel::empty(x.shape(), x.options());
    if (needs[1]) g.weight = kernel::empty({shape.c}, x.options());
    if (needs[2]) g.bias = kernel::empty({shape.c}, x.options());
    if (shape.c == 0) return g;

    // The training gx needs each channel's Σ gz / n and Σ gz x̂ / n (kept in double); the eval gx needs no sums.
    const bool input_terms = needs[0] && training;
    Tensor coef = input_terms ? kernel::empty({2 * shape.c}, {kFloat64, x.device()}) : Tensor();
    // With an activation the bias enters z; without one it is not read.
    const void* pb = act == NormAct::None ? nullptr : data_or_null(bias);
    if (needs[1] || needs[2] || input_terms)
        cuda::launch_batch_norm_backward_reduce(
            x.dtype(), act, gy.raw_data(), x.raw_data(), data_or_null(weight), pb, mean.raw_data(), invstd.raw_data(),
            shape, needs[1] ? g.weight.raw_data() : nullptr, needs[2] ? g.bias.raw_data() : nullptr,
            input_terms ? coef.data_ptr<double>() : nullptr);
    if (needs[0] && x.numel() > 0)
        cuda::launch_batch_norm_backward_elemt(
            x.dtype(), act, training, gy.raw_data(), x.raw_data(), data_or_null(weight), pb, mean.raw_data(),
            invstd.raw_data(), input_terms ? coef.data_ptr<double>() : nullptr, g.input.raw_data(), shape);
    return g;
}

}  // namespace nabla
