// backends/reference/conv.cpp — conv2d and conv_transpose2d (F.conv2d, F.conv_transpose2d) as direct loops: the
// textbook and the oracle of the fast kernels. The math is docs/ops_semantics.md §6.
//
// Every kernel walks one loop nest, for_each_tap, over the (output pixel, weight tap) pairs of a conv from `in`
// [N, C, H, W] to `out` [N, O, Ho, Wo] with weight [O, C/groups, kh, kw]:
//     out[n, o, oy, ox] += in[n, g*C/groups + c, oy*s - p + a*d, ox*s - p + b*d] * w[o, c, a, b],   g = o / (O/groups)
// skipping taps that fall into the zero padding. The kernels differ only in what they accumulate:
//     conv forward        y  += x * w
//     conv grad input     gx += gy * w      (the adjoint: scatter back along the same taps)
//     conv grad weight    gw += gy * x
// conv_transpose2d is the adjoint of conv2d with the same weight, so it reuses the nest with `in` = its output:
// its forward is conv's grad input, its grad input is conv's forward, its grad weight is conv's grad weight with
// x and gy swapped. The weight layouts line up: the transposed weight [C_in, C_out/g, kh, kw] is exactly a conv
// weight [O = C_in, C/g = C_out/g, kh, kw] for the conv that goes from the transposed output back to its input.
#include "backends/common/norm_act_math.h"
#include "backends/reference/reference_backend.h"

namespace nabla {
namespace {

struct ConvGeometry {  // a conv from `in` [n, c, h, w] to `out` [n, o, ho, wo] with weight [o, c/groups, kh, kw]
    int64_t n, c, h, w;
    int64_t o, ho, wo;
    int64_t kh, kw;
    ConvParams p;
};

ConvGeometry geometry(const Shape& in, const Shape& out, const Shape& weight, const ConvParams& p) {
    return {in[0], in[1], in[2], in[3], out[1], out[2], out[3], weight[2], weight[3], p};
}

// f(out offset, in offset, weight offset) for every tap that lands inside `in`.
template <class F>
void for_each_tap(const ConvGeometry& g, F&& f) {
    const int64_t cg = g.c / g.p.groups, og = g.o / g.p.groups;
    const Int2 s = g.p.stride, pad = g.p.padding, d = g.p.dilation;
    for (int64_t n = 0; n < g.n; ++n)
        for (int64_t o = 0; o < g.o; ++o) {
            const int64_t c0 = (o / og) * cg;  // first input channel of o's group
            for (int64_t oy = 0; oy < g.ho; ++oy)
                for (int64_t ox = 0; ox < g.wo; ++ox) {
                    const int64_t out_off = ((n * g.o + o) * g.ho + oy) * g.wo + ox;
                    for (int64_t c = 0; c < cg; ++c)
                        for (int64_t a = 0; a < g.kh; ++a) {
                            const int64_t iy = oy * s.h - pad.h + a * d.h;
                            if (iy < 0 || iy >= g.h) continue;
                            for (int64_t b = 0; b < g.kw; ++b) {
                                const int64_t ix = ox * s.w - pad.w + b * d.w;
                                if (ix < 0 || ix >= g.w) continue;
                                f(out_off, ((n * g.c + c0 + c) * g.h + iy) * g.w + ix,
                                  ((o * cg + c) * g.kh + a) * g.kw + b);
                            }
                        }
                }
        }
}

template <class T>
void conv_forward(const ConvGeometry& g, const T* in, const T* w, T* out) {  // out zeroed
    for_each_tap(g, [&](int64_t o, int64_t i, int64_t k) { out[o] += in[i] * w[k]; });
}

template <class T>
void conv_grad_input(const ConvGeometry& g, const T* gout, const T* w, T* gin) {  // gin zeroed
    for_each_tap(g, [&](int64_t o, int64_t i, int64_t k) { gin[i] += gout[o] * w[k]; });
}

template <class T>
void conv_grad_weight(const ConvGeometry& g, const T* gout, const T* in, T* gw) {  // gw zeroed
    for_each_tap(g, [&](int64_t o, int64_t i, int64_t k) { gw[k] += gout[o] * in[i]; });
}

// y [N, C, H, W] += b[c]
template <class T>
void add_bias(const Tensor& y, const Tensor& b) {
    const int64_t n = y.size(0), c = y.size(1), hw = y.size(2) * y.size(3);
    T* py = y.data_ptr<T>();
    const T* pb = b.data_ptr<T>();
    for (int64_t i = 0; i < n * c; ++i)
        for (int64_t j = 0; j < hw; ++j) py[i * hw + j] += pb[i % c];
}

// gb[c] = sum over n, h, w of gy [N, C, H, W]
Tensor bias_grad(const Tensor& gy) {
    Tensor gb = kernel::zeros({gy.size(1)}, gy.options());
    dispatch_floating(gy.dtype(), "conv bias grad", [&]<class T>() {
        const int64_t n = gy.size(0), c = gy.size(1), hw = gy.size(2) * gy.size(3);
        const T* pg = gy.data_ptr<T>();
        T* pb = gb.data_ptr<T>();
        for (int64_t i = 0; i < n * c; ++i)
            for (int64_t j = 0; j < hw; ++j) pb[i % c] += pg[i * hw + j];
    });
    return gb;
}

// The output size along one axis: floor((in + 2p - d(k-1) - 1) / s) + 1 for conv2d (the op layer checked it is > 0),
// and (in - 1)s - 2p + d(k-1) + output_padding + 1 for conv_transpose2d.
int64_t conv_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}
int64_t transposed_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, int64_t output_padding) {
    return (in - 1) * s - 2 * p + d * (k - 1) + output_padding + 1;
}

}  // namespace

