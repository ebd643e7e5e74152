// backends/cpu/conv.cpp — conv2d and conv_transpose2d in float32 with oneDNN (convolution_* and deconvolution_*
// primitives); float64 goes to the reference kernels. The math is u2net_panet.md §3.6.
//
// As oneDNN's examples/primitives/convolution.cpp: the user's tensors are plain nchw / oihw memory, the primitive
// descs are built with format_tag::any so that oneDNN picks its blocked layouts (nChw16c, OIhw16i16o on AVX-512),
// inputs are reordered only when the pd asks for another layout, and outputs are reordered back into plain tensors.
// The backward pds are hinted by the forward pd. Pds and primitives are cached per (kind, shapes, stride, padding,
// dilation, groups, bias); the weights are reordered on every call, as PyTorch does with plain tensors.
//
// oneDNN's view of a call (Problem): dilation counts from 0 (d - 1); grouped weights are 5-D [g, O/g, I/g, kh, kw]
// (the same memory as [O, I/g, kh, kw]); the transposed weight [C_in, C_out/g, kh, kw] is described to oneDNN, whose
// deconvolution weight is [C_out, C_in], by strides alone. The right padding is p for conv (oneDNN rounds down like
// PyTorch) and p - output_padding for deconv, the amount actually cropped on that side.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/dnnl_common.h"
#include "backends/cpu/parallel.h"
#include "core/factory.h"

namespace nabla {
namespace {

using dnnl::memory;
using namespace dnnl_util;

struct Problem {
    memory::dims src, weights, dst, strides, dilates, pad_l, pad_r;
    memory::desc user_weights;  // the weight tensor's own layout
    bool bias = false;
    std::string key(const char* kind) const {
        return fmt::format("{} {} {} {} s{} d{} l{} r{} b{}", kind, src, weights, dst, strides, dilates, pad_l, pad_r, bias);
    }
};

Problem problem(const Tensor& x, const Shape& y_shape, const Tensor& w, const ConvParams& p, bool transposed) {
    Problem pb;
    pb.src = dims_of(x.shape());
    pb.dst = dims_of(y_shape);
    const int64_t g = p.groups, kh = w.size(2), kw = w.size(3), kk = kh * kw;
    if (!transposed) {  // w [O, I/g, kh, kw]
        pb.weights = g == 1 ? dims_of(w.shape()) : memory::dims{g, w.size(0) / g, w.size(1), kh, kw};
        pb.user_weights = plain_desc(Shape(pb.weights.begin(), pb.weights.end()));
    } else {  // w [C_in, C_out/g, kh, kw] read as [C_out, C_in] (per group): swap the two channel strides
        const int64_t og = w.size(1), ig = w.size(0) / g;
        pb.weights = g == 1 ? memory::dims{og, ig, kh, kw} : memory::dims{g, og, ig, kh, kw};
        memory::dims strides = g == 1 ? memory::dims{kk, og * kk, kw, 1} : memory::dims{ig * og * kk, kk, og * kk, kw, 1};
        pb.user_weights = memory::desc(pb.weights, memory::data_type::f32, strides);
    }
    pb.strides = {p.stride.h, p.stride.w};
    pb.dilates = {p.dilation.h - 1, p.dilation.w - 1};
    pb.pad_l = {p.padding.h, p.padding.w};
    pb.pad_r = {p.padding.h - p.output_padding.h, p.padding.w - p.output_padding.w};
    return pb;
}

memory::desc any(const memory::dims& dims) { return {dims, memory::data_type::f32, memory::format_tag::any}; }

struct ConvKind {  // the primitives of conv2d
    using Fwd = dnnl::convolution_forward;
    using BwdData = dnnl::convolution_backward_data;
    using BwdWeights = dnnl::convolution_backward_weights;
    static constexpr dnnl::algorithm alg = dnnl::algorithm::convolution_direct;
    static constexpr const char* name = "conv2d";
};
struct DeconvKind {  // the primitives of conv_transpose2d
    using Fwd = dnnl::deconvolution_forward;
    using BwdData = dnnl::deconvolution_backward_data;
    using BwdWeights = dnnl::deconvolution_backward_weights;
    static constexpr dnnl::algorithm alg = dnnl::algorithm::deconvolution_direct;
    static constexpr const char* name = "conv_transpose2d";
};

template <class Pd>
struct Cached {
    Pd pd;
    dnnl::primitive prim;
};

template <class K>
typename K::Fwd::primitive_desc forward_pd(const Problem& pb) {
    typename K::Fwd::desc d(dnnl::prop_kind::forward_training, K::alg, any(pb.src), any(pb.weights),
                            pb.bias ? plain_desc({pb.dst[1]}) : memory::desc(), any(pb.dst), pb.strides, pb.dilates,
                            pb.pad_l, pb.pad_r);
    return {d, engine()};
}

// A fresh output tensor and the memory the primitive writes: the tensor itself if the pd wants the plain layout.
struct Output {
    Tensor tensor;
    memory user, prim;
    Output(const Shape& shape, const memory::desc& plain, const memory::desc& want)
        : tensor(empty(shape)), user(memory_of(tensor, plain)), prim(want == plain ? user : memory(want, engine())) {}
    Tensor finish() {
        reorder_into(prim, user);
        return tensor;
    }
};

template <class K>
Tensor forward(const Tensor& x, const Tensor& w, const Tensor& b, const Problem& pb, const Shape& y_shape) {
    static PrimitiveCache<Cached<typename K::Fwd::primitive_desc>> cache;
    auto c = cache.get(pb.key(K::name), [&] {
        auto pd = forward_pd<K>(pb);
        return Cached<decltype(pd)>{pd, typename K::Fwd(pd)};
    });
    memory src = reorder_if_needed(memory_of(x), c->pd.src_desc());
    memory wts = reorder_if_needed(memory_of(w, pb.user_weights), c->pd.weights_desc());
    Output y(y_shape, plain_desc(y_shape), c->pd.dst_desc());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_DST, y.prim}};
    if (pb.bias) args.emplace(DNNL_ARG_BIAS, memory_of(b));
    c->prim.execute(stream(), args);
    Tensor out = y.finish();
    stream().wait();
    return out;
}

