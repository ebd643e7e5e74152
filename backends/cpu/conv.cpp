// backends/cpu/conv.cpp — conv2d and conv_transpose2d in float32 with oneDNN (convolution_* and deconvolution_*
// primitives); float64, empty tensors and the few problems oneDNN declines go to the reference kernels.
// The math: docs/ops_semantics.md §6.
//
// As oneDNN's examples/primitives/convolution.cpp: for plain nchw / oihw tensors the pds are built with
// format_tag::any so that oneDNN picks its blocked layouts (nChw16c, OIhw16i16o on AVX-512), inputs are reordered
// only when the pd asks for another layout, outputs are reordered back into plain tensors, and the backward pds are
// hinted by the forward pd. A channels-last input (MemoryFormat::ChannelsLast) is given to oneDNN as nhwc, which its
// brgemm kernels convolve as they find it: no reorder of the activations in or out, and the output and the input
// gradient stay channels-last. (PFLD's training step at batch 32: the reorders took 160 of 760 ms.) Pds and primitives
// are cached per (kind, shapes, stride, padding, dilation, groups, bias). The weights are reordered on every call, as
// PyTorch does with plain tensors: it costs under 1% of a 64->64 3x3 conv on 72x72, and a cache keyed by storage could
// go stale behind raw data_ptr writes.
//
// oneDNN's view of a call (Problem): dilation counts from 0 (d - 1); grouped weights are 5-D [g, O/g, I/g, kh, kw]
// (the same memory as [O, I/g, kh, kw]); the transposed weight [C_in, C_out/g, kh, kw] is described to oneDNN, whose
// deconvolution weight is [C_out, C_in], by strides alone. The right padding is p for conv (oneDNN rounds down like
// PyTorch) and p - output_padding for deconv, the amount actually cropped on that side.
// A little over 250 lines: conv and deconv share every line but their primitive types, so they stay together.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <optional>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/dnnl_common.h"
#include "backends/cpu/parallel.h"