Tensor ReferenceBackend::conv2d(const Tensor& x_in, const Tensor& w, const Tensor& b, const ConvParams& p) {
    const Tensor x = kernel::contiguous(x_in);  // the loops read plain NCHW (a channels-last input is copied)
    // x [N, C_in, H, W], w [C_out, C_in/g, kh, kw] -> y [N, C_out, H_out, W_out]
    const int64_t ho = conv_size(x.size(2), w.size(2), p.stride.h, p.padding.h, p.dilation.h);
    const int64_t wo = conv_size(x.size(3), w.size(3), p.stride.w, p.padding.w, p.dilation.w);
    Tensor y = kernel::zeros({x.size(0), w.size(0), ho, wo}, x.options());
    dispatch_floating(x.dtype(), "conv2d", [&]<class T>() {
        conv_forward(geometry(x.shape(), y.shape(), w.shape(), p), x.data_ptr<T>(), w.data_ptr<T>(), y.data_ptr<T>());
        if (b.defined()) add_bias<T>(y, b);
        T* py = y.data_ptr<T>();
        visit_norm_act(p.act, [&]<NormAct A>() {  // conv2d_act's activation
            if constexpr (A != NormAct::None)
                for (int64_t i = 0; i < y.numel(); ++i) py[i] = norm_act<A>(py[i]);
        });
    });
    return y;
}

ConvGrads ReferenceBackend::conv2d_backward(const Tensor& gy_in, const Tensor& x_in, const Tensor& w,
                                            const ConvParams& p, std::array<bool, 3> needs) {
    const Tensor gy = kernel::contiguous(gy_in), x = kernel::contiguous(x_in);
    ConvGrads g;
    const ConvGeometry geo = geometry(x.shape(), gy.shape(), w.shape(), p);
    dispatch_floating(x.dtype(), "conv2d_backward", [&]<class T>() {
        if (needs[0]) {
            g.input = kernel::zeros(x.shape(), x.options());
            conv_grad_input(geo, gy.data_ptr<T>(), w.data_ptr<T>(), g.input.data_ptr<T>());
        }
        if (needs[1]) {
            g.weight = kernel::zeros(w.shape(), w.options());
            conv_grad_weight(geo, gy.data_ptr<T>(), x.data_ptr<T>(), g.weight.data_ptr<T>());
        }
    });
    if (needs[2]) g.bias = bias_grad(gy);
    return g;
}

Tensor ReferenceBackend::conv_transpose2d(const Tensor& x_in, const Tensor& w, const Tensor& b, const ConvParams& p) {
    const Tensor x = kernel::contiguous(x_in);
    // x [N, C_in, H, W], w [C_in, C_out/g, kh, kw] -> y [N, C_out, H_out, W_out]
    const int64_t ho = transposed_size(x.size(2), w.size(2), p.stride.h, p.padding.h, p.dilation.h, p.output_padding.h);
    const int64_t wo = transposed_size(x.size(3), w.size(3), p.stride.w, p.padding.w, p.dilation.w, p.output_padding.w);
    Tensor y = kernel::zeros({x.size(0), w.size(1) * p.groups, ho, wo}, x.options());
    dispatch_floating(x.dtype(), "conv_transpose2d", [&]<class T>() {
        // the conv y -> x, run backwards
        conv_grad_input(geometry(y.shape(), x.shape(), w.shape(), p), x.data_ptr<T>(), w.data_ptr<T>(),
                        y.data_ptr<T>());
        if (b.defined()) add_bias<T>(y, b);
    });
    return y;
}

ConvGrads ReferenceBackend::conv_transpose2d_backward(const Tensor& gy_in, const Tensor& x_in, const Tensor& w,
                                                      const ConvParams& p, std::array<bool, 3> needs) {
    const Tensor gy = kernel::contiguous(gy_in), x = kernel::contiguous(x_in);
    ConvGrads g;
    const ConvGeometry geo = geometry(gy.shape(), x.shape(), w.shape(), p);  // the conv gy -> x
    dispatch_floating(x.dtype(), "conv_transpose2d_backward", [&]<class T>() {
        if (needs[0]) {
            g.input = kernel::zeros(x.shape(), x.options());
            conv_forward(geo, gy.data_ptr<T>(), w.data_ptr<T>(), g.input.data_ptr<T>());
        }
        if (needs[1]) {
            g.weight = kernel::zeros(w.shape(), w.options());
            conv_grad_weight(geo, x.data_ptr<T>(), gy.data_ptr<T>(), g.weight.data_ptr<T>());
        }
    });
    if (needs[2]) g.bias = bias_grad(gy);
    return g;
}

}  // namespace nabla
