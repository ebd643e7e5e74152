// models/panet/pyramid_attention.cpp — PyramidAttention: the pyramid of keys and values, and the two forms of the
// matching and pasting (see the header; math in docs/panet.md §1).
#include "models/panet/pyramid_attention.h"

#include <fmt/format.h>

#include "core/storage.h"
#include "ops/factory.h"
#include "ops/ops.h"

namespace nabla::models {
namespace {

std::shared_ptr<nn::Sequential> conv1x1_prelu(int64_t in, int64_t out) {  // the reference's BasicBlock(conv, act)
    return std::make_shared<nn::Sequential>(
        std::vector<nn::ModulePtr>{std::make_shared<nn::Conv2d>(in, out, 1), std::make_shared<nn::PReLU>()});
}

// The score matrix S and the attention A, [L, H, W] each per sample, are the block's largest temporaries: one sample's
// at a time in the Direct form without autograd, the whole batch's when the tape keeps them or in the Gemm form. An
// input whose pair would not fit in the host's memory is refused with the numbers (a 320x320 input has 102,400
// positions and about 301,000 patches: 247 GB of float32 scores and attention) instead of failing inside the allocator.
// x_s = interpolate(x, scale_options(s)): the blog's bicubic resize with align_corners, scale 1 - i/10 for level i.
double scale_of(int64_t level) { return 1.0 - static_cast<double>(level) / 10.0; }
InterpolateOptions scale_options(double s) {
    return {.scale_factor = std::array<double, 2>{s, s},
            .mode = InterpolateMode::Bicubic,
            .align_corners = true,
            .recompute_scale_factor = true};
}

// L: the patches of every scale, one per pixel of x_s, sized by interpolate's own rule before anything is computed.
int64_t pyramid_patches(const Shape& x_shape, int64_t level) {
    int64_t total = x_shape[2] * x_shape[3];
    for (int64_t i = 1; i < level; ++i) {
        const UpsampleParams p = upsample_params(x_shape, scale_options(scale_of(i)));
        total += p.out_h * p.out_w;
    }
    return total;
}

void check_scores_fit(const Tensor& x, int64_t patches, bool whole_batch) {
    if (!x.device().is_cpu()) return;
    const int64_t samples = whole_batch ? x.size(0) : 1;
    const double bytes = 2.0 * static_cast<double>(samples) * static_cast<double>(patches) *
                         static_cast<double>(x.size(2) * x.size(3)) * static_cast<double>(element_size(x.dtype()));
    const double memory = static_cast<double>(host_memory_bytes());
    if (bytes <= memory) return;
    throw ValueError(fmt::format(
        "PyramidAttention: input {} has {} positions and {} patches; its scores and attention (2 x {} sample(s) x {} x "
        "{} x {} bytes) need {:.1f} GB, more than this machine's {:.1f} GB of memory: use a smaller input or upscale "
        "in tiles",
        shape_str(x.shape()), x.size(2) * x.size(3), patches, samples, patches, x.size(2) * x.size(3),
        element_size(x.dtype()), bytes / 1e9, memory / 1e9));
}

}  // namespace

PyramidAttention::PyramidAttention(PyramidAttentionArgs a) : nn::Module("PyramidAttention"), args(a) {
    if (a.level < 1 || a.level > 10 || a.channel < 1 || a.reduction < 1 || a.channel % a.reduction != 0 ||
        a.ksize < 1 || a.ksize % 2 == 0)
        throw ValueError(
            fmt::format("PyramidAttention: needs 1 <= level <= 10, channel divisible by reduction and an "
                        "odd ksize; got level {}, channel {}, reduction {}, ksize {}",
                        a.level, a.channel, a.reduction, a.ksize));
    escape_NaN = register_buffer("escape_NaN", full({1}, 1e-4));
    conv_match_L_base = register_module("conv_match_L_base", conv1x1_prelu(a.channel, a.channel / a.reduction));
    conv_match = register_module("conv_match", conv1x1_prelu(a.channel, a.channel / a.reduction));
    conv_assembly = register_module("conv_assembly", conv1x1_prelu(a.channel, a.channel));
}

Tensor PyramidAttention::attention(const Tensor& scaled_scores) const {
    if (args.average) return softmax(scaled_scores, 1);
    NoGradGuard no_grad;  // hard attention: a one-hot choice of the best patch, as the reference
    return eq(scaled_scores, amax(scaled_scores, {1}, true)).to(scaled_scores.dtype());
}

Tensor PyramidAttention::forward(const Tensor& x, Form form_) {  // x: [N, C, H, W]
    if (x.dim() != 4 || x.size(1) != args.channel)
        throw ShapeError(
            fmt::format("PyramidAttention: expects [N, {}, H, W], got {}", args.channel, shape_str(x.shape())));
    const int64_t n = x.size(0), h = x.size(2), w = x.size(3), k = args.ksize, pad = k / 2;
    const int64_t cm = args.channel / args.reduction, c = args.channel;
    const UnfoldOptions patches{.kernel_size = k, .padding = pad};
    check_scores_fit(x, pyramid_patches(x.shape(), args.level), form_ == Form::Gemm || autograd::is_grad_enabled());

    // Keys and values of every scale as columns: [N, Cm*k*k, L] and [N, C*k*k, L], scale 1 first.
    Tensor keys, values;
    {
        std::vector<Tensor> key_cols, value_cols;  // freed at the end of this block, before the big tensors come
        for (int64_t i = 0; i < args.level; ++i) {
            const Tensor xs = i == 0 ? x : interpolate(x, scale_options(scale_of(i)));
            key_cols.push_back(unfold((*conv_match)(xs), patches));
            value_cols.push_back(unfold((*conv_assembly)(xs), patches));
        }
        keys = cat(key_cols, 2), values = cat(value_cols, 2);
    }
    const int64_t l = keys.size(2);
    // ‖patch‖ floored at escape_NaN, written as sqrt(max(‖patch‖², floor²)): the same value, and an all-zero patch
    // gets the gradient dk̂ / floor instead of sqrt's 0/0.
    const Tensor floor2 = escape_NaN * escape_NaN;
    const Tensor norms = sqrt(maximum(sum(keys * keys, {1}, true), floor2));  // [N, 1, L]
    // softmax_scale is folded into the keys: conv(q, scale·K̂) = scale·S without an [L, H, W] temporary per image.
    const Tensor scaled_keys = keys / (norms / args.softmax_scale);
    keys = Tensor();                           // (autograd keeps what it needs)
    const Tensor q = (*conv_match_L_base)(x);  // [N, Cm, H, W]

    Tensor pasted;  // [N, C, H, W]
    if (form_ == Form::Gemm) {
        const Tensor q_cols = unfold(q, patches);                              // [N, Cm*k*k, H*W]
        const Tensor a = attention(bmm(scaled_keys.transpose(1, 2), q_cols));  // [N, L, H*W]
        pasted = fold(bmm(values, a), {h, w}, patches);                        // [N, C, H, W]
    } else {
        std::vector<Tensor> per_sample;
        for (int64_t i = 0; i < n; ++i) {
            const Tensor kernels = scaled_keys.select(0, i).t().reshape({l, cm, k, k});  // one kernel per patch
            const Tensor a = attention(conv2d(q.narrow(0, i, 1), kernels, {}, {.padding = pad}));  // [1, L, H, W]
            const Tensor value_patches = values.select(0, i).t().reshape({l, c, k, k});
            per_sample.push_back(conv_transpose2d(a, value_patches, {}, {.padding = pad}));
        }
        pasted = cat(per_sample, 0);
    }
    // The reference divides by 4 (carried over from 4x4 patches at stride 2); kept for weight compatibility.
    return pasted / 4.0 + x * args.res_scale;
}

}  // namespace nabla::models
