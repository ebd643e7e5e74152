// nn/prune.h — channel pruning for any convolutional network: which channels must be removed together, found by
// tracing one forward pass on the autograd tape (as Torch-Pruning's DepGraph does), network slimming's plan (Liu et
// al. 2017: one global threshold over |γ| of the prunable BatchNorms) and the pruned weights. docs/slimming.md
// walks through it.
//
//   ChannelGraph g = trace_channels(model, example_input);   // once, on the unpruned (or already pruned) network
//   g.prunable_norms();                                       // the BatchNorms whose γ the sparsity term pushes to 0
//   PrunePlan plan = plan_slimming(g, model.state_dict(), {.percent = 0.5});
//   TensorMap smaller = prune_state_dict(g, plan, model.state_dict());   // physically narrower tensors
//   model.adopt_shapes(smaller); model.load_state_dict(smaller);         // the same model, narrower (nn/module.h)
//   // (YOLOv5 can also be rebuilt from the widths: YOLOv5::channels_from_state_dict)
//
// What the tape tells: a conv2d (groups 1) starts a *source* of channels (its weight's dim 0); BatchNorm,
// activations, pooling and interpolation pass channels through; cat concatenates them; add, sub, mul and div of two
// maps with the same channels tie their sources together (a residual: one coupled group); a depthwise conv keeps
// them one to one. Every other op (view, linear, slice, ...) and the network's outputs pin the channels they see:
// those groups are not prunable.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/module.h"
#include "nn/safetensors.h"

namespace nabla::nn {

// A run of a tensor's channels: channels [begin, end) of one source, with what happened to them since.
struct ChannelSegment {
    int64_t source = -1;  // index into ChannelGraph::sources; -1: channels from outside (the input, a constant)
    int64_t begin = 0, end = 0;
    std::string norm;              // the last BatchNorm these channels went through ("" none)
    std::vector<std::string> ops;  // the value ops since that BatchNorm ("silu", "relu", ...; "?" for unknown)
};
using ChannelLayout = std::vector<ChannelSegment>;

// A conv2d with groups 1: its output channels are a source; its input channels are read through `input`.
struct ChannelSource {
    std::string conv;  // module path ("model.2.cv1.conv"): <conv>.weight [out, in, kh, kw], <conv>.bias
    int64_t channels = 0;
    ChannelLayout input;  // what its weight's dim 1 reads
    std::string norm;     // the BatchNorm applied right to its output ("" none): where compensation goes
};

// A module whose per-channel tensors follow a layout: a BatchNorm (weight, bias, running_mean, running_var) or a
// depthwise conv (weight's dim 0 and bias).
struct ChannelMember {
    enum class Kind { Norm, Depthwise } kind = Kind::Norm;
    std::string path;
    ChannelLayout layout;
};

struct ChannelGroup {
    std::vector<int64_t> sources;  // several when an elementwise op ties them (a residual)
    int64_t channels = 0;
    std::vector<std::string> norms;  // the BatchNorms over these channels (their γ gives the importance)
    bool fixed = false;              // pinned by an op the pruner cannot follow, or a network output
    std::string why;                 // what pinned it (the first reason found)
    bool residual = false;           // coupled, or the hidden layer of a residual branch
};

struct ChannelGraph {
    std::vector<ChannelSource> sources;
    std::vector<ChannelMember> members;
    std::vector<ChannelGroup> groups;
    std::vector<int64_t> group_of;  // source -> group
    bool prune_residual = false;    // as traced: whether residual groups count as prunable

    // Not fixed, with a BatchNorm, and (unless prune_residual) not residual: network slimming's candidates.
    bool prunable(int64_t group) const;
    // The BatchNorm paths of the prunable groups, in tape order: where the L1 term goes.
    std::vector<std::string> prunable_norms() const;
    // A table of every group: its sources, width, BatchNorms and why it is or is not prunable.
    std::string describe() const;
};

// Runs model.call_outputs(example) once in eval mode with gradients on (the training mode and the running
// statistics are left as they were) and reads the channel dependencies off the tape. Every parameter of a traced
// conv or BatchNorm must require grad (it is how the tape names them). prune_residual makes the coupled groups and
// the hidden layers of residual branches prunable too (network slimming and yolov5prune leave them whole).
ChannelGraph trace_channels(Module& model, const Tensor& example, bool prune_residual = false);

inline const std::vector<std::string> kNormalizers{"none", "mean", "max"};  // SlimmingOptions::normalizer

struct SlimmingOptions {
    double percent = 0.5;  // the fraction of the prunable channels below the global |γ| threshold
    // Every group keeps at least this many channels (all when it has fewer), the ones with the largest |γ|, instead
    // of aborting on an emptied layer as the reference does; and its kept count is rounded up to a multiple of
    // `multiple` (1: no rounding).
    int64_t min_keep = 8;
    int64_t multiple = 1;
    // How each group's scores are scaled before the global threshold, as Torch-Pruning's importance normalizer:
    // "none" (network slimming: |γ| as it is), "mean" or "max" (divided by the group's mean or largest score, so that
    // the threshold compares a channel with its own layer's and cuts the layers more evenly).
    std::string normalizer = "none";
};

struct PrunePlan {
    std::vector<std::vector<int64_t>> keep;  // per group: the kept channels, ascending (all for an unpruned group)
    double threshold = 0;                    // the global threshold (|γ|, or normalized |γ|)
    // The largest percent at which no prunable layer would be emptied (the reference's percent_limit): the rank of
    // the smallest per-group maximum |γ| over the sorted scores.
    double max_percent = 0;
    int64_t channels_before = 0, channels_after = 0;  // over the prunable groups
};

// Scores every channel of a prunable group by the largest |γ| of the group's BatchNorms (scaled by the normalizer),
// and keeps the channels at or above the global threshold (the score at rank floor(N · percent) of the N sorted
// scores).
PrunePlan plan_slimming(const ChannelGraph& graph, const TensorMap& state, const SlimmingOptions& options);

// The state dict with every tensor narrowed to the plan: a source conv's weight on dim 0 (its own group) and dim 1
// (its input), its bias, the BatchNorms' and depthwise convs' per-channel tensors; everything else copied. With
// compensate, what a removed channel still contributed is folded into the next layer: such a channel left its
// BatchNorm as the constant β (its γ ~ 0), act(β) after the activations, and each conv that read it added
// Σ W · act(β) per output, which goes into the conv's bias, or else into its BatchNorm's running_mean (exact away
// from the zero padding of the conv's border; docs/slimming.md).
TensorMap prune_state_dict(const ChannelGraph& graph, const PrunePlan& plan, const TensorMap& state,
                           bool compensate = true);

// The sparsity term of network slimming (the reference's train_sparity.py): for every listed BatchNorm,
// γ.grad += sr_gamma · sign(γ) and β.grad += sr_beta · sign(β) (sign(0) = 0). A ValueError names a path that is
// not a BatchNorm with gradients.
void add_l1_subgradient(Module& model, const std::vector<std::string>& norms, double sr_gamma, double sr_beta);

// |γ| of the listed BatchNorms, concatenated (for histograms and quantiles).
std::vector<double> abs_gammas(const TensorMap& state, const std::vector<std::string>& norms);

}  // namespace nabla::nn
