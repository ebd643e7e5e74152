// backends/backend.h — the kernel interface that the reference, cpu and cuda backends implement.
//
// One block per op file. Every primitive kernel has a default that throws NotImplementedError naming the kernel and
// the backend, so a new backend starts as an empty class and fills in kernels one by one (the cuda backend does just
// that). The fused kernels — softmax, the fused loss, the optimizer and EMA steps — default to composites of the
// primitives (backends/composite.cpp): a backend with copy_, fill_, unary, binary and reduce already trains a model,
// and overrides them where one pass over memory is faster. ReferenceBackend implements every kernel with plain loops
// for float and double; CpuBackend derives from it and overrides what oneDNN or vectorised loops do faster, so
// anything it lacks falls back to the reference.
//
// Conventions: the op layer (ops/*.cpp) checks shapes and dtypes and makes inputs contiguous where a kernel says so;
// kernels trust their arguments. Elementwise kernels write into `out` (so in-place ops share them) and accept any
// strides, including the zero strides of broadcasting; the other kernels return fresh contiguous tensors, except
// conv and batch norm, which may return channels-last ones for channels-last inputs (core/shape.h: MemoryFormat).
// An undefined Tensor stands for an absent optional argument (no bias) or a gradient nobody needs.
#pragma once
#include <array>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "backends/common/optim_math.h"  // SgdStepArgs, AdamStepArgs
#include "backends/common/params.h"      // UnaryOp, ConvParams, PoolParams, ...
#include "core/tensor.h"

namespace nabla {

struct ConvGrads {  // conv2d_backward and conv_transpose2d_backward; undefined where not needed
    Tensor input, weight, bias;
};

struct BatchNormGrads {  // batch_norm_backward; undefined where not needed
    Tensor input, weight, bias;
};

struct BatchNormResult {
    Tensor output;
    Tensor save_mean;    // [C], the batch mean in training, the running mean in eval
    Tensor save_invstd;  // [C], 1 / sqrt(var + eps) with the matching variance
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string_view name() const = 0;
    // One line for `nabla --verbose`: the backend and the libraries and threads it runs with.
    virtual std::string description() const { return std::string(name()); }
    // Waits for the kernels launched on `device` so far (torch.cuda.synchronize); host backends run synchronously.
    virtual void synchronize(Device /*device*/) {}

    // --- memory (core/tensor.cpp): strided, dtype-converting copy (dst and src have equal shapes; for a device
    // backend one of them may be on the host); fill with a scalar ---
    virtual void copy_(const Tensor& dst, const Tensor& src);
    virtual void fill_(const Tensor& dst, double value);