namespace nabla {
namespace {

using dnnl::memory;
using namespace dnnl_util;

struct Problem {
    memory::dims src, weights, dst, strides, dilates, pad_l, pad_r;
    memory::desc user_weights;  // the weight tensor's own layout
    bool bias = false;
    MemoryFormat format = MemoryFormat::Contiguous;  // of src, dst and their gradients (x's)
    NormAct post_act = NormAct::None;                // conv2d_act's activation, a oneDNN post-op of the forward
    bool bf16 = false;  // autocast: the primitives read bfloat16 (src, weights, dst gradients) and write float32
    std::string key(const char* kind) const {
        return fmt::format("{} {} {} {} s{} d{} l{} r{} b{} f{} a{} h{}", kind, src, weights, dst, strides, dilates,
                           pad_l, pad_r, bias, static_cast<int>(format), static_cast<int>(post_act), bf16);
    }
    // The descriptor of an activation (src, dst or a gradient of one): nhwc, or `any` for oneDNN's choice; float32,
    // or bfloat16 for what a bf16 primitive reads (`read`: src, the dst gradient).
    memory::desc act(const memory::dims& dims, bool read = false) const {
        const bool nhwc = format == MemoryFormat::ChannelsLast;
        return {dims, read && bf16 ? memory::data_type::bf16 : memory::data_type::f32,
                nhwc ? memory::format_tag::nhwc : memory::format_tag::any};
    }
    memory::desc weights_any() const {
        return {weights, bf16 ? memory::data_type::bf16 : memory::data_type::f32, memory::format_tag::any};
    }
};

Problem problem(const Tensor& x, const Shape& y_shape, const Tensor& w, const ConvParams& p, bool transposed,
                bool bias) {
    Problem pb;
    pb.bias = bias;
    pb.format = x.suggest_memory_format();
    pb.post_act = p.act;
    pb.bf16 = p.bf16;
    pb.src = dims_of(x.shape());
    pb.dst = dims_of(y_shape);
    const int64_t g = p.groups, kh = w.size(2), kw = w.size(3), kk = kh * kw;
    if (!transposed) {  // w [O, I/g, kh, kw]
        pb.weights = g == 1 ? dims_of(w.shape()) : memory::dims{g, w.size(0) / g, w.size(1), kh, kw};
        pb.user_weights = plain_desc(Shape(pb.weights.begin(), pb.weights.end()));
    } else {  // w [C_in, C_out/g, kh, kw] read as [C_out, C_in] (per group): swap the two channel strides
        const int64_t og = w.size(1), ig = w.size(0) / g;
        pb.weights = g == 1 ? memory::dims{og, ig, kh, kw} : memory::dims{g, og, ig, kh, kw};
        memory::dims strides =
            g == 1 ? memory::dims{kk, og * kk, kw, 1} : memory::dims{ig * og * kk, kk, og * kk, kw, 1};
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
struct Cached {  // pd is empty when oneDNN rejects the problem; the caller then runs the reference kernels
    std::optional<Pd> pd;
    dnnl::primitive prim;
};

// Builds a pd and its primitive once per key; a problem oneDNN rejects (it refuses some transposed convs whose
// output_padding exceeds stride + padding) is cached as unsupported.
template <class Prim, class MakePd>
std::shared_ptr<Cached<typename Prim::primitive_desc>> cached(
    PrimitiveCache<Cached<typename Prim::primitive_desc>>& cache, const std::string& key, MakePd&& make_pd) {
    return cache.get(key, [&]() -> Cached<typename Prim::primitive_desc> {
        try {
            typename Prim::primitive_desc pd = make_pd();
            return {pd, Prim(pd)};
        } catch (const dnnl::error&) {
            return {};
        }
    });
}

// The activation as an eltwise post-op, applied as the primitive writes dst: relu, or swish with alpha 1 (silu).
dnnl::primitive_attr post_ops_of(NormAct act) {
    dnnl::primitive_attr attr;
    if (act == NormAct::None) return attr;
    dnnl::post_ops ops;
    if (act == NormAct::Relu)
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    else
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.0f, 0.0f);
    attr.set_post_ops(ops);
    return attr;
}

template <class K>
typename K::Fwd::primitive_desc forward_pd(const Problem& pb) {
    typename K::Fwd::desc d(dnnl::prop_kind::forward_training, K::alg, pb.act(pb.src, true), pb.weights_any(),
                            pb.bias ? plain_desc({pb.dst[1]}) : memory::desc(), pb.act(pb.dst), pb.strides, pb.dilates,
                            pb.pad_l, pb.pad_r);
    return {d, post_ops_of(pb.post_act), engine()};
}

// A fresh output tensor and the memory the primitive writes: the tensor itself if the pd wants the tensor's layout.
// user_desc is how oneDNN sees the tensor: its own strides, or the grouped weight's 5-D view.
struct Output {
    Tensor tensor;
    memory user, prim;
    Output(Tensor t, const memory::desc& want) : Output(t, want, desc_of(t)) {}
    Output(Tensor t, const memory::desc& want, const memory::desc& user_desc)
        : tensor(std::move(t)),
          user(memory_of(tensor, user_desc)),
          prim(want == user_desc ? user : temp_memory(want)) {}
    Tensor finish() {
        reorder_into(prim, user);
        return tensor;
    }
};

// y, or an undefined tensor if oneDNN does not take the problem.
template <class K>
Tensor forward(const Tensor& x, const Tensor& w, const Tensor& b, const Problem& pb, const Shape& y_shape) {
    static PrimitiveCache<Cached<typename K::Fwd::primitive_desc>> cache;
    auto c = cached<typename K::Fwd>(cache, pb.key(K::name), [&] { return forward_pd<K>(pb); });
    if (!c->pd) return Tensor();
    TempScope temps;
    memory src = reorder_if_needed(memory_of(x), c->pd->src_desc());
    memory wts = reorder_if_needed(memory_of(w, pb.user_weights), c->pd->weights_desc());
    Output y(kernel::empty(y_shape, {}, pb.format), c->pd->dst_desc());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_DST, y.prim}};
    if (pb.bias) args.emplace(DNNL_ARG_BIAS, memory_of(b));
    c->prim.execute(stream(), args);
    Tensor out = y.finish();
    stream().wait();
    return out;
}

// The [N, C, H, W] tensor t as rows: N*C rows of H*W (plain) or N*H*W rows of C (channels-last).
struct Planes {
    int64_t rows, row_len, c;
    bool channels_last;
    explicit Planes(const Tensor& t)
        : c(t.size(1)), channels_last(t.suggest_memory_format() == MemoryFormat::ChannelsLast) {
        const int64_t hw = t.size(2) * t.size(3);
        rows = channels_last ? t.size(0) * hw : t.size(0) * c;
        row_len = channels_last ? c : hw;
    }
};

// y [N, C, H, W] += b[c], for deconvolution: oneDNN 2.6 adds a deconv bias in a slow separate pass (1.5 ms against
// 0.3 ms for the deconv itself, 64->32 channels 36x36 -> 72x72 on one core).
void add_bias_(const Tensor& y, const Tensor& b) {
    const Planes P(y);
    float* py = y.data_ptr<float>();
    const float* pb = b.data_ptr<float>();
    parallel_for(0, P.rows, 16, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            float* p = py + r * P.row_len;
            if (P.channels_last) {
#pragma omp simd
                for (int64_t j = 0; j < P.row_len; ++j) p[j] += pb[j];
            } else {
                const float v = pb[r % P.c];
#pragma omp simd
                for (int64_t j = 0; j < P.row_len; ++j) p[j] += v;
            }
        }
    });
}

