// backends/cuda/loss.cpp — CudaBackend::bce_with_logits and its backward: picks the flat kernels of loss.cu when each
// operand is dense or one value broadcast (YOLOv5's pos_weight [1.0], the gy of a mean or a sum), else the strided
// ones. An undefined pos_weight is passed as null (a weight of 1). The result is contiguous, of x's shape.
#include "backends/cuda/loss.h"

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"

namespace nabla {

namespace {

// 1 for a dense operand, 0 for one value broadcast over the shape (or a single element), -1 for anything else.
int64_t flat_step(const Tensor& a) {
    if (a.numel() == 1) return 0;
    if (a.is_contiguous()) return 1;
    for (int64_t d = 0; d < a.dim(); ++d)
        if (a.size(d) > 1 && a.stride(d) != 0) return -1;
    return 0;
}

// The operand in x's dtype (the op layer passes them so; a mismatch is converted rather than misread). Converted only
// on a mismatch: kernel::to would also make a broadcast operand dense, and the flat and strided kernels read it as is.
Tensor as_dtype(const Tensor& a, DType dtype) { return a.defined() && a.dtype() != dtype ? kernel::to(a, dtype) : a; }

const void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

}  // namespace

Tensor CudaBackend::bce_with_logits(const Tensor& x, const Tensor& t_in, const Tensor& pw_in) {
    cuda::DeviceGuard guard(x.device());
    const Tensor t = as_dtype(t_in, x.dtype()), pw = as_dtype(pw_in, x.dtype());
    Tensor y = kernel::empty(x.shape(), x.options());
    const int64_t n = y.numel();
    if (n == 0) return y;
    const cuda::BceSteps steps{flat_step(x), flat_step(t), pw.defined() ? flat_step(pw) : 0, 1};
    if (steps.x >= 0 && steps.t >= 0 && steps.pw >= 0) {
        cuda::launch_bce_with_logits(x.dtype(), x.raw_data(), t.raw_data(), data_or_null(pw), y.raw_data(), n, steps);
    } else {
        const Tensor& pw_geometry = pw.defined() ? pw : y;  // any operand of the shape: pw is not read when absent
        cuda::launch_bce_with_logits(x.dtype(), x.raw_data(), t.raw_data(), data_or_null(pw), y.raw_data(), n,
                                     cuda::indexer<4>(y.shape(), {&y, &x, &t, &pw_geometry}));
    }
    return y;
}

Tensor CudaBackend::bce_with_logits_backward(const Tensor& gy_in, const Tensor& x, const Tensor& t_in,
                                             const Tensor& pw_in) {
    cuda::DeviceGuard guard(x.device());
    const Tensor gy = as_dtype(gy_in, x.dtype()), t = as_dtype(t_in, x.dtype()), pw = as_dtype(pw_in, x.dtype());
    Tensor gx = kernel::empty(x.shape(), x.options());
    const int64_t n = gx.numel();
    if (n == 0) return gx;
    const cuda::BceSteps steps{flat_step(x), flat_step(t), pw.defined() ? flat_step(pw) : 0, flat_step(gy)};
    if (steps.x >= 0 && steps.t >= 0 && steps.pw >= 0 && steps.gy >= 0) {
        cuda::launch_bce_with_logits_backward(x.dtype(), gy.raw_data(), x.raw_data(), t.raw_data(), data_or_null(pw),
                                              gx.raw_data(), n, steps);
    } else {
        const Tensor& pw_geometry = pw.defined() ? pw : gx;
        cuda::launch_bce_with_logits_backward(x.dtype(), gy.raw_data(), x.raw_data(), t.raw_data(), data_or_null(pw),
                                              gx.raw_data(), n,
                                              cuda::indexer<5>(gx.shape(), {&gx, &gy, &x, &t, &pw_geometry}));
    }
    return gx;
}

}  // namespace nabla
