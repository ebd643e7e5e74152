// nn/normalization.h — torch.nn.BatchNorm2d and torch.nn.GroupNorm.
//   nn::BatchNorm2d bn(64);                                   // x [N, 64, H, W] -> same shape
//   nn::BatchNorm2d bn(64, {.momentum = std::nullopt});       // running stats as a cumulative average
//   nn::GroupNorm gn(8, 64);                                  // 8 groups of 8 channels, per sample
// BatchNorm2d follows torch's _BatchNorm.forward exactly:
//   training: normalise with the batch statistics; with track_running_stats, num_batches_tracked += 1 and
//             running_{mean,var} <- (1 - f) running + f batch (unbiased var), f = momentum, or
//             1 / num_batches_tracked when momentum is nullopt (cumulative moving average);
//   eval:     normalise with the running statistics, or with the batch statistics when track_running_stats=false.
// State dict: weight, bias (affine only), running_mean, running_var, num_batches_tracked (int64, 0-dim) when
// tracking. The math is ops/batch_norm.h. Default init: weight 1, bias 0, running_mean 0, running_var 1.
// macs(): 0 for both (no weight multiply-accumulates; BatchNorm folds into the preceding conv at inference).
// forward_act runs the BatchNorm and a relu or silu as one kernel; nn/fusion.h decides when layers use it.
// torch.nn.SyncBatchNorm is a BatchNorm2d in sync mode (convert_sync_batchnorm): in training with more than one rank
// (nn/distributed.h), the statistics are those of the global batch — the mean and variance all-reduced over every
// rank's examples, through autograd, so that backward all-reduces their gradients too — and the running statistics
// follow them (the same on every rank); otherwise it computes what BatchNorm2d does.
#pragma once
#include <optional>

#include "nn/module.h"
#include "ops/batch_norm.h"  // NormAct

namespace nabla::nn {

struct BatchNorm2dArgs {
    double eps = 1e-5;
    std::optional<double> momentum = 0.1;  // nullopt = cumulative moving average (torch's momentum=None)
    bool affine = true;
    bool track_running_stats = true;
};

class BatchNorm2d : public Module {
public:
    explicit BatchNorm2d(int64_t num_features, BatchNorm2dArgs args = {});  // a ValueError for num_features < 1
    // A ShapeError naming BatchNorm2d for anything but [N, num_features, H, W].
    Tensor forward(const Tensor& x) override;
    Tensor forward_act(const Tensor& x, NormAct act);  // act(forward(x)) in one kernel
    void reset_running_stats();                        // running_mean 0, running_var 1, num_batches_tracked 0
    void reset_parameters();                           // reset_running_stats, weight 1, bias 0
    std::string extra_repr() const override;
    void sync_widths() override;  // num_features from the [C] tensors, after pruning narrowed them
    void set_sync(bool on);       // SyncBatchNorm or BatchNorm2d (the type name follows)
    bool is_sync() const { return sync_; }

    int64_t num_features;  // set at construction; only pruning changes it (sync_widths)
    const BatchNorm2dArgs options;
    Tensor weight, bias;                                    // [C], undefined unless affine
    Tensor running_mean, running_var, num_batches_tracked;  // undefined unless track_running_stats

private:
    Tensor sync_forward(const Tensor& x, NormAct act);
    // In training with running statistics: num_batches_tracked += 1; returns the factor of the running update
    // (momentum, or 1 / num_batches_tracked for a cumulative average).
    double track_batch();
    bool sync_ = false;  // SyncBatchNorm (convert_sync_batchnorm)
};

// torch.nn.SyncBatchNorm.convert_sync_batchnorm: every BatchNorm2d under `module` becomes a SyncBatchNorm (in place;
// parameters and running statistics are kept). Returns how many.
int64_t convert_sync_batchnorm(Module& module);

class GroupNorm : public Module {
public:
    // A ValueError naming GroupNorm when num_channels is not divisible by num_groups.
    GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5, bool affine = true);
    Tensor forward(const Tensor& x) override;  // [N, C, *] -> same shape
    void reset_parameters();                   // weight 1, bias 0
    std::string extra_repr() const override;

    const int64_t num_groups, num_channels;
    const double eps;
    const bool affine;
    Tensor weight, bias;  // [C], undefined unless affine
};

}  // namespace nabla::nn