// gb[c] = sum of gy [N, C, H, W] over N, H, W, for when the weight gradient (which yields it too) is not needed.
Tensor bias_grad(const Tensor& gy) {
    const int64_t n = gy.size(0), c = gy.size(1), hw = gy.size(2) * gy.size(3);
    Tensor gb = empty({c});
    const float* pg = gy.data_ptr<float>();
    float* pb = gb.data_ptr<float>();
    parallel_for(0, c, 16, [&](int64_t begin, int64_t end) {
        for (int64_t ch = begin; ch < end; ++ch) {
            float s = 0;
            for (int64_t i = 0; i < n; ++i) {
                const float* p = pg + (i * c + ch) * hw;
#pragma omp simd reduction(+ : s)
                for (int64_t j = 0; j < hw; ++j) s += p[j];
            }
            pb[ch] = s;
        }
    });
    return gb;
}

template <class K>
ConvGrads backward(const Tensor& gy, const Tensor& x, const Tensor& w, Problem pb, std::array<bool, 3> needs) {
    ConvGrads g;
    const memory gy_user = memory_of(gy);
    memory diff_dst = gy_user;  // reordered once, shared by both primitives when they want the same layout
    if (needs[0]) {
        static PrimitiveCache<Cached<typename K::BwdData::primitive_desc>> cache;
        pb.bias = false;
        auto c = cache.get(pb.key(K::name), [&] {
            typename K::BwdData::desc d(K::alg, any(pb.src), any(pb.weights), any(pb.dst), pb.strides, pb.dilates, pb.pad_l, pb.pad_r);
            typename K::BwdData::primitive_desc pd(d, engine(), forward_pd<K>(pb));
            return Cached<decltype(pd)>{pd, typename K::BwdData(pd)};
        });
        diff_dst = reorder_if_needed(gy_user, c->pd.diff_dst_desc());
        memory wts = reorder_if_needed(memory_of(w, pb.user_weights), c->pd.weights_desc());
        Output gx(x.shape(), plain_desc(x.shape()), c->pd.diff_src_desc());
        c->prim.execute(stream(), {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_DIFF_SRC, gx.prim}});
        g.input = gx.finish();
    }
    if (needs[1]) {
        static PrimitiveCache<Cached<typename K::BwdWeights::primitive_desc>> cache;
        pb.bias = needs[2];
        auto c = cache.get(pb.key(K::name), [&] {
            typename K::BwdWeights::desc d(K::alg, any(pb.src), any(pb.weights), pb.bias ? plain_desc({pb.dst[1]}) : memory::desc(),
                                           any(pb.dst), pb.strides, pb.dilates, pb.pad_l, pb.pad_r);
            typename K::BwdWeights::primitive_desc pd(d, engine(), forward_pd<K>(pb));
            return Cached<decltype(pd)>{pd, typename K::BwdWeights(pd)};
        });
        if (diff_dst.get_desc() != c->pd.diff_dst_desc()) diff_dst = reorder_if_needed(gy_user, c->pd.diff_dst_desc());
        memory src = reorder_if_needed(memory_of(x), c->pd.src_desc());
        Output gw(w.shape(), pb.user_weights, c->pd.diff_weights_desc());
        std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_WEIGHTS, gw.prim}};
        if (pb.bias) {
            g.bias = empty({pb.dst[1]});
            args.emplace(DNNL_ARG_DIFF_BIAS, memory_of(g.bias));
        }
        c->prim.execute(stream(), args);
        g.weight = gw.finish();
    }
    stream().wait();
    if (needs[2] && !g.bias.defined()) g.bias = bias_grad(gy);
    return g;
}

