// backends/cuda/cuda_backend.h — the CUDA backend: every kernel of backends/backend.h on NVIDIA GPUs.
//
// Each op family is a pair of files, as in the other backends: `<family>.cu` holds the kernels and thin launchers
// that take raw pointers and plain structs (declared in `<family>.h`), and `<family>.cpp` the CudaBackend methods
// that work out shapes, dtypes and geometry on the host and call them. The per-element math is the same
// __host__ __device__ code the cpu backends run (backends/common/*_math.h), so the CPU tests check it too.
// Convolutions go through cuDNN when CMake found it (conv_cudnn.cpp) and through im2col + cuBLAS otherwise
// (conv_gemm.cpp): one of the two is compiled in, chosen at configure time.
// Memory comes from a caching allocator (allocator.cpp), kernels run on one stream per device (launch.h), and a
// tensor's Device::index picks the GPU (device.h: DeviceGuard).
#pragma once
#include <string>

#include "backends/backend.h"

namespace nabla {

class CudaBackend final : public Backend {
public:
    std::string_view name() const override { return "cuda"; }
    std::string description() const override;  // cuda_backend.cpp: the devices, the conv path, the library versions
    void synchronize(Device device) override;  // launch.cpp: waits for the device's stream

    // memory.cpp
    void copy_(const Tensor& dst, const Tensor& src) override;
    void fill_(const Tensor& dst, double value) override;
    // elementwise.cpp
    void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryArgs args) override;
    void unary_backward(UnaryOp op, const Tensor& gy, const Tensor& saved, const Tensor& gx, UnaryArgs args) override;
    void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) override;
    void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) override;
    // reduce.cpp
    Tensor reduce(ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim) override;
    ValuesIndices reduce_with_indices(ReduceOp op, const Tensor& x, int64_t dim, bool keepdim) override;
    // matmul.cpp (bf16 ignored: float32 cuBLAS)
    Tensor matmul(const Tensor& a, const Tensor& b, bool bf16) override;
    // conv_cudnn.cpp or conv_gemm.cpp
    Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p) override;
    ConvGrads conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvParams& p,
                              std::array<bool, 3> needs) override;
    Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p) override;
    ConvGrads conv_transpose2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvParams& p,
                                        std::array<bool, 3> needs) override;
    // pool.cpp
    ValuesIndices max_pool2d(const Tensor& x, const PoolParams& p) override;
    Tensor max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape) override;
    Tensor avg_pool2d(const Tensor& x, const PoolParams& p) override;
    Tensor avg_pool2d_backward(const Tensor& gy, const Shape& x_shape, const PoolParams& p) override;
    Tensor adaptive_avg_pool2d(const Tensor& x, Int2 output_size) override;
    Tensor adaptive_avg_pool2d_backward(const Tensor& gy, const Shape& x_shape) override;
    // interpolate.cpp
    Tensor upsample(const Tensor& x, const UpsampleParams& p) override;
    Tensor upsample_backward(const Tensor& gy, const Shape& x_shape, const UpsampleParams& p) override;
    // unfold.cpp
    Tensor im2col(const Tensor& x, const UnfoldOptions& p) override;
    Tensor col2im(const Tensor& cols, Int2 output_size, const UnfoldOptions& p) override;
    // batch_norm.cpp
    BatchNormResult batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                               const Tensor& running_var, bool training, double momentum, double eps,
                               NormAct act) override;
    BatchNormGrads batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                       const Tensor& save_mean, const Tensor& save_invstd, bool training, NormAct act,
                                       std::array<bool, 3> needs) override;
    // softmax.cpp
    Tensor softmax(const Tensor& x, int64_t dim, bool log) override;
    Tensor softmax_backward(const Tensor& gy, const Tensor& y, int64_t dim, bool log) override;
    // indexing.cpp
    Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) override;
    void index_add_(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) override;
    Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) override;
    void scatter_add_(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) override;
    Tensor index(const Tensor& x, const std::vector<Tensor>& indices) override;
    void index_put_(const Tensor& out, const std::vector<Tensor>& indices, const Tensor& values,
                    bool accumulate) override;
    Tensor pad(const Tensor& x, const Shape& pads, PadMode mode, double value) override;
    Tensor pad_backward(const Tensor& gy, const Shape& x_shape, const Shape& pads, PadMode mode) override;
    Tensor flip(const Tensor& x, const Shape& dims) override;
    // sort.cpp
    ValuesIndices sort(const Tensor& x, int64_t dim, bool descending) override;
    ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) override;
    // loss.cpp
    Tensor bce_with_logits(const Tensor& x, const Tensor& t, const Tensor& pw) override;
    Tensor bce_with_logits_backward(const Tensor& gy, const Tensor& x, const Tensor& t, const Tensor& pw) override;
    // optim.cpp
    void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                  const SgdStepArgs& args) override;
    void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                   const Tensor& max_exp_avg_sq, const AdamStepArgs& args) override;
    void ema_update(const Tensor& ema, const Tensor& model, double decay) override;
};

// Number of usable CUDA devices; 0 when there is none or no driver (the reason is in cuda_unavailable_reason()).
int cuda_device_count();
std::string cuda_unavailable_reason();

}  // namespace nabla