// gb[c] = sum of gy [N, C, H, W] over N, H, W, for when the weight gradient (which yields it too) is not needed.
Tensor bias_grad(const Tensor& gy) {
    const Planes P(gy);
    Tensor gb = kernel::zeros({P.c});
    const float* pg = gy.data_ptr<float>();
    float* pb = gb.data_ptr<float>();
    if (P.channels_last) {  // one thread: a bias gradient alone is rare (deconv without weight gradient)
        for (int64_t r = 0; r < P.rows; ++r)
#pragma omp simd
            for (int64_t ch = 0; ch < P.c; ++ch) pb[ch] += pg[r * P.c + ch];
        return gb;
    }
    const int64_t n = gy.size(0), hw = P.row_len;
    parallel_for(0, P.c, 16, [&](int64_t begin, int64_t end) {
        for (int64_t ch = begin; ch < end; ++ch) {
            float s = 0;
            for (int64_t i = 0; i < n; ++i) {
                const float* p = pg + (i * P.c + ch) * hw;
#pragma omp simd reduction(+ : s)
                for (int64_t j = 0; j < hw; ++j) s += p[j];
            }
            pb[ch] = s;
        }
    });
    return gb;
}

// The needed gradients, or nothing if oneDNN does not take the problem.
template <class K>
std::optional<ConvGrads> backward(const Tensor& gy, const Tensor& x, const Tensor& w, Problem pb,
                                  std::array<bool, 3> needs) {
    static PrimitiveCache<Cached<typename K::BwdData::primitive_desc>> data_cache;
    static PrimitiveCache<Cached<typename K::BwdWeights::primitive_desc>> weights_cache;
    pb.bias = false;
    auto data = !needs[0] ? nullptr : cached<typename K::BwdData>(data_cache, pb.key(K::name), [&] {
        typename K::BwdData::desc d(K::alg, pb.act(pb.src), pb.weights_any(), pb.act(pb.dst, true), pb.strides,
                                    pb.dilates, pb.pad_l, pb.pad_r);
        return typename K::BwdData::primitive_desc(d, engine(), forward_pd<K>(pb));
    });
    pb.bias = needs[2];  // the weights primitive also reduces the bias gradient
    auto weights = !needs[1] ? nullptr : cached<typename K::BwdWeights>(weights_cache, pb.key(K::name), [&] {
        typename K::BwdWeights::desc d(K::alg, pb.act(pb.src, true), any(pb.weights),
                                       pb.bias ? plain_desc({pb.dst[1]}) : memory::desc(), pb.act(pb.dst, true),
                                       pb.strides, pb.dilates, pb.pad_l, pb.pad_r);
        return typename K::BwdWeights::primitive_desc(d, engine(), forward_pd<K>(pb));
    });
    if ((data && !data->pd) || (weights && !weights->pd)) return std::nullopt;

    TempScope temps;
    ConvGrads g;
    const memory gy_user = memory_of(gy);
    memory diff_dst = gy_user;  // reordered once, shared by both primitives when they want the same layout
    if (data) {
        const auto& pd = *data->pd;
        diff_dst = reorder_if_needed(gy_user, pd.diff_dst_desc());
        memory wts = reorder_if_needed(memory_of(w, pb.user_weights), pd.weights_desc());
        Output gx(kernel::empty(x.shape(), {}, pb.format), pd.diff_src_desc());
        data->prim.execute(stream(),
                           {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_DIFF_SRC, gx.prim}});
        g.input = gx.finish();
    }
    if (weights) {
        const auto& pd = *weights->pd;
        if (diff_dst.get_desc() != pd.diff_dst_desc()) diff_dst = reorder_if_needed(gy_user, pd.diff_dst_desc());
        memory src = reorder_if_needed(memory_of(x), pd.src_desc());
        Output gw(kernel::empty(w.shape()), pd.diff_weights_desc(), pb.user_weights);
        std::unordered_map<int, memory> args{
            {DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_WEIGHTS, gw.prim}};
        if (pb.bias) {
            g.bias = kernel::empty({pb.dst[1]});
            args.emplace(DNNL_ARG_DIFF_BIAS, memory_of(g.bias));
        }
        weights->prim.execute(stream(), args);
        g.weight = gw.finish();
    }
    stream().wait();
    if (needs[2] && !g.bias.defined()) g.bias = bias_grad(gy);
    return g;
}

