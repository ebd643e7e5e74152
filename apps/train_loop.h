// apps/train_loop.h — the training loop every `nabla train MODEL` shares (ultralytics' trainer, Lightning's fit):
// epochs of optimizer steps with a progress bar, a CSV of metrics per epoch and its plot, sample pictures every N
// steps, checkpoints every N steps and at every epoch end, the best checkpoint by the validation metric, exact
// resume, and Ctrl-C that saves a checkpoint and stops cleanly.
//
// Under mpirun every rank runs fit() on its shard of each batch: DistributedDataParallel averages the gradients
// (nn/parallel.h), --sync-bn makes the BatchNorms SyncBatchNorm, rank 0 alone validates, logs, draws and saves, and
// the decisions that end a step (a non-finite loss, Ctrl-C) are agreed by all ranks. docs/distributed.md.
//
// A trainer fills a TrainTask (its model, optimizer, data, loss and what else it needs: accumulation, a scheduler
// stepped per epoch or per step, ReduceLROnPlateau, warmup, hooks) and calls fit():
//   TrainTask task{.model = &model, .optimizer = &adam, .loader = &loader,
//                  .loss = [&](const Batch& b, Logs& logs) { ...; return loss; },
//                  .validate = [&] { return Logs{{"val/mae", mae}, {"val/maxf", maxf}}; },
//                  .best_metric = "val/maxf", .maximize = true};
//   fit(options, task);
//
// The run directory (--output, default runs/<model>) holds, as ultralytics' does:
//   weights/last.safetensors   full checkpoint (nn/checkpoint.h), rewritten every --save-every steps and each epoch
//   weights/best.safetensors   the checkpoint with the best validation metric
//   results.csv, results.png   metrics per epoch and their curves
//   samples/step_000200.png    pictures of the model's output, every --sample-every steps
//   args.json                  the options of the run
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/data/dataloader.h"
#include "nn/module.h"
#include "nn/optim/ema.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/optimizer.h"

