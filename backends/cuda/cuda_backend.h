// backends/cuda/cuda_backend.h — the CUDA backend: device memory, copies between host and device, the elementwise
// kernels (their math is backends/common/*_math.h, shared with the cpu backends) and matmul on cuBLAS.
// Kernels it does not have yet throw NotImplementedError naming the kernel (the Backend defaults), so a model that
// needs them fails clearly rather than silently running elsewhere.
#pragma once
#include <string>

#include "backends/backend.h"

namespace nabla {

class CudaBackend final : public Backend {
public:
    std::string_view name() const override { return "cuda"; }

    void copy_(const Tensor& dst, const Tensor& src) override;
    void fill_(const Tensor& dst, double value) override;
    void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryArgs args) override;
    void unary_backward(UnaryOp op, const Tensor& gy, const Tensor& saved, const Tensor& gx, UnaryArgs args) override;
    void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) override;
    void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) override;
    Tensor matmul(const Tensor& a, const Tensor& b, bool bf16) override;  // bf16 ignored: float32 cuBLAS
};

// Number of usable CUDA devices; 0 when there is none or no driver (the reason is in cuda_unavailable_reason()).
int cuda_device_count();
std::string cuda_unavailable_reason();

}  // namespace nabla