// A 1x1 conv with stride 1 and no padding on channels-last maps is a matrix product over the R = N*H*W pixel rows:
// y [R, C_out] = x [R, C_in] W^T, so its gradients are two more, gx = gy W and gw = gy^T x, read in place from the
// NHWC memory. oneDNN's matmul (brgemm) computes them faster than its 1x1 convolution backward (jit_1x1) when there
// are many rows: measured in PFLD's training step (batch 32, AVX-512), 1.1-1.5x less time at R = 25,088 and 100,352,
// but 1.07-1.17x more at R = 6,272, hence the threshold. The weight gradient is computed as [C_out, C_in] or as its
// transpose, whichever has the longer rows (the faster of the two, measured). Nothing when the problem is not such a
// conv.
std::optional<ConvGrads> pointwise_backward(CpuBackend& cpu, const Tensor& gy, const Tensor& x, const Tensor& w,
                                            const ConvParams& p, std::array<bool, 3> needs) {
    const bool pointwise = w.size(2) == 1 && w.size(3) == 1 && p.stride.h == 1 && p.stride.w == 1 && p.padding.h == 0 &&
                           p.padding.w == 0 && p.groups == 1 && !p.bf16;
    if (!pointwise || !x.is_contiguous(MemoryFormat::ChannelsLast) || !gy.is_contiguous(MemoryFormat::ChannelsLast) ||
        !w.is_contiguous())
        return std::nullopt;
    const int64_t n = x.size(0), h = x.size(2), wd = x.size(3), rows = n * h * wd;
    const int64_t cin = x.size(1), cout = w.size(0);
    constexpr int64_t kMinRows = 16384;
    if (rows < kMinRows) return std::nullopt;
    const Tensor xr = make_view(x, {1, rows, cin}, {rows * cin, cin, 1}, x.offset());        // [1, R, C_in]
    const Tensor gyr = make_view(gy, {1, rows, cout}, {rows * cout, cout, 1}, gy.offset());  // [1, R, C_out]
    ConvGrads g;
    if (needs[0]) {
        const Tensor wr = make_view(w, {1, cout, cin}, {cout * cin, cin, 1}, w.offset());
        const Tensor gx = cpu.matmul(gyr, wr, false);  // [1, R, C_in]: NHWC
        g.input = make_view(gx, x.shape(), {h * wd * cin, 1, wd * cin, cin}, 0);
    }
    if (needs[1]) {
        if (cin <= cout) {  // gw^T = x^T gy: [C_in, C_out]
            const Tensor gwt = cpu.matmul(make_view(x, {1, cin, rows}, {rows * cin, 1, cin}, x.offset()), gyr, false);
            g.weight = kernel::contiguous(make_view(gwt, w.shape(), {1, cout, 1, 1}, 0));
        } else {  // gw = gy^T x: [C_out, C_in]
            const Tensor gw =
                cpu.matmul(make_view(gy, {1, cout, rows}, {rows * cout, 1, cout}, gy.offset()), xr, false);
            g.weight = make_view(gw, w.shape(), {cin, 1, 1, 1}, 0);
        }
    }
    if (needs[2]) g.bias = bias_grad(gy);
    return g;
}

