// apps/slimming.h — the network-slimming cycle of YOLOv5 (midasklr/yolov5prune, v6.0) on nn/prune.h:
//   nabla train yolov5s --sparsity 1e-4          L1 on the prunable BatchNorms' γ and β (apps/detection_train.cpp),
//                                                 with the |γ| distribution logged every epoch (log_bn_gammas)
//   nabla prune yolov5s --weights W --percent P  one global |γ| threshold; a physically smaller yolov5s of the same
//                                                 class, with a report (channels, params, GFLOPs, size, mAP, latency)
//   nabla train yolov5s --weights pruned.safetensors   fine-tunes it (its widths are read from the file)
//   nabla slim yolov5s --rounds R                 the three steps R times, with a table of every round
// docs/slimming.md describes the steps, the files and how they differ from the reference.
#pragma once
#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

#include "apps/detection_train.h"
#include "apps/train_loop.h"

namespace nabla::apps {

// One epoch's |γ| of the prunable BatchNorms: adds the columns sr, bn/q10, bn/q50, bn/q90 (quantiles of |γ|) and
// bn/small (the fraction below 0.01) to `row`, draws bn_hist/epoch_NNN.png (the histogram of this epoch) and
// bn_hist.png (the quantiles over all epochs of results.csv so far and this one) in run_dir.
void log_bn_gammas(const std::vector<double>& abs_gammas, double sr, int64_t epoch, const std::string& run_dir,
                   Logs& row);

struct PruneOptions {
    std::string model = "yolov5s";
    std::string weights;  // a checkpoint (its EMA when it has one) or a state dict
    double percent = 0.5;
    int64_t min_keep = 8, multiple = 1;  // docs/slimming.md §3: rounding to 16 costs no latency (1: the reference)
    bool prune_residual = false;         // also prune residual groups as one unit (the reference leaves them whole)
    std::string normalizer = "none";     // scores per group divided by their "mean" or "max" (nn::SlimmingOptions)
    bool compensate = true;              // fold removed channels' act(β) into the next layer
    std::string output;                  // "" : <weights stem>_pruned.safetensors beside the weights
    std::string data;                    // a data.yaml for mAP before and after ("" : the generated shapes if present)
    int64_t img_size = 0;                // validation size (0: 640, 320 for the generated shapes)
    int64_t latency_size = 0;  // latency and GFLOPs at this size (0: 640 for YOLOv5, else the model's input size)
    std::vector<int64_t> latency_batches{1, 8};
    int64_t latency_steps = 5;
    int threads = 0;
};

struct PruneLayer {
    std::string conv;
    int64_t before = 0, after = 0;
};

struct PruneReport {
    std::string output;
    double threshold = 0, max_percent = 0;
    int64_t channels_before = 0, channels_after = 0;  // over the prunable groups
    std::vector<PruneLayer> layers;                   // every conv of the network
    int64_t params_before = 0, params_after = 0;
    double gflops_before = 0, gflops_after = 0;  // at latency_size
    int64_t bytes_before = 0, bytes_after = 0;   // the weights on disk (the pruned file; the input's model part)
    double map50_before = -1, map50_after = -1, map_before = -1, map_after = -1;  // -1: no data
    std::map<int64_t, std::pair<double, double>> latency_ms;                      // batch -> (before, after)
    std::string json() const;
    std::string table() const;
};

// Prunes YOLOv5 weights: traces the channel graph, plans at `percent`, writes the smaller network as a checkpoint
// (model tensors, the channel counts in its metadata) and the report (<output stem>_report.json and .png).
PruneReport prune_detector(const PruneOptions& options);
// The same for any other model of the registry (u2netp, pfld, ...): the pruned checkpoint is marked pruned, so that
// every command that loads weights (eval, predict, bench, train --weights, train --resume, prune again) narrows the
// model to it (nn::load_weights_into). The report has no task metric (run `nabla eval` on both files).
PruneReport prune_network(const PruneOptions& options);

// --- the cycle ---
struct SlimOptions {
    DetectionTrainOptions train;  // the sparsity runs: model, data, img_size, epochs, batch, sparsity, weights
    int64_t rounds = 2;
    int64_t finetune_epochs = 0;  // 0: train.train.epochs
    double finetune_lr0 = 0;      // the fine-tunes' initial learning rate (0: train.hyp.lr0, as the other runs)
    bool control = false;         // also train the unpruned network as long as each round, without the L1 term
    std::string control_weights;  // where the first round's control starts ("": train.train.weights), so that a
                                  // further round, run later from a fine-tuned network, continues its own control
    PruneOptions prune;           // percent, min_keep, multiple, latency (model, weights, output, data: set per round)
    std::string output;           // "" : runs/slim/<model>
};

struct SlimRound {
    int64_t round = 0;
    PruneReport prune;                              // the sparse network before, the pruned one after
    double map50_finetuned = 0, map_finetuned = 0;  // the fine-tune's last validation
    double map50_control = -1, map_control = -1;    // the unpruned control's last validation (-1: no control)
    std::string weights;                            // the fine-tuned checkpoint the next round starts from
};

// Runs sparsity training -> prune -> fine-tune `rounds` times, each round on the previous round's fine-tuned
// weights, into <output>/round<r>/{sparsity, pruned.safetensors, finetune}; writes <output>/slim.md and
// slim.json and prints the table. With `control`, each round also trains the unpruned network from the previous
// round's control (the first from control_weights, or the same start) for the sparsity plus fine-tune epochs, without
// the L1 term, into <output>/round<r>/control: the baseline "trained for the same total epochs" that the pruned one is
// judged by.
std::vector<SlimRound> slim_detector(SlimOptions options);
std::string slim_table(const std::vector<SlimRound>& rounds);  // a Markdown table, one row per round

// Registers `nabla prune MODEL` (every model) and `nabla slim yolov5n|s|m|l|x`.
void add_prune_commands(CLI::App& app);

}  // namespace nabla::apps
