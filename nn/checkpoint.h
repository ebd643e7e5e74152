// nn/checkpoint.h — a training checkpoint in one safetensors file: everything a run needs to continue exactly.
//
// PyTorch pickles a dict {"model", "optimizer", "epoch", ...}; we store the same dict as one safetensors file so it
// is safe to open and readable by any safetensors tool. Each part's tensors are keyed with its name as a prefix:
//   model.<state-dict key>       the model's parameters and buffers (PyTorch's names after the prefix)
//   optimizer.<key>              Optimizer::state_dict()  (nn/optim/optimizer.h documents its keys)
//   scheduler.<key>              LRScheduler::state_dict()
//   ema.<key>                    ModelEMA::state_dict()
//   plateau.<key>                ReduceLROnPlateau::state_dict()
//   task.<key>                   what the task adds (e.g. the channel counts of a pruned model, read before the
//                                model is built)
// and the scalars go into the file's metadata: "format" = "nabla.checkpoint", "version", "epoch", "step",
// "batch_in_epoch", "rng" (the global Generator's state), "config" (the run's options as JSON), "best_metric".
// Writing is atomic (nn/safetensors.h): a crash mid-save keeps the previous checkpoint.
//
// load_weights() accepts both a checkpoint and a plain state-dict file (as converted from PyTorch), so `--weights`
// takes either.
#pragma once
#include <cstdint>
#include <string>

#include "nn/safetensors.h"

namespace nabla::nn {

class Module;

struct Checkpoint {
    TensorMap model, optimizer, scheduler, ema, plateau, task;
    int64_t epoch = 0;           // epochs completed before the batch below
    int64_t step = 0;            // optimizer steps taken over the whole run
    int64_t batch_in_epoch = 0;  // batches of `epoch` already trained (non-zero when saved mid-epoch)
    double best_metric = 0;      // the best validation metric so far (for best.safetensors)
    std::string rng_state;       // Generator::state() of the global generator
    std::string config;          // the run's options, JSON
    Metadata extra;              // anything else a trainer wants to keep (strings)
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
// Throws an Error naming the file if it is not a safetensors file or not a Nabla checkpoint.
Checkpoint load_checkpoint(const std::string& path);
bool is_checkpoint(const std::string& path);  // a readable safetensors file whose metadata says nabla.checkpoint

// The model weights of `path`: a checkpoint's model.* part (or its ema.* part when `prefer_ema` and it has one),
// or every tensor of a plain state-dict file. `metadata`, if given, receives the file's metadata.
TensorMap load_weights(const std::string& path, bool prefer_ema = false, Metadata* metadata = nullptr);
// The metadata key that marks weights of a pruned network (nn/prune.h): its layers are narrower than the model
// class builds them, and loading first gives the model their shapes.
inline constexpr const char* kPrunedKey = "pruned";
// load_weights then module.load_state_dict(strict), with the file's name in any error. Weights marked pruned first
// narrow the module to their shapes (Module::adopt_shapes). Returns the file's metadata.
Metadata load_weights_into(Module& module, const std::string& path, bool strict = true, bool prefer_ema = false);

}  // namespace nabla::nn