// float32 with something to compute; float64 and empty tensors go to the reference kernels.
bool use_onednn(const Tensor& x, const Tensor& w) { return x.dtype() == kFloat32 && x.numel() > 0 && w.numel() > 0; }

Shape transposed_shape(const Tensor& x, const Tensor& w, const ConvParams& p) {
    auto size = [](int64_t in, int64_t k, int64_t s, int64_t pad, int64_t d, int64_t op) {
        return (in - 1) * s - 2 * pad + d * (k - 1) + op + 1;
    };
    return {x.size(0), w.size(1) * p.groups,
            size(x.size(2), w.size(2), p.stride.h, p.padding.h, p.dilation.h, p.output_padding.h),
            size(x.size(3), w.size(3), p.stride.w, p.padding.w, p.dilation.w, p.output_padding.w)};
}

}  // namespace

Tensor CpuBackend::conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p) {
    if (!use_onednn(x, w)) return ReferenceBackend::conv2d(x, w, b, p);
    const int64_t ho = (x.size(2) + 2 * p.padding.h - p.dilation.h * (w.size(2) - 1) - 1) / p.stride.h + 1;
    const int64_t wo = (x.size(3) + 2 * p.padding.w - p.dilation.w * (w.size(3) - 1) - 1) / p.stride.w + 1;
    const Shape y_shape{x.size(0), w.size(0), ho, wo};
    Tensor y = forward<ConvKind>(x, w, b, problem(x, y_shape, w, p, false, b.defined()), y_shape);
    return y.defined() ? y : ReferenceBackend::conv2d(x, w, b, p);
}

ConvGrads CpuBackend::conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvParams& p,
                                      std::array<bool, 3> needs) {
    if (!use_onednn(x, w)) return ReferenceBackend::conv2d_backward(gy, x, w, p, needs);
    if (auto g = pointwise_backward(*this, gy, x, w, p, needs)) return *g;
    auto g = backward<ConvKind>(gy, x, w, problem(x, gy.shape(), w, p, false, false), needs);
    return g ? *g : ReferenceBackend::conv2d_backward(gy, x, w, p, needs);
}

Tensor CpuBackend::conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p) {
    if (!use_onednn(x, w)) return ReferenceBackend::conv_transpose2d(x, w, b, p);
    const Shape y_shape = transposed_shape(x, w, p);
    Tensor y = forward<DeconvKind>(x, w, Tensor(), problem(x, y_shape, w, p, true, false), y_shape);
    if (!y.defined()) return ReferenceBackend::conv_transpose2d(x, w, b, p);
    if (b.defined()) add_bias_(y, b);
    return y;
}

ConvGrads CpuBackend::conv_transpose2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvParams& p,
                                                std::array<bool, 3> needs) {
    if (!use_onednn(x, w)) return ReferenceBackend::conv_transpose2d_backward(gy, x, w, p, needs);
    auto g = backward<DeconvKind>(gy, x, w, problem(x, gy.shape(), w, p, true, false), needs);
    return g ? *g : ReferenceBackend::conv_transpose2d_backward(gy, x, w, p, needs);
}

}  // namespace nabla