Shape transposed_shape(const Tensor& x, const Tensor& w, const ConvParams& p) {
    auto size = [](int64_t in, int64_t k, int64_t s, int64_t pad, int64_t d, int64_t op) { return (in - 1) * s - 2 * pad + d * (k - 1) + op + 1; };
    return {x.size(0), w.size(1) * p.groups, size(x.size(2), w.size(2), p.stride.h, p.padding.h, p.dilation.h, p.output_padding.h),
            size(x.size(3), w.size(3), p.stride.w, p.padding.w, p.dilation.w, p.output_padding.w)};
}

}  // namespace

Tensor CpuBackend::conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p) {
    if (x.dtype() != kFloat32) return ReferenceBackend::conv2d(x, w, b, p);
    const int64_t ho = (x.size(2) + 2 * p.padding.h - p.dilation.h * (w.size(2) - 1) - 1) / p.stride.h + 1;
    const int64_t wo = (x.size(3) + 2 * p.padding.w - p.dilation.w * (w.size(3) - 1) - 1) / p.stride.w + 1;
    const Shape y_shape{x.size(0), w.size(0), ho, wo};
    Problem pb = problem(x, y_shape, w, p, false);
    pb.bias = b.defined();
    return forward<ConvKind>(x, w, b, pb, y_shape);
}

ConvGrads CpuBackend::conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvParams& p,
                                      std::array<bool, 3> needs) {
    if (x.dtype() != kFloat32) return ReferenceBackend::conv2d_backward(gy, x, w, p, needs);
    return backward<ConvKind>(gy, x, w, problem(x, gy.shape(), w, p, false), needs);
}

Tensor CpuBackend::conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p) {
    if (x.dtype() != kFloat32) return ReferenceBackend::conv_transpose2d(x, w, b, p);
    const Shape y_shape = transposed_shape(x, w, p);
    Problem pb = problem(x, y_shape, w, p, true);
    pb.bias = b.defined();
    return forward<DeconvKind>(x, w, b, pb, y_shape);
}

ConvGrads CpuBackend::conv_transpose2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvParams& p,
                                                std::array<bool, 3> needs) {
    if (x.dtype() != kFloat32) return ReferenceBackend::conv_transpose2d_backward(gy, x, w, p, needs);
    return backward<DeconvKind>(gy, x, w, problem(x, gy.shape(), w, p, true), needs);
}

}  // namespace nabla
