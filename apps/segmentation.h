// apps/segmentation.h — the mask-segmentation task (U²-Net's): `nabla train|eval|predict MODEL` for the models that
// map an RGB image to mask logits (tinyseg now; u2net and u2netp join it). The demo runs it too.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "apps/train_loop.h"

namespace nabla::apps {

struct SegmentationTrainOptions {
    std::string model = "tinyseg";
    std::string data;  // training pairs (images/ + masks/, or DUTS); "" = generated ellipses
    std::string val;   // held-out pairs; "" = the last 10% of --data
    int64_t size = 320, crop = 288;
    double lr = 1e-3;  // Adam, betas (0.9, 0.999), eps 1e-8, as U²-Net's train script
    TrainOptions train;
};

struct SegmentationEvalResult {
    int64_t images = 0;
    double mae = 0, max_f = 0;
};

TrainResult train_segmentation(SegmentationTrainOptions options);
// The side a segmentation model runs at: `size` when given (> 0); else the `size` the weights were trained at (the
// "config" metadata that checkpoints and `nabla export` files carry); else `fallback`. Eval, predict and serve use it,
// so shipped weights run at their training size (the shipped U2NETP, trained at 224, scores max F 0.965 there, 0.914 at
// 320).
int64_t segmentation_size(int64_t size, const std::string& weights, int64_t fallback);
// Where train_segmentation generates its default data for `model` (train/ and val/ inside).
std::string default_data_dir(const std::string& model);
// MAE and max F-measure (β² = 0.3) of the model's fused output over a folder of pairs, at each mask's own size. The
// model runs on `device`; the metrics are computed on the host.
SegmentationEvalResult evaluate_segmentation(const std::string& model, const std::string& weights,
                                             const std::string& data, int64_t size, Device device = kCPU);
// The model's fused output in [0, 1] for one RGB image [3, H, W] in [0, 1], computed at size x size, min-max
// normalised (U²-Net's normPRED) and resized back to H x W: [1, H, W] on the host. The model must be in eval mode; it
// runs on its own device (device_of), the image going there and its mask coming back.
Tensor predict_mask(nn::Module& model, const Tensor& image01, int64_t size);
// Writes <stem>.png (the mask, min-max normalised, at the image's size) and <stem>_overlay.png for each image of
// `input` (a file or a folder) into `output`, the model running on `device`; returns how many.
int64_t predict_segmentation(const std::string& model, const std::string& weights, const std::string& input,
                             const std::string& output, int64_t size, Device device = kCPU);

// Registers `nabla train|eval|predict <model>` for every segmentation model.
void add_segmentation_commands(CLI::App* train, CLI::App* eval, CLI::App* predict);

}  // namespace nabla::apps
