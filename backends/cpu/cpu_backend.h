// backends/cpu/cpu_backend.h — the fast host backend for float32: oneDNN primitives (conv, deconv, matmul, softmax,
// the transcendental eltwise ops) and OpenMP loops the compiler vectorises (elementwise, reductions, pooling, batch
// norm, interpolation, im2col/col2im, the fused loss and optimizer steps). Everything else (sort, pad, flip, gather,
// scatter and indexing, adaptive pooling), and float64 above all, falls back to the reference kernels it derives
// from.
#pragma once
#include "backends/reference/reference_backend.h"

namespace nabla {

class CpuBackend : public ReferenceBackend {
public:
    std::string_view name() const override { return "cpu"; }
    std::string description() const override;  // "cpu: oneDNN 2.6.3, 2 threads"

    // backends/cpu/memory.cpp
    void copy_(const Tensor& dst, const Tensor& src) override;
    void fill_(const Tensor& dst, double value) override;
    // backends/cpu/elementwise.cpp
    void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryArgs args) override;
    void unary_backward(UnaryOp op, const Tensor& gy, const Tensor& saved, const Tensor& gx, UnaryArgs args) override;
    void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) override;
    // backends/cpu/reduce.cpp
    Tensor reduce(ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim) override;
    // backends/cpu/matmul.cpp
    Tensor matmul(const Tensor& a, const Tensor& b, bool bf16) override;
    // backends/cpu/conv.cpp
    Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p) override;
    ConvGrads conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvParams& p,
                              std::array<bool, 3> needs) override;
    Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p) override;
    ConvGrads conv_transpose2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvParams& p,
                                        std::array<bool, 3> needs) override;
    // backends/cpu/pool.cpp
    ValuesIndices max_pool2d(const Tensor& x, const PoolParams& p) override;
    Tensor max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape) override;
    Tensor avg_pool2d(const Tensor& x, const PoolParams& p) override;
    Tensor avg_pool2d_backward(const Tensor& gy, const Shape& x_shape, const PoolParams& p) override;
    // backends/cpu/interpolate.cpp
    Tensor upsample(const Tensor& x, const UpsampleParams& p) override;
    Tensor upsample_backward(const Tensor& gy, const Shape& x_shape, const UpsampleParams& p) override;
    // backends/cpu/unfold.cpp
    Tensor im2col(const Tensor& x, const UnfoldOptions& p) override;
    Tensor col2im(const Tensor& cols, Int2 output_size, const UnfoldOptions& p) override;
    // backends/cpu/batch_norm.cpp
    BatchNormResult batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                               const Tensor& running_var, bool training, double momentum, double eps,
                               NormAct act) override;
    BatchNormGrads batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                       const Tensor& save_mean, const Tensor& save_invstd, bool training, NormAct act,
                                       std::array<bool, 3> needs) override;
    // backends/cpu/softmax.cpp
    Tensor softmax(const Tensor& x, int64_t dim, bool log) override;
    Tensor softmax_backward(const Tensor& gy, const Tensor& y, int64_t dim, bool log) override;
    // backends/cpu/loss.cpp
    Tensor bce_with_logits(const Tensor& x, const Tensor& t, const Tensor& pw) override;
    Tensor bce_with_logits_backward(const Tensor& gy, const Tensor& x, const Tensor& t, const Tensor& pw) override;
    // backends/cpu/optim.cpp
    void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                  const SgdStepArgs& args) override;
    void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                   const Tensor& max_exp_avg_sq, const AdamStepArgs& args) override;
    void ema_update(const Tensor& ema, const Tensor& model, double decay) override;
};

}  // namespace nabla
