// nn/loss.cpp — the loss modules: each forward is its function of ops/loss.h with the module's options.
#include "nn/loss.h"

#include "nn/repr.h"
#include "ops/loss.h"

namespace nabla::nn {

Tensor Loss::operator()(const Tensor& input, const Tensor& target) {
    CallScope scope(*this, {input, target});
    return scope.finish(forward(input, target));
}

Tensor L1Loss::forward(const Tensor& input, const Tensor& target) { return l1_loss(input, target, reduction); }

Tensor MSELoss::forward(const Tensor& input, const Tensor& target) { return mse_loss(input, target, reduction); }

SmoothL1Loss::SmoothL1Loss(SmoothL1LossArgs args) : Loss("SmoothL1Loss", args.reduction), beta(args.beta) {
    NB_CHECK_VALUE(beta >= 0, "SmoothL1Loss: beta must be non-negative, got ", py_float(beta));
}

Tensor SmoothL1Loss::forward(const Tensor& input, const Tensor& target) {
    return smooth_l1_loss(input, target, reduction, beta);
}

BCELoss::BCELoss(BCELossArgs args) : Loss("BCELoss", args.reduction) {
    weight = register_buffer("weight", args.weight);
}

Tensor BCELoss::forward(const Tensor& input, const Tensor& target) {
    return binary_cross_entropy(input, target, weight, reduction);
}

BCEWithLogitsLoss::BCEWithLogitsLoss(BCEWithLogitsLossArgs args) : Loss("BCEWithLogitsLoss", args.reduction) {
    weight = register_buffer("weight", args.weight);
    pos_weight = register_buffer("pos_weight", args.pos_weight);
}

Tensor BCEWithLogitsLoss::forward(const Tensor& input, const Tensor& target) {
    return binary_cross_entropy_with_logits(input, target, weight, pos_weight, reduction);
}

NLLLoss::NLLLoss(NLLLossArgs args) : Loss("NLLLoss", args.reduction), ignore_index(args.ignore_index) {
    weight = register_buffer("weight", args.weight);
}

Tensor NLLLoss::forward(const Tensor& input, const Tensor& target) {
    return nll_loss(input, target, weight, ignore_index, reduction);
}

CrossEntropyLoss::CrossEntropyLoss(CrossEntropyLossArgs args)
    : Loss("CrossEntropyLoss", args.reduction), ignore_index(args.ignore_index), label_smoothing(args.label_smoothing) {
    NB_CHECK_VALUE(label_smoothing >= 0.0 && label_smoothing <= 1.0,
                   "CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got ", py_float(label_smoothing));
    weight = register_buffer("weight", args.weight);
}

Tensor CrossEntropyLoss::forward(const Tensor& input, const Tensor& target) {
    return cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing);
}

}  // namespace nabla::nn
