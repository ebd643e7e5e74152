// backends/cuda/elementwise.cpp — the elementwise kernels' host side: the strided geometry of their tensors
// (device.h: indexer) handed to the launchers of elementwise.cu.
#include "backends/cuda/elementwise.h"

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"

namespace nabla {

void CudaBackend::unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryArgs args) {
    cuda::DeviceGuard guard(out.device());
    cuda::launch_unary(op, x.dtype(), x.raw_data(), out.raw_data(), cuda::indexer<2>(out.shape(), {&out, &x}),
                       out.numel(), args);
}

void CudaBackend::unary_backward(UnaryOp op, const Tensor& gy, const Tensor& saved, const Tensor& gx, UnaryArgs args) {
    cuda::DeviceGuard guard(gx.device());
    cuda::launch_unary_backward(op, gy.dtype(), gy.raw_data(), saved.raw_data(), gx.raw_data(),
                                cuda::indexer<3>(gx.shape(), {&gx, &gy, &saved}), gx.numel(), args);
}

void CudaBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
    cuda::DeviceGuard guard(out.device());
    cuda::launch_binary(op, a.dtype(), a.raw_data(), b.raw_data(), out.raw_data(),
                        cuda::indexer<3>(out.shape(), {&out, &a, &b}), out.numel());
}

void CudaBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
    cuda::DeviceGuard guard(out.device());
    cuda::launch_where(a.dtype(), static_cast<const bool*>(cond.raw_data()), a.raw_data(), b.raw_data(), out.raw_data(),
                       cuda::indexer<4>(out.shape(), {&out, &cond, &a, &b}), out.numel());
}

}  // namespace nabla
