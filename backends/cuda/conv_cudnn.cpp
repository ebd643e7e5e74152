// backends/cuda/conv_cudnn.cpp — conv2d and conv_transpose2d through cuDNN's convolution API (cudnnConvolution*),
// for builds that found cuDNN (CMake compiles this file or conv_gemm.cpp). The math is docs/ops_semantics.md §6.
//
// cuDNN sees each call as a conv from `in` [N, C, H, W] to `out` [N, O, Ho, Wo] with weight [O, C/g, kh, kw]
// (a Problem): Forward computes it, BackwardData its adjoint (out -> in) and BackwardFilter its weight gradient. As
// in backends/reference/conv.cpp, conv_transpose2d is the conv from its output back to its input run backwards:
//   conv2d            y  = Forward(x)          gx = BackwardData(gy)   gw = BackwardFilter(x, gy)
//   conv_transpose2d  y  = BackwardData(x)     gx = Forward(gy)        gw = BackwardFilter(gy, x)
// (the transposed weight [C_in, C_out/g, kh, kw] is the filter [K = C_in, C = C_out/g] of the conv y -> x). The bias,
// conv2d_act's activation and the bias gradient are our own kernels (conv_common.h).
//
// The algorithm of each (kind, device, dtype, shapes, parameters) is chosen once, as PyTorch's cudnn.benchmark
// does: cudnnFind*AlgorithmEx times the candidates on the call's own buffers, with a workspace as large as the
// heuristics (cudnnGet*Algorithm_v7) say the hungriest needs, up to kFindWorkspaceLimit; the heuristics' first choice
// stands in if that finds nothing. Workspaces come from the caching allocator (kernel::empty of uint8).
// Precision: float32 convs run with CUDNN_FMA_MATH, plain float32 arithmetic like the cpu backend's (cuDNN's default
// would allow TF32 on Ampere and later, ~1e-3 relative error); under bf16 autocast (ConvParams::bf16) the default
// math, which allows TF32 tensor cores — more precise than bfloat16 and the fastest float32 input cuDNN takes.
// float64 convs run in double. Inputs in channels-last are copied to NCHW; outputs are NCHW.
// cuDNN is linked, not opened with dlopen like cuBLAS: libcudnn.so.9 is a 130 kB shim that loads its engine
// libraries on first use, and linking it cost an empty program ~3 ms of start-up (measured here: 5.0 -> 7.5 ms).
#include <cudnn.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

#include "backends/cuda/conv_common.h"
#include "backends/cuda/conv_host.h"
#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"
#include "backends/cuda/launch.h"