namespace nabla::apps {

using data::Batch;                                         // batch[0], batch[1], ...: the collated tensors
using Logs = std::vector<std::pair<std::string, double>>;  // ordered: the CSV's column order

// The options every trainer shares; each trainer adds its own (data paths, lr, ...) next to them.
struct TrainOptions {
    std::string output;  // run directory; "" = runs/<model>
    int64_t epochs = 10;
    int64_t batch = 8;
    int workers = 2;  // data-loading threads (0: load in the training thread)
    uint64_t seed = 0;
    int threads = 0;                 // OpenMP threads for the math; 0 = all cores
    std::string device = "cpu";      // cpu, cuda or cuda:N
    std::string precision = "fp32";  // fp32, or bf16: training forwards (and so backwards) under an AutocastGuard
    std::string weights;  // initial weights (a checkpoint's EMA if it has one, or a state dict): load_initial_weights
    bool pruned = false;  // set by load_initial_weights and resume: the model was narrowed to pruned weights
    std::string resume;   // a checkpoint file or a run directory (its weights/last.safetensors)
    int64_t save_every = 0;    // steps between mid-epoch checkpoints; 0 = at epoch ends only
    int64_t sample_every = 0;  // steps between sample pictures; 0 = at epoch ends only
    int64_t val_every = 1;     // epochs between validations
    int64_t max_steps = 0;     // stop after this many optimizer steps in total (0: train all epochs)
    // Network slimming's sparsity term (docs/slimming.md §2): after every backward, on the prunable BatchNorms
    // (nn/prune.h, traced on the first batch), γ.grad += sparsity (1 - 0.9 epoch / epochs) sign(γ) and β.grad +=
    // 10 sparsity sign(β); their |γ| are logged every epoch. 0: off. Needs TrainTask::accumulate 1.
    double sparsity = 0;
    // The sparsity term and the |γ| log also cover the residual groups (the channels an add ties, each BatchNorm of
    // the group, and the hidden layers of residual branches), for `nabla prune --prune-residual`; the reference
    // leaves them whole.
    bool prune_residual = false;
    bool exist_ok = false;  // reuse a run directory that already has results (otherwise an error)
    // A corrupt image stops the run (the data check before training, apps/data_check.h, and the training loader)
    // instead of being left out with a warning (DataLoaderOptions::skip_errors).
    bool strict_data = false;
    // Data-parallel (under mpirun, docs/distributed.md): --batch is the global batch, split evenly over the ranks.
    int nproc = 0;         // > 1: `nabla train` starts itself under `mpirun -np nproc` (apps/launch.h)
    bool sync_bn = false;  // SyncBatchNorm: BatchNorm statistics of the global batch rather than each rank's
};

// Adds --output --epochs --batch --workers --seed --threads --device --precision --weights --resume --save-every
// --sample-every --val-every --max-steps --exist-ok --strict-data --nproc --sync-bn to a command, with help texts and
// defaults (those already in `o`).
void add_train_options(CLI::App* cmd, TrainOptions& o);
// --weights: loads the initial weights into the freshly built model (call it before the optimizer and the EMA are
// made); weights of a pruned network (nn/prune.h) narrow the model to their shapes first, and the run's
// checkpoints say so, so that --resume narrows it again. Nothing to do without --weights or when resuming.
void load_initial_weights(TrainOptions& o, nn::Module& model);
// Applies --threads and --seed to the process; checks the values; resolves the run directory.
void prepare_run(TrainOptions& o, const std::string& model_name);
// The training loader's options for this process: `o` itself in a plain run; in a data-parallel run (nn/
// distributed.h) batch_size / world_size examples per batch from this rank's shard (DistributedSampler), so that the
// ranks together load the global --batch. An Error when the batch does not split evenly.
// With --device cuda the batches are pinned (DataLoaderOptions::pin_memory), so their copies to the GPU overlap.
data::DataLoaderOptions for_this_run(const TrainOptions& t, data::DataLoaderOptions o);

// Where the loop stands, for the hooks. Counters start at 0.
struct StepInfo {
    int64_t epoch = 0, epochs = 0;   // the current epoch and how many there are
    int64_t batch = 0, batches = 0;  // this batch's index in the epoch, batches per epoch
    int64_t iteration = 0;           // batches seen over the whole run (ultralytics' `ni`): epoch * batches + batch
    int64_t step = 0;                // optimizer steps taken over the whole run (this one not yet counted)
};

// Code a task runs at fixed points of each step, instead of flags in the loop (Lightning's hooks). All optional.
struct TrainHooks {
    // Gradients of this batch have been added to .grad: clipping, an L1 subgradient (network slimming), ...
    std::function<void(const StepInfo&)> after_backward;
    std::function<void(const StepInfo&)> before_step;  // right before optimizer.step(), after the warmup's values
    std::function<void(const StepInfo&)> after_step;   // after the step, the step scheduler and the EMA update
    // The epoch's row of results.csv before it is written (train/... means, lr, validation): add columns here.
    std::function<void(const StepInfo&, Logs& row)> on_epoch_end;
};

// When an LRScheduler steps: once per epoch (torch's usual pattern) or after every optimizer step (OneCycleLR,
// warm restarts).
enum class SchedulerInterval { epoch, step };

// ultralytics' warmup: over the first `iterations` batches, each group's lr rises linearly from start_lr[group] to
// the lr its scheduler gives it, and the momentum (SGD's momentum, or Adam's beta1) from start_momentum to the
// group's own. The warmup values are used by the optimizer step only; the groups keep their scheduled values (so a
// chained scheduler sees its own lr). With ramp_accumulation the batches per step rise from 1 to TrainTask::
// accumulate over the warmup, as ultralytics' accumulate = max(1, round(interp(ni, [0, nw], [1, nbs / batch]))).
struct Warmup {
    int64_t iterations = 0;                // 0: no warmup
    std::vector<double> start_lr;          // one per group (ultralytics: 0.1 for the bias group, 0 for the others)
    std::optional<double> start_momentum;  // none: the momentum is not warmed up
    bool ramp_accumulation = false;
};

// What fit() trains: a trainer fills it with its model, optimizer, data and functions.
struct TrainTask {
    nn::Module* model = nullptr;
    optim::Optimizer* optimizer = nullptr;
    data::DataLoader* loader = nullptr;
    // The forward pass and loss of one training batch (the model is in training mode; fit() runs backward and the
    // optimizer step). Extra values to show and log go into `logs` (their running means are logged per epoch).
    std::function<Tensor(const Batch& batch, Logs& logs)> loss;
    // The layout batch[0] (the images) is given to `loss` in: ChannelsLast makes a 4-D batch[0] channels-last, so that
    // the model's convs run on NHWC without reordering (ModelSpec::memory_format says which models gain).
    MemoryFormat input_format = MemoryFormat::Contiguous;
    // Gradient accumulation: the gradients of this many batches are summed (as ultralytics does; divide the loss in
    // `loss` for their mean) before one optimizer step; the last batch of an epoch always steps, so that a
    // checkpoint never holds half-accumulated gradients. The nominal batch is accumulate × --batch.
    int64_t accumulate = 1;
    optim::LRScheduler* scheduler = nullptr;  // optional
    SchedulerInterval scheduler_interval = SchedulerInterval::epoch;
    // Optional: stepped after each validation with the value of plateau_metric (a key of validate()'s result),
    // saved in the checkpoint.
    optim::ReduceLROnPlateau* plateau = nullptr;
    std::string plateau_metric;
    Warmup warmup;
    optim::ModelEMA* ema = nullptr;  // optional; update(model) after each optimizer step
    TrainHooks hooks;
    // Validation metrics (fit() puts the model in eval mode and turns gradients off around it); optional.
    std::function<Logs()> validate;
    std::string best_metric;  // a key of validate()'s result; "" = the epoch's training loss (minimised)
    bool maximize = true;
    // Writes a picture of the model's current outputs to `png_path` (model in eval mode, no gradients); optional.
    std::function<void(const std::string& png_path)> save_samples;
    std::string config_json;  // the run's options, stored in every checkpoint (fit() adds sparsity, prune_residual)
    // Log the prunable BatchNorms' |γ| every epoch (results.csv columns, bn_hist/ pictures) also without
    // TrainOptions::sparsity (YOLOv5 does, as the reference's trainer).
    bool log_bn_gammas = false;
    // Tensors the task keeps in every checkpoint (as task.<key>), e.g. the channel counts of a pruned model; read
    // them back with checkpoint_task_state() to rebuild the model before fit() loads its weights.
    std::function<TensorMap()> task_state;
};

struct TrainResult {
    int64_t steps = 0, epochs_completed = 0;
    double first_loss = 0, last_loss = 0;  // the first step's loss and the last (or interrupted) epoch's mean loss
    Logs last_metrics;                     // the last validation
    double best_metric = 0;
    bool interrupted = false;  // stopped by Ctrl-C (a checkpoint was saved)
    std::string run_dir;
};

TrainResult fit(const TrainOptions& options, TrainTask& task);
// Whether Ctrl-C stopped a fit() of this process: `nabla` then exits with status 130 (128 + SIGINT, as a shell
// reports a process that SIGINT ended), so a script can tell an interrupted run from a finished one.
bool interrupt_requested();
// "best NAME VALUE[UNIT]", or "NAME not validated yet" while the best is still the untouched +-inf of a run that
// stopped before its first validation: for the one-line summary each trainer prints.
std::string best_text(const TrainResult& r, const std::string& name, const std::string& unit = "");

// The checkpoint file a --resume value names: the file itself, or <dir>/weights/last.safetensors.
std::string resume_path(const std::string& resume);
// The task.* tensors of the checkpoint a --resume value names (TrainTask::task_state when it was saved).
TensorMap checkpoint_task_state(const std::string& resume);

}  // namespace nabla::apps
