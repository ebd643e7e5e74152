// apps/train_loop.h — the training loop every `nabla train MODEL` shares (ultralytics' trainer, Lightning's fit):
// epochs of optimizer steps with a progress bar, a CSV of metrics per epoch and its plot, sample pictures every N
// steps, checkpoints every N steps and at every epoch end, the best checkpoint by the validation metric, exact
// resume, and Ctrl-C that saves a checkpoint and stops cleanly.
//
// A trainer fills a TrainTask (its model, optimizer, data and three functions) and calls fit():
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
    int threads = 0;             // OpenMP threads for the math; 0 = all cores
    std::string device = "cpu";  // cpu or cuda
    std::string resume;          // a checkpoint file or a run directory (its weights/last.safetensors)
    int64_t save_every = 0;      // steps between mid-epoch checkpoints; 0 = at epoch ends only
    int64_t sample_every = 0;    // steps between sample pictures; 0 = at epoch ends only
    int64_t val_every = 1;       // epochs between validations
    int64_t max_steps = 0;       // stop after this many optimizer steps in total (0: train all epochs)
    bool exist_ok = false;       // reuse a run directory that already has results (otherwise an error)
};

// Adds --output --epochs --batch --workers --seed --threads --device --resume --save-every --sample-every
// --val-every --max-steps --exist-ok to a command, with help texts and defaults (those already in `o`).
void add_train_options(CLI::App* cmd, TrainOptions& o);
// Applies --threads and --seed to the process; checks the values; resolves the run directory.
void prepare_run(TrainOptions& o, const std::string& model_name);

struct TrainTask {
    nn::Module* model = nullptr;
    optim::Optimizer* optimizer = nullptr;
    optim::LRScheduler* scheduler = nullptr;  // optional; step() once after each epoch
    optim::ModelEMA* ema = nullptr;           // optional; update(model) after each optimizer step
    data::DataLoader* loader = nullptr;
    // The forward pass and loss of one training batch (the model is in training mode; fit() runs backward and the
    // optimizer step). Extra values to show and log go into `logs` (their running means are logged per epoch).
    std::function<Tensor(const Batch& batch, Logs& logs)> loss;
    // Validation metrics (fit() puts the model in eval mode and turns gradients off around it); optional.
    std::function<Logs()> validate;
    std::string best_metric;  // a key of validate()'s result; "" = the epoch's training loss (minimised)
    bool maximize = true;
    // Writes a picture of the model's current outputs to `png_path` (model in eval mode, no gradients); optional.
    std::function<void(const std::string& png_path)> save_samples;
    std::string config_json;  // the run's options, stored in every checkpoint
};

struct TrainResult {
    int64_t steps = 0, epochs_completed = 0;
    double first_loss = 0, last_loss = 0;  // the first step's loss and the last epoch's mean loss
    Logs last_metrics;                     // the last validation
    double best_metric = 0;
    bool interrupted = false;  // stopped by Ctrl-C (a checkpoint was saved)
    std::string run_dir;
};

TrainResult fit(const TrainOptions& options, TrainTask& task);

// The checkpoint file a --resume value names: the file itself, or <dir>/weights/last.safetensors.
std::string resume_path(const std::string& resume);

}  // namespace nabla::apps