namespace nabla {
namespace {

// The largest workspace cudnnFind may time candidates with: FFT algorithms ask for gigabytes, which the caching
// allocator would keep reserved afterwards; the fast ones for ordinary shapes need far less.
constexpr size_t kFindWorkspaceLimit = size_t(256) << 20;

void check(cudnnStatus_t status, const char* what) {
    if (status != CUDNN_STATUS_SUCCESS) throw Error(detail::concat("cudnn ", what, ": ", cudnnGetErrorString(status)));
}

struct Context {
    cudnnHandle_t handle;
    int device;
};

// The handle of the current device, bound to the device's stream (backends/cuda/launch.h). One per device, created
// on first use and never destroyed (tearing cuDNN down at exit can run after the driver has unloaded).
Context context() {
    static std::mutex mutex;
    static std::map<int, cudnnHandle_t> handles;
    int device = 0;
    cuda::check(cudaGetDevice(&device), "cudaGetDevice");
    cudnnHandle_t handle = nullptr;
    {
        std::lock_guard lock(mutex);
        auto it = handles.find(device);
        if (it == handles.end()) {
            check(cudnnCreate(&handle), "cudnnCreate");
            handles.emplace(device, handle);
        } else {
            handle = it->second;
        }
    }
    check(cudnnSetStream(handle, cuda::current_stream()), "cudnnSetStream");
    return {handle, device};
}

// Owners of cuDNN descriptors: created empty, destroyed with the Problem that sets them.
struct TensorDescriptor {
    cudnnTensorDescriptor_t d = nullptr;
    TensorDescriptor() { check(cudnnCreateTensorDescriptor(&d), "cudnnCreateTensorDescriptor"); }
    ~TensorDescriptor() { cudnnDestroyTensorDescriptor(d); }
    TensorDescriptor(const TensorDescriptor&) = delete;
    TensorDescriptor& operator=(const TensorDescriptor&) = delete;
};
struct FilterDescriptor {
    cudnnFilterDescriptor_t d = nullptr;
    FilterDescriptor() { check(cudnnCreateFilterDescriptor(&d), "cudnnCreateFilterDescriptor"); }
    ~FilterDescriptor() { cudnnDestroyFilterDescriptor(d); }
    FilterDescriptor(const FilterDescriptor&) = delete;
    FilterDescriptor& operator=(const FilterDescriptor&) = delete;
};
struct ConvolutionDescriptor {
    cudnnConvolutionDescriptor_t d = nullptr;
    ConvolutionDescriptor() { check(cudnnCreateConvolutionDescriptor(&d), "cudnnCreateConvolutionDescriptor"); }
    ~ConvolutionDescriptor() { cudnnDestroyConvolutionDescriptor(d); }
    ConvolutionDescriptor(const ConvolutionDescriptor&) = delete;
    ConvolutionDescriptor& operator=(const ConvolutionDescriptor&) = delete;
};

// A conv from `in` to `out` with weight [o, c/groups, kh, kw], zero padding `padding` and p's stride, dilation and
// groups, as cuDNN describes it; `key` names it in the algorithm caches.
struct Problem {
    TensorDescriptor in, out;
    FilterDescriptor weight;
    ConvolutionDescriptor conv;
    DType dtype;
    std::vector<int64_t> key;

    Problem(const Shape& in_shape, const Shape& out_shape, const Shape& w_shape, Int2 padding, const ConvParams& p,
            DType dt, int device)
        : dtype(dt) {
        const cudnnDataType_t type = dt == kFloat64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
        const cudnnMathType_t math = dt == kFloat32 && !p.bf16 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
        auto i = [](int64_t v) { return static_cast<int>(v); };
        check(cudnnSetTensor4dDescriptor(in.d, CUDNN_TENSOR_NCHW, type, i(in_shape[0]), i(in_shape[1]), i(in_shape[2]),
                                         i(in_shape[3])),
              "cudnnSetTensor4dDescriptor");
        check(cudnnSetTensor4dDescriptor(out.d, CUDNN_TENSOR_NCHW, type, i(out_shape[0]), i(out_shape[1]),
                                         i(out_shape[2]), i(out_shape[3])),
              "cudnnSetTensor4dDescriptor");
        check(cudnnSetFilter4dDescriptor(weight.d, type, CUDNN_TENSOR_NCHW, i(w_shape[0]), i(w_shape[1]), i(w_shape[2]),
                                         i(w_shape[3])),
              "cudnnSetFilter4dDescriptor");
        check(cudnnSetConvolution2dDescriptor(conv.d, i(padding.h), i(padding.w), i(p.stride.h), i(p.stride.w),
                                              i(p.dilation.h), i(p.dilation.w), CUDNN_CROSS_CORRELATION, type),
              "cudnnSetConvolution2dDescriptor");
        check(cudnnSetConvolutionGroupCount(conv.d, i(p.groups)), "cudnnSetConvolutionGroupCount");
        check(cudnnSetConvolutionMathType(conv.d, math), "cudnnSetConvolutionMathType");
        const Shape params{padding.h, padding.w, p.stride.h, p.stride.w, p.dilation.h, p.dilation.w, p.groups};
        key = {device, static_cast<int64_t>(dt), math};
        for (const Shape* s : {&in_shape, &out_shape, &w_shape, &params}) key.insert(key.end(), s->begin(), s->end());
    }

