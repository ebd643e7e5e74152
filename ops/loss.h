// ops/loss.h — the losses of torch.nn.functional with PyTorch's names, argument order (without the deprecated
// size_average/reduce), defaults and semantics. Each is composed of other ops, so its gradient follows.
//   reduction: None keeps the per-element loss, Sum adds it up, Mean averages it (nll_loss and cross_entropy: the
//   weighted mean Σ w[t_i] loss_i / Σ w[t_i] over the targets that are not ignore_index, as PyTorch).
// Shapes: input and target equal for the elementwise losses (a mismatch is an error naming the loss and both
// shapes); weight broadcasts to input. Class losses take input [N, C] or [N, C, d1, ...] (or [C]) and int64 class
// indices target [N] / [N, d1, ...] (or []); cross_entropy also takes class probabilities of input's shape.
#pragma once
#include "core/tensor.h"
#include "ops/options.h"

namespace nabla {

// mean |input - target|; the gradient is sign(input - target) with sign(0) = 0.
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// mean (input - target)²
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// 0.5 d² / beta where |d| < beta, else |d| - 0.5 beta (d = input - target); beta = 0 is l1_loss.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                      double beta = 1.0);

// -weight (t log(p) + (1 - t) log(1 - p)) for probabilities p in [0, 1]; each log is clamped at -100 as PyTorch.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                            Reduction reduction = Reduction::Mean);
// The same on logits z, in PyTorch's stable form: weight ((1 - t) z + (1 + (pos_weight - 1) t) log(1 + exp(-z))).
// NB: pos_weight comes before reduction here (PyTorch puts it last, after the deprecated arguments).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                                        const Tensor& pos_weight = Tensor(), Reduction reduction = Reduction::Mean);

// -weight[t] log_probs[t] per sample (0 where t == ignore_index).
Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(), int64_t ignore_index = -100,
                Reduction reduction = Reduction::Mean);
// nll_loss(log_softmax(input, 1), ...), blended with the uniform distribution by label_smoothing:
//   (1 - ls) nll + ls / C Σ_c -weight[c] log_softmax(input)[c]   (per sample, then reduced with nll's denominator)
Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                     int64_t ignore_index = -100, Reduction reduction = Reduction::Mean, double label_smoothing = 0.0);

}  // namespace nabla
