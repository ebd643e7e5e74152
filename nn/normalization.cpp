// nn/normalization.cpp — BatchNorm2d (torch's _BatchNorm.forward: which statistics, which momentum) and GroupNorm
// over the functional ops of ops/batch_norm.h.
#include "nn/normalization.h"

#include "autograd/grad_mode.h"
#include "nn/distributed.h"
#include "nn/init.h"
#include "nn/repr.h"
#include "ops/activation.h"
#include "ops/batch_norm.h"
#include "ops/elementwise.h"
#include "ops/factory.h"

namespace nabla::nn {

// ---------------------------------------------------------------------------------------------------------------
// BatchNorm2d

BatchNorm2d::BatchNorm2d(int64_t num_features_, BatchNorm2dArgs args)
    : Module("BatchNorm2d"), num_features(num_features_), options(args) {
    NB_CHECK_VALUE(num_features > 0, "BatchNorm2d: num_features must be positive, got ", num_features);
    weight = register_parameter("weight", args.affine ? empty({num_features}) : Tensor());
    bias = register_parameter("bias", args.affine ? empty({num_features}) : Tensor());
    if (args.track_running_stats) {
        running_mean = register_buffer("running_mean", empty({num_features}));
        running_var = register_buffer("running_var", empty({num_features}));
        num_batches_tracked = register_buffer("num_batches_tracked", scalar_tensor(0, {.dtype = kInt64}));
    } else {  // registered as None, as torch: no state-dict entries
        running_mean = register_buffer("running_mean", Tensor());
        running_var = register_buffer("running_var", Tensor());
        num_batches_tracked = register_buffer("num_batches_tracked", Tensor());
    }
    reset_parameters();
}

void BatchNorm2d::sync_widths() {
    const Tensor& t = weight.defined() ? weight : running_mean;
    if (t.defined()) num_features = t.size(0);
}

void BatchNorm2d::reset_running_stats() {
    if (!options.track_running_stats) return;
    init::zeros_(running_mean);
    init::ones_(running_var);
    init::zeros_(num_batches_tracked);
}

void BatchNorm2d::reset_parameters() {
    reset_running_stats();
    if (!options.affine) return;
    init::ones_(weight);
    init::zeros_(bias);
}

Tensor BatchNorm2d::forward(const Tensor& x) { return forward_act(x, NormAct::None); }

Tensor BatchNorm2d::forward_act(const Tensor& x, NormAct act) {
    NB_CHECK(x.dim() == 4 && x.size(1) == num_features, type_name(), "(", num_features, "): expected input [N, ",
             num_features, ", H, W], got ", x.shape());
    if (sync_ && is_training() && dist::world_size() > 1) return sync_forward(x, act);
    const double factor = is_training() && options.track_running_stats ? track_batch() : options.momentum.value_or(0.0);
    // Batch statistics in training, and in eval when there are no running statistics to use.
    const bool use_batch_stats = is_training() || !options.track_running_stats;
    return batch_norm_act(act, x, running_mean, running_var, weight, bias, use_batch_stats, factor, options.eps);
}

// SyncBatchNorm's training forward: two all-reduces per call (the sums of x, then of (x - mean)^2, a two-pass
// variance as precise as the local one), each an autograd op whose backward all-reduces the gradient, so that the
// gradient of every rank's input sees every rank's examples, as torch's SyncBatchNorm backward does.
Tensor BatchNorm2d::sync_forward(const Tensor& x, NormAct act) {
    const int64_t c = num_features;
    const Shape per_channel{1, c, 1, 1};
    const double count = dist::all_reduce(static_cast<double>(x.numel() / c));
    NB_CHECK_VALUE(count > 1, "SyncBatchNorm(", c,
                   "): expected more than 1 value per channel when training, got input ", x.shape(), " on each of ",
                   dist::world_size(), " ranks");
    const Tensor mean = dist::all_reduce(x.sum({0, 2, 3})) / count;
    const Tensor centred = x - mean.view(per_channel);
    const Tensor var = dist::all_reduce((centred * centred).sum({0, 2, 3})) / count;  // biased, for normalising
    Tensor y = centred * rsqrt(var + options.eps).view(per_channel);
    if (options.affine) y = y * weight.view(per_channel) + bias.view(per_channel);
    if (options.track_running_stats) {
        const double f = track_batch();
        NoGradGuard no_grad;
        running_mean.mul_(1 - f).add_(mean.detach(), f);
        running_var.mul_(1 - f).add_(var.detach(), f * count / (count - 1));  // unbiased, as torch
    }
    switch (act) {
        case NormAct::Relu: return relu(y);
        case NormAct::Silu: return silu(y);
        default: return y;
    }
}

double BatchNorm2d::track_batch() {
    NoGradGuard no_grad;
    num_batches_tracked.add_(1.0);
    return options.momentum ? *options.momentum : 1.0 / static_cast<double>(num_batches_tracked.item<int64_t>());
}

void BatchNorm2d::set_sync(bool on) {
    sync_ = on;
    set_type_name(on ? "SyncBatchNorm" : "BatchNorm2d");
}

int64_t convert_sync_batchnorm(Module& module) {
    int64_t n = 0;
    module.apply([&](Module& m) {
        if (auto* bn = dynamic_cast<BatchNorm2d*>(&m)) {
            bn->set_sync(true);
            ++n;
        }
    });
    return n;
}

std::string BatchNorm2d::extra_repr() const {
    return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", num_features,
                       py_float(options.eps), options.momentum ? py_float(*options.momentum) : "None",
                       py_bool(options.affine), py_bool(options.track_running_stats));
}

// ---------------------------------------------------------------------------------------------------------------
// GroupNorm

GroupNorm::GroupNorm(int64_t num_groups_, int64_t num_channels_, double eps_, bool affine_)
    : Module("GroupNorm"), num_groups(num_groups_), num_channels(num_channels_), eps(eps_), affine(affine_) {
    NB_CHECK_VALUE(num_groups > 0 && num_channels > 0, "GroupNorm: num_groups and num_channels must be positive, got ",
                   num_groups, " and ", num_channels);
    NB_CHECK_VALUE(num_channels % num_groups == 0, "GroupNorm: num_channels=", num_channels,
                   " must be divisible by num_groups=", num_groups);
    weight = register_parameter("weight", affine ? empty({num_channels}) : Tensor());
    bias = register_parameter("bias", affine ? empty({num_channels}) : Tensor());
    reset_parameters();
}

void GroupNorm::reset_parameters() {
    if (!affine) return;
    init::ones_(weight);
    init::zeros_(bias);
}

Tensor GroupNorm::forward(const Tensor& x) {
    NB_CHECK(x.dim() >= 2 && x.size(1) == num_channels, "GroupNorm(", num_groups, ", ", num_channels,
             "): expected input [N, ", num_channels, ", *], got ", x.shape());
    return group_norm(x, num_groups, weight, bias, eps);
}

std::string GroupNorm::extra_repr() const {
    return fmt::format("{}, {}, eps={}, affine={}", num_groups, num_channels, py_float(eps), py_bool(affine));
}

}  // namespace nabla::nn