    // cuDNN's alpha = 1 and beta = 0, in the type its scaling factors take for this dtype.
    const void* one() const {
        static const float f = 1;
        static const double d = 1;
        return dtype == kFloat64 ? static_cast<const void*>(&d) : &f;
    }
    const void* zero() const {
        static const float f = 0;
        static const double d = 0;
        return dtype == kFloat64 ? static_cast<const void*>(&d) : &f;
    }
};

Tensor workspace(size_t bytes, Device device) {
    return bytes > 0 ? kernel::empty({static_cast<int64_t>(bytes)}, {kUInt8, device}) : Tensor();
}
void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

// The chosen algorithm (with its workspace size and math type) of every Problem met so far, one cache per kind.
template <class Perf>
struct AlgoCache {
    std::mutex mutex;
    std::map<std::vector<int64_t>, Perf> perfs;
};
template <class Perf>
AlgoCache<Perf>& algo_cache() {
    static AlgoCache<Perf> cache;
    return cache;
}

// The algorithm for `pb`: cached, or found by timing (see the top of the file). get(perfs, capacity, &count) and
// find(perfs, capacity, &count, workspace, bytes) wrap cuDNN's Get*_v7 and Find*Ex for one kind; Find*Ex writes
// the call's output buffer, which the real call then overwrites.
template <class Perf, class Get, class Find>
Perf choose_algorithm(const Problem& pb, Device device, const char* kind, Get&& get, Find&& find) {
    AlgoCache<Perf>& cache = algo_cache<Perf>();
    {
        std::lock_guard lock(cache.mutex);
        auto it = cache.perfs.find(pb.key);
        if (it != cache.perfs.end()) return it->second;
    }
    constexpr int kCapacity = 16;  // more than any kind has algorithms
    Perf heuristic[kCapacity] = {}, timed[kCapacity] = {};
    int heuristic_count = 0, timed_count = 0;
    check(get(heuristic, kCapacity, &heuristic_count), kind);
    size_t bytes = 0;
    for (int i = 0; i < heuristic_count; ++i)
        if (heuristic[i].status == CUDNN_STATUS_SUCCESS) bytes = std::max(bytes, heuristic[i].memory);
    bytes = std::min(bytes, kFindWorkspaceLimit);
    Tensor ws;
    try {
        ws = workspace(bytes, device);
    } catch (const OutOfMemoryError&) {  // time only the algorithms that need no workspace
        bytes = 0;
    }
    const Perf* best = nullptr;
    if (find(timed, kCapacity, &timed_count, data_or_null(ws), bytes) == CUDNN_STATUS_SUCCESS)
        for (int i = 0; i < timed_count && !best; ++i)  // sorted by time
            if (timed[i].status == CUDNN_STATUS_SUCCESS && timed[i].memory <= bytes) best = &timed[i];
    for (int i = 0; i < heuristic_count && !best; ++i)  // sorted by expected speed
        if (heuristic[i].status == CUDNN_STATUS_SUCCESS) best = &heuristic[i];
    if (!best) throw Error(detail::concat("cudnn ", kind, ": no algorithm supports this convolution"));
    std::lock_guard lock(cache.mutex);
    cache.perfs.emplace(pb.key, *best);
    return *best;
}

// out = conv(in, w)
void forward(const Context& ctx, Problem& pb, const Tensor& in, const Tensor& w, const Tensor& out) {
    const auto perf = choose_algorithm<cudnnConvolutionFwdAlgoPerf_t>(
        pb, in.device(), "cudnnConvolutionForward",
        [&](cudnnConvolutionFwdAlgoPerf_t* perfs, int capacity, int* count) {
            return cudnnGetConvolutionForwardAlgorithm_v7(ctx.handle, pb.in.d, pb.weight.d, pb.conv.d, pb.out.d,
                                                          capacity, count, perfs);
        },
        [&](cudnnConvolutionFwdAlgoPerf_t* perfs, int capacity, int* count, void* ws, size_t bytes) {
            return cudnnFindConvolutionForwardAlgorithmEx(ctx.handle, pb.in.d, in.raw_data(), pb.weight.d, w.raw_data(),
                                                          pb.conv.d, pb.out.d, out.raw_data(), capacity, count, perfs,
                                                          ws, bytes);
        });
    check(cudnnSetConvolutionMathType(pb.conv.d, perf.mathType), "cudnnSetConvolutionMathType");
    const Tensor ws = workspace(perf.memory, in.device());
    cuda::Launch launch("cudnnConvolutionForward");
    check(cudnnConvolutionForward(ctx.handle, pb.one(), pb.in.d, in.raw_data(), pb.weight.d, w.raw_data(), pb.conv.d,
                                  perf.algo, data_or_null(ws), perf.memory, pb.zero(), pb.out.d, out.raw_data()),
          "cudnnConvolutionForward");
    launch.check();
}

// gin = the adjoint of conv(., w) applied to gout
void backward_data(const Context& ctx, Problem& pb, const Tensor& w, const Tensor& gout, const Tensor& gin) {
    const auto perf = choose_algorithm<cudnnConvolutionBwdDataAlgoPerf_t>(
        pb, gout.device(), "cudnnConvolutionBackwardData",
        [&](cudnnConvolutionBwdDataAlgoPerf_t* perfs, int capacity, int* count) {
            return cudnnGetConvolutionBackwardDataAlgorithm_v7(ctx.handle, pb.weight.d, pb.out.d, pb.conv.d, pb.in.d,
                                                               capacity, count, perfs);
        },
        [&](cudnnConvolutionBwdDataAlgoPerf_t* perfs, int capacity, int* count, void* ws, size_t bytes) {
            return cudnnFindConvolutionBackwardDataAlgorithmEx(ctx.handle, pb.weight.d, w.raw_data(), pb.out.d,
                                                               gout.raw_data(), pb.conv.d, pb.in.d, gin.raw_data(),
                                                               capacity, count, perfs, ws, bytes);
        });
    check(cudnnSetConvolutionMathType(pb.conv.d, perf.mathType), "cudnnSetConvolutionMathType");
    const Tensor ws = workspace(perf.memory, gout.device());
    cuda::Launch launch("cudnnConvolutionBackwardData");
    check(cudnnConvolutionBackwardData(ctx.handle, pb.one(), pb.weight.d, w.raw_data(), pb.out.d, gout.raw_data(),
                                       pb.conv.d, perf.algo, data_or_null(ws), perf.memory, pb.zero(), pb.in.d,
                                       gin.raw_data()),
          "cudnnConvolutionBackwardData");
    launch.check();
}

// gw = the weight gradient of conv(in, .) given the gradient gout of its output
void backward_filter(const Context& ctx, Problem& pb, const Tensor& in, const Tensor& gout, const Tensor& gw) {
    const auto perf = choose_algorithm<cudnnConvolutionBwdFilterAlgoPerf_t>(
        pb, in.device(), "cudnnConvolutionBackwardFilter",
        [&](cudnnConvolutionBwdFilterAlgoPerf_t* perfs, int capacity, int* count) {
            return cudnnGetConvolutionBackwardFilterAlgorithm_v7(ctx.handle, pb.in.d, pb.out.d, pb.conv.d, pb.weight.d,
                                                                 capacity, count, perfs);
        },
        [&](cudnnConvolutionBwdFilterAlgoPerf_t* perfs, int capacity, int* count, void* ws, size_t bytes) {
            return cudnnFindConvolutionBackwardFilterAlgorithmEx(ctx.handle, pb.in.d, in.raw_data(), pb.out.d,
                                                                 gout.raw_data(), pb.conv.d, pb.weight.d, gw.raw_data(),
                                                                 capacity, count, perfs, ws, bytes);
        });
    check(cudnnSetConvolutionMathType(pb.conv.d, perf.mathType), "cudnnSetConvolutionMathType");
    const Tensor ws = workspace(perf.memory, in.device());
    cuda::Launch launch("cudnnConvolutionBackwardFilter");
    check(cudnnConvolutionBackwardFilter(ctx.handle, pb.one(), pb.in.d, in.raw_data(), pb.out.d, gout.raw_data(),
                                         pb.conv.d, perf.algo, data_or_null(ws), perf.memory, pb.zero(), pb.weight.d,
                                         gw.raw_data()),
          "cudnnConvolutionBackwardFilter");
    launch.check();
}

// cuDNN needs the conv y -> x of a conv_transpose2d to map y's size onto x's, which an output_padding of a stride
// or more (allowed when the dilation is larger) breaks. Such a transposed conv runs unpadded, from x to the full
// output of (H - 1)s + d(kh - 1) + 1 rows (and columns), whose rows [p, p + H_out) are y's — 0 past its end, where
// no tap lands. This is the full output's shape.
bool needs_full_output(const ConvParams& p) {
    return p.output_padding.h >= p.stride.h || p.output_padding.w >= p.stride.w;
}
Shape full_output_shape(const Tensor& x, const Tensor& w, const ConvParams& p) {
    return {x.size(0), w.size(1) * p.groups,
            cuda::transposed_size(x.size(2), w.size(2), p.stride.h, 0, p.dilation.h, 0),
            cuda::transposed_size(x.size(3), w.size(3), p.stride.w, 0, p.dilation.w, 0)};
}

}  // namespace

Tensor CudaBackend::conv2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const ConvParams& p) {
    cuda::DeviceGuard guard(x_in.device());
    const Tensor x = kernel::contiguous(x_in), w = kernel::contiguous(w_in);  // channels-last goes to NCHW
    const Tensor b = b_in.defined() ? kernel::contiguous(b_in) : Tensor();
    // x [N, C_in, H, W], w [C_out, C_in/g, kh, kw] -> y [N, C_out, H_out, W_out]
    const int64_t ho = cuda::conv_size(x.size(2), w.size(2), p.stride.h, p.padding.h, p.dilation.h);
    const int64_t wo = cuda::conv_size(x.size(3), w.size(3), p.stride.w, p.padding.w, p.dilation.w);
    const Shape y_shape{x.size(0), w.size(0), ho, wo};
    Tensor y;
    if (x.numel() == 0 || w.numel() == 0) {  // no images (y is empty) or no input channels (y is act(bias))
        y = kernel::zeros(y_shape, x.options());
    } else {
        y = kernel::empty(y_shape, x.options());
        const Context ctx = context();
        Problem pb(x.shape(), y_shape, w.shape(), p.padding, p, x.dtype(), ctx.device);
        forward(ctx, pb, x, w, y);
    }
    if (y.numel() > 0) cuda::bias_act_(y, b, p.act);
    return y;
}

