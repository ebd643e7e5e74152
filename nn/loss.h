// nn/loss.h — the loss modules of torch.nn over the functions of ops/loss.h (formulas, shapes and gradients there).
//   nn::CrossEntropyLoss ce({.weight = class_weights, .ignore_index = 255, .label_smoothing = 0.1});
//   Tensor loss = ce(logits, targets);       // logits [N, C, H, W], targets int64 [N, H, W] -> 0-dim
// Every loss takes `reduction` (Reduction::Mean by default; None keeps the per-element loss, Sum adds it up) and is
// called as loss(input, target), inside a CallScope so forward hooks see it. As torch, the class weight and
// pos_weight are buffers: moved by to(), and in the state dict (keys "weight", "pos_weight") when given.
#pragma once
#include "nn/module.h"
#include "ops/options.h"

namespace nabla::nn {

// The base of the loss modules (torch's _Loss): a two-tensor forward.
class Loss : public Module {
public:
    using Module::forward;  // the single-tensor forward throws: a loss needs a target
    virtual Tensor forward(const Tensor& input, const Tensor& target) = 0;
    Tensor operator()(const Tensor& input, const Tensor& target);

    const Reduction reduction;

protected:
    Loss(std::string type_name, Reduction reduction) : Module(std::move(type_name)), reduction(reduction) {}
};

class L1Loss : public Loss {  // |input - target|
public:
    explicit L1Loss(Reduction reduction = Reduction::Mean) : Loss("L1Loss", reduction) {}
    Tensor forward(const Tensor& input, const Tensor& target) override;
};

class MSELoss : public Loss {  // (input - target)^2
public:
    explicit MSELoss(Reduction reduction = Reduction::Mean) : Loss("MSELoss", reduction) {}
    Tensor forward(const Tensor& input, const Tensor& target) override;
};

struct SmoothL1LossArgs {
    Reduction reduction = Reduction::Mean;
    double beta = 1.0;
};
class SmoothL1Loss : public Loss {  // Huber-like: quadratic below beta, linear above
public:
    explicit SmoothL1Loss(SmoothL1LossArgs args = {});  // a ValueError for beta < 0
    Tensor forward(const Tensor& input, const Tensor& target) override;
    const double beta;
};

struct BCELossArgs {
    Tensor weight = Tensor();  // broadcast to input; undefined = 1
    Reduction reduction = Reduction::Mean;
};
class BCELoss : public Loss {  // on probabilities in [0, 1]
public:
    explicit BCELoss(BCELossArgs args = {});
    Tensor forward(const Tensor& input, const Tensor& target) override;
    Tensor weight;
};

struct BCEWithLogitsLossArgs {  // torch's order
    Tensor weight = Tensor();   // broadcast to input; undefined = 1
    Reduction reduction = Reduction::Mean;
    Tensor pos_weight = Tensor();  // weight of the positive term, broadcast along the last dim (classes); undefined = 1
};
class BCEWithLogitsLoss : public Loss {  // on logits, numerically stable
public:
    explicit BCEWithLogitsLoss(BCEWithLogitsLossArgs args = {});
    Tensor forward(const Tensor& input, const Tensor& target) override;
    Tensor weight, pos_weight;
};

struct NLLLossArgs {           // torch's order
    Tensor weight = Tensor();  // [C] class weights; undefined = 1
    int64_t ignore_index = -100;
    Reduction reduction = Reduction::Mean;
};
class NLLLoss : public Loss {  // on log-probabilities [N, C, *] and int64 classes [N, *]
public:
    explicit NLLLoss(NLLLossArgs args = {});
    Tensor forward(const Tensor& input, const Tensor& target) override;
    Tensor weight;
    const int64_t ignore_index;
};

struct CrossEntropyLossArgs {  // torch's order
    Tensor weight = Tensor();  // [C] class weights; undefined = 1
    int64_t ignore_index = -100;
    Reduction reduction = Reduction::Mean;
    double label_smoothing = 0.0;
};
class CrossEntropyLoss : public Loss {  // on logits [N, C, *] and int64 classes [N, *] or class probabilities
public:
    explicit CrossEntropyLoss(CrossEntropyLossArgs args = {});  // a ValueError for label_smoothing outside [0, 1]
    Tensor forward(const Tensor& input, const Tensor& target) override;
    Tensor weight;
    const int64_t ignore_index;
    const double label_smoothing;
};

}  // namespace nabla::nn
