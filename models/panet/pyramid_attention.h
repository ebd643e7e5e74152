// models/panet/pyramid_attention.h — PyramidAttention, the non-local block of PANet (Mei et al. 2020, "Pyramid
// Attention Networks for Image Restoration"; SHI-Labs/Pyramid-Attention-Networks, attention.py), with the
// reference's module names: conv_match_L_base (queries), conv_match (keys), conv_assembly (values), each a 1x1 conv
// followed by its own PReLU, and the escape_NaN buffer (1e-4).
//
// For x [N, C, H, W] (the math is in docs/panet.md §1):
//   Q = conv_match_L_base(x)                                   [N, C/r, H, W]
//   for s in 1, 0.9, ..., 1 - (level-1)/10:  x_s = bicubic(x, s) (align_corners true, as the blog's variant)
//       K_s = conv_match(x_s), V_s = conv_assembly(x_s); every 3x3 patch (stride 1, zero padding 1) is one key/value
//   K̂ = each key patch / max(‖patch‖₂, 1e-4)                  L = Σ_s H_s·W_s patches of all scales
//   S = correlation of Q with every K̂ patch                    [N, L, H, W]
//   A = softmax(softmax_scale · S) over the L patches
//   y = (A pasted with the value patches: a transposed conv) / 4 + res_scale · x
// Two implementations that agree in value and gradient (tests/models/test_panet.cpp):
//   Direct  per sample, conv2d with the patches as kernels and conv_transpose2d to paste (the reference's form);
//   Gemm    the whole batch at once: unfold (im2col), bmm, softmax, bmm, fold (col2im).
// Direct is the default: forward+backward at batch 4, 64 channels, 48x48, level 4 (6,686 patches), 2 threads took
// 1,841 ms against Gemm's 2,135 ms (oneDNN's convolutions beat our bmm here, and one sample's scores are live at a
// time instead of the batch's); the same block in PyTorch 1.13 took 2,560-2,810 ms.
#pragma once
#include "nn/activation.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/module.h"

namespace nabla::models {

struct PyramidAttentionArgs {
    int64_t level = 4;     // scales 1, 0.9, ..., 1 - (level - 1) / 10
    double res_scale = 1;  // the weight of the skip x
    int64_t channel = 64;
    int64_t reduction = 2;  // queries and keys have channel / reduction channels
    int64_t ksize = 3;      // patch size (stride 1; the reference's only tested setting)
    double softmax_scale = 10;
    bool average = true;  // false: hard attention on the best patch (no gradient through the choice)
};

class PyramidAttention : public nn::Module {
public:
    enum class Form { Direct, Gemm };

    explicit PyramidAttention(PyramidAttentionArgs args = {});
    Tensor forward(const Tensor& x) override { return forward(x, form); }
    // x: [N, channel, H, W] -> [N, channel, H, W] in the given form (call (*attention)(x) for the hooked default).
    Tensor forward(const Tensor& x, Form form);

    const PyramidAttentionArgs args;
    Form form = Form::Direct;
    std::shared_ptr<nn::Sequential> conv_match_L_base, conv_match, conv_assembly;
    Tensor escape_NaN;  // [1] = 1e-4, the floor of the key norms

private:
    Tensor attention(const Tensor& scaled_scores) const;  // softmax (or one-hot argmax) over dim 1 of [N, L, ...]
};

}  // namespace nabla::models