ConvGrads CudaBackend::conv2d_backward(const Tensor& gy_in, const Tensor& x_in, const Tensor& w_in, const ConvParams& p,
                                       std::array<bool, 3> needs) {
    cuda::DeviceGuard guard(x_in.device());
    const Tensor gy = kernel::contiguous(gy_in), x = kernel::contiguous(x_in), w = kernel::contiguous(w_in);
    ConvGrads g;
    if (x.numel() == 0 || w.numel() == 0 || gy.numel() == 0) {
        g.input = cuda::zeros_if(needs[0], x.shape(), x);
        g.weight = cuda::zeros_if(needs[1], w.shape(), w);
    } else if (needs[0] || needs[1]) {
        const Context ctx = context();
        Problem pb(x.shape(), gy.shape(), w.shape(), p.padding, p, x.dtype(), ctx.device);  // the conv x -> y
        if (needs[0]) {
            g.input = kernel::empty(x.shape(), x.options());
            backward_data(ctx, pb, w, gy, g.input);
        }
        if (needs[1]) {
            g.weight = kernel::empty(w.shape(), w.options());
            backward_filter(ctx, pb, x, gy, g.weight);
        }
    }
    if (needs[2]) g.bias = cuda::bias_grad(gy);
    return g;
}

Tensor CudaBackend::conv_transpose2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const ConvParams& p) {
    cuda::DeviceGuard guard(x_in.device());
    const Tensor x = kernel::contiguous(x_in), w = kernel::contiguous(w_in);
    const Tensor b = b_in.defined() ? kernel::contiguous(b_in) : Tensor();
    // x [N, C_in, H, W], w [C_in, C_out/g, kh, kw] -> y [N, C_out, H_out, W_out]
    const int64_t ho =
        cuda::transposed_size(x.size(2), w.size(2), p.stride.h, p.padding.h, p.dilation.h, p.output_padding.h);
    const int64_t wo =
        cuda::transposed_size(x.size(3), w.size(3), p.stride.w, p.padding.w, p.dilation.w, p.output_padding.w);
    const Shape y_shape{x.size(0), w.size(1) * p.groups, ho, wo};
    Tensor y;
    if (x.numel() == 0 || w.numel() == 0) {
        y = kernel::zeros(y_shape, x.options());
    } else if (!needs_full_output(p)) {
        y = kernel::empty(y_shape, x.options());
        const Context ctx = context();
        Problem pb(y_shape, x.shape(), w.shape(), p.padding, p, x.dtype(), ctx.device);  // the conv y -> x
        backward_data(ctx, pb, w, x, y);
    } else {
        const Shape full_shape = full_output_shape(x, w, p);
        const Tensor full = kernel::empty(full_shape, x.options());
        const Context ctx = context();
        Problem pb(full_shape, x.shape(), w.shape(), Int2(0), p, x.dtype(), ctx.device);
        backward_data(ctx, pb, w, x, full);
        y = kernel::empty(y_shape, x.options());
        cuda::launch_window_copy(x.dtype(), full.raw_data(), full_shape[2], full_shape[3], y.raw_data(), ho, wo,
                                 y_shape[0] * y_shape[1], p.padding.h, p.padding.w);
    }
    if (y.numel() > 0) cuda::bias_act_(y, b, NormAct::None);
    return y;
}