    // --- elementwise (ops/elementwise.cpp, ops/activation.cpp) ---
    virtual void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryArgs args);
    // gx = gy * f'(.), where `saved` is the op's output y if unary_grad_uses_output(op), else its input x.
    virtual void unary_backward(UnaryOp op, const Tensor& gy, const Tensor& saved, const Tensor& gx, UnaryArgs args);
    // a, b already expanded to out's shape (zero strides allowed) and of one dtype; out is bool for comparisons.
    virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
    virtual void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);

    // --- reductions (ops/reduce.cpp): dims sorted, unique, non-negative ---
    virtual Tensor reduce(ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim);
    virtual ValuesIndices reduce_with_indices(ReduceOp op, const Tensor& x, int64_t dim, bool keepdim);  // Max, Min

    // --- matmul (ops/matmul.cpp): a [B, M, K] @ b [B, K, N] -> [B, M, N]; any strides, batch stride 0 broadcasts;
    // bf16: autocast (core/autocast.h), multiply in bfloat16 with float32 accumulation where the backend can ---
    virtual Tensor matmul(const Tensor& a, const Tensor& b, bool bf16);

    // --- conv (ops/conv.cpp): NCHW input, contiguous or channels-last (gy in x's layout); contiguous OIHW weight
    // ([C_in, C_out/g, kh, kw] for transposed); outputs and gradients may keep x's layout (the cpu backend does) ---
    virtual Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p);
    virtual ConvGrads conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvParams& p,
                                      std::array<bool, 3> needs);
    virtual Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p);
    virtual ConvGrads conv_transpose2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvParams& p,
                                                std::array<bool, 3> needs);

    // --- pooling (ops/pool.cpp): contiguous NCHW ---
    // x dense NCHW or channels-last; values and indices (int64, flat h*W+w per plane) in x's layout. The backward
    // takes gy and indices in one layout and returns gx in it.
    virtual ValuesIndices max_pool2d(const Tensor& x, const PoolParams& p);
    virtual Tensor max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape);
    virtual Tensor avg_pool2d(const Tensor& x, const PoolParams& p);
    virtual Tensor avg_pool2d_backward(const Tensor& gy, const Shape& x_shape, const PoolParams& p);
    virtual Tensor adaptive_avg_pool2d(const Tensor& x, Int2 output_size);
    virtual Tensor adaptive_avg_pool2d_backward(const Tensor& gy, const Shape& x_shape);

    // --- interpolate (ops/interpolate.cpp): contiguous NCHW ---
    // x (gy) dense NCHW or channels-last; the result in the same layout.
    virtual Tensor upsample(const Tensor& x, const UpsampleParams& p);
    virtual Tensor upsample_backward(const Tensor& gy, const Shape& x_shape, const UpsampleParams& p);

    // --- unfold / fold (ops/unfold.cpp): x [N, C, H, W] <-> cols [N, C*kh*kw, L] ---
    virtual Tensor im2col(const Tensor& x, const UnfoldOptions& p);
    virtual Tensor col2im(const Tensor& cols, Int2 output_size, const UnfoldOptions& p);

    // --- batch norm (ops/batch_norm.cpp): contiguous [N, C, *] or channels-last [N, C, H, W] (gy in x's layout); the
    // output may keep x's layout; running stats updated in place when training. `act` is applied to the output
    // (backends/common/norm_act_math.h); its backward recomputes the pre-activation from x, weight and bias ---
    virtual BatchNormResult batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                       const Tensor& running_mean, const Tensor& running_var, bool training,
                                       double momentum, double eps, NormAct act);
    virtual BatchNormGrads batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight,
                                               const Tensor& bias, const Tensor& save_mean, const Tensor& save_invstd,
                                               bool training, NormAct act,
                                               std::array<bool, 3> needs);  // {input, weight, bias}

    // --- softmax (ops/softmax.cpp): contiguous ---
    virtual Tensor softmax(const Tensor& x, int64_t dim, bool log);
    virtual Tensor softmax_backward(const Tensor& gy, const Tensor& y, int64_t dim, bool log);

    // --- indexing (ops/indexing.cpp, ops/pad.cpp, ops/sort.cpp): index tensors are int64 ---
    virtual Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
    virtual void index_add_(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src);
    virtual Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
    virtual void scatter_add_(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src);
    // x[i0, i1, ..., ik-1] for k integer index tensors already broadcast to one shape: out [*idx_shape, rest...]
    virtual Tensor index(const Tensor& x, const std::vector<Tensor>& indices);
    virtual void index_put_(const Tensor& out, const std::vector<Tensor>& indices, const Tensor& values,
                            bool accumulate);
    // pads: PyTorch order, last dim first: (left, right, top, bottom, ...)
    virtual Tensor pad(const Tensor& x, const Shape& pads, PadMode mode, double value);
    virtual Tensor pad_backward(const Tensor& gy, const Shape& x_shape, const Shape& pads, PadMode mode);
    virtual Tensor flip(const Tensor& x, const Shape& dims);
    virtual ValuesIndices sort(const Tensor& x, int64_t dim, bool descending);  // stable
    virtual ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted);

    // --- fused losses (ops/loss.cpp): per-element binary_cross_entropy_with_logits of logits x, targets t and
    // pos_weight pw (undefined for none), all of one shape (zero strides allowed); math in loss_math.h ---
    virtual Tensor bce_with_logits(const Tensor& x, const Tensor& t, const Tensor& pw);
    virtual Tensor bce_with_logits_backward(const Tensor& gy, const Tensor& x, const Tensor& t, const Tensor& pw);

    // --- optimizers (nn/optim/sgd.cpp, adam.cpp, ema.cpp): the fused in-place update of one parameter and its state,
    // one pass over memory instead of a chain of tensor ops; the math is backends/common/optim_math.h. Every tensor is
    // contiguous, of the parameter's shape and floating dtype. An undefined momentum_buffer means momentum = 0, an
    // undefined max_exp_avg_sq means amsgrad off. ema_update: ema = decay * ema + (1 - decay) * model ---
    virtual void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                          const SgdStepArgs& args);
    virtual void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                           const Tensor& max_exp_avg_sq, const AdamStepArgs& args);
    virtual void ema_update(const Tensor& ema, const Tensor& model, double decay);

protected:
    [[noreturn]] void not_implemented(std::string_view kernel) const;
};

// The backend that runs kernels for tensors on `device`: cpu (or reference when forced) on the host, cuda on GPUs
// (backends/cuda registers itself when the program starts, in builds with CUDA).
Backend& backend_for(Device device);
void register_backend(DeviceType type, Backend* backend);
inline Backend& backend_for(const Tensor& t) { return backend_for(t.device()); }
// Waits until the work queued on `device` is done: before timing a step (`nabla bench`) or reading device memory.
inline void synchronize(Device device) { backend_for(device).synchronize(device); }

// Tensors for kernels to allocate and reshape, below the op layer: no autograd, no argument checks, and the
// device's own fill and copy kernels. (The factories and views of ops/ are one layer up.)
namespace kernel {
Tensor empty(const Shape& shape, const TensorOptions& options = {}, MemoryFormat format = MemoryFormat::Contiguous);
Tensor full(const Shape& shape, double value, const TensorOptions& options = {});
inline Tensor zeros(const Shape& shape, const TensorOptions& options = {}) { return kernel::full(shape, 0.0, options); }
Tensor contiguous(const Tensor& x);                       // x itself when already contiguous
Tensor contiguous(const Tensor& x, MemoryFormat format);  // dense in `format`; x itself when already so
Tensor to(const Tensor& x, DType dtype);             // a contiguous copy converted to dtype; x itself when already so
Tensor expand(const Tensor& x, const Shape& shape);  // a view with stride 0 over broadcast dims (x.dim() <= shape's)
}  // namespace kernel

// Forcing the reference kernels, for tests and readers: NABLA_KERNELS=reference in the environment, or
//   with_kernels(Kernels::reference, [&] { return conv2d(x, w); })
enum class Kernels { fast, reference };
Kernels kernels_mode();
void set_kernels_mode(Kernels k);  // for this thread
template <class F>
auto with_kernels(Kernels k, F&& f) {
    struct Restore {
        Kernels old;
        ~Restore() { set_kernels_mode(old); }
    } restore{kernels_mode()};
    set_kernels_mode(k);
    return f();
}

}  // namespace nabla
