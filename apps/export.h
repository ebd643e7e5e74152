// apps/export.h — `nabla export MODEL --weights CKPT --output FILE [--half]`: a training checkpoint's weights alone, as
// the file the project ships (data/weights/<model>.safetensors, which eval, predict, val, detect and serve use when no
// --weights is given; apps/models.h resolve_weights).
//   nabla export u2netp --weights runs/u2netp/weights/best.safetensors --output data/weights/u2netp.safetensors --half
// The file is a plain state dict (nn/checkpoint.h load_weights): the checkpoint's EMA weights when it has them, else
// its model weights; no optimizer, scheduler or RNG state. Its metadata keeps what a loader reads — "config" (the run's
// options: a detector's names and depth_multiple), "pruned" and the other keys the trainer kept — and records where
// the weights came from:
//   nabla.source            the checkpoint's file name
//   nabla.weights           "ema", "model" or "state dict" (the input was already a plain state dict)
//   nabla.epoch, nabla.step the checkpoint's counters
//   nabla.best_metric       the run's best validation metric up to the checkpoint (best.safetensors': its own), and
//   nabla.best_metric_name  the metric it is ("val/maxf", "val/psnr", "val/nme", "fitness"), when the task is known
// With --half every float32 tensor is stored as F16 (nn/safetensors.h SaveOptions::half); one with a finite value
// beyond half's range (65504) stays F32, with a line saying so. The weights are loaded into the model before and
// after writing (strictly, as eval does), and the file is read back (checksums verified) to measure the rounding.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "nn/safetensors.h"

namespace nabla::apps {

struct ExportOptions {
    std::string model;    // a model of the registry: the weights must load into it
    std::string weights;  // a checkpoint or a plain state dict
    std::string output;   // the file to write (its folder is created)
    bool half = false;    // float32 stored as F16
    // Constructor arguments for building the model to check the weights against ("key=value"); empty: the
    // checkpoint's own (its config's "set"), as it was trained.
    std::vector<std::string> set;
};

struct ExportResult {
    std::string weights_part;                   // "ema", "model" or "state dict"
    int64_t tensors = 0, half_tensors = 0;      // half_tensors: stored as F16
    std::vector<std::string> kept_float32;      // float32 tensors --half kept as F32 (a value beyond 65504)
    int64_t bytes_before = 0, bytes_after = 0;  // the tensors' data as in the checkpoint (float32) and as written
    int64_t file_before = 0, file_after = 0;    // the checkpoint's and the output's sizes on disk
    double max_abs_error = 0;                   // max |written - original| over every element, as read back
    std::string max_error_tensor;               // the tensor where it is ("" when nothing changed)
    Metadata metadata;                          // what the output carries (without its checksums)
};

// Writes o.output and prints what it did (which weights, each tensor kept F32, the counts, bytes before -> after and
// the largest rounding error). Errors name the file: weights that do not load into o.model, --output naming the
// checkpoint itself.
ExportResult export_weights(const ExportOptions& o);

}  // namespace nabla::apps