ConvGrads CudaBackend::conv_transpose2d_backward(const Tensor& gy_in, const Tensor& x_in, const Tensor& w_in,
                                                 const ConvParams& p, std::array<bool, 3> needs) {
    cuda::DeviceGuard guard(x_in.device());
    const Tensor gy = kernel::contiguous(gy_in), x = kernel::contiguous(x_in), w = kernel::contiguous(w_in);
    ConvGrads g;
    if (x.numel() == 0 || w.numel() == 0 || gy.numel() == 0) {
        g.input = cuda::zeros_if(needs[0], x.shape(), x);
        g.weight = cuda::zeros_if(needs[1], w.shape(), w);
    } else if (needs[0] || needs[1]) {
        // The conv gy -> x, or (needs_full_output) the unpadded conv from gy framed into the full output's shape:
        // full rows [p, p + H_out) are gy's, the rest 0.
        Tensor src = gy;
        Int2 padding = p.padding;
        if (needs_full_output(p)) {
            const Shape full_shape = full_output_shape(x, w, p);
            src = kernel::empty(full_shape, gy.options());
            cuda::launch_window_copy(gy.dtype(), gy.raw_data(), gy.size(2), gy.size(3), src.raw_data(), full_shape[2],
                                     full_shape[3], full_shape[0] * full_shape[1], -p.padding.h, -p.padding.w);
            padding = Int2(0);
        }
        const Context ctx = context();
        Problem pb(src.shape(), x.shape(), w.shape(), padding, p, x.dtype(), ctx.device);
        if (needs[0]) {  // gx = conv2d(gy, w)
            g.input = kernel::empty(x.shape(), x.options());
            forward(ctx, pb, src, w, g.input);
        }
        if (needs[1]) {  // gw: the weight gradient of that conv, with x as its output gradient
            g.weight = kernel::empty(w.shape(), w.options());
            backward_filter(ctx, pb, src, x, g.weight);
        }
    }
    if (needs[2]) g.bias = cuda::bias_grad(gy);
    return g;
}

}  // namespace nabla
