// apps/detection_train.h — `nabla train yolov5n|s|m|l|x`: YOLOv5 v6.0's training (train.py with hyp.scratch) on the
// shared trainer: SGD with Nesterov momentum in ultralytics' three parameter groups, the nominal batch of 64 by
// gradient accumulation, warmup of lr, momentum and the bias lr, a cosine (or linear) schedule per epoch, ModelEMA
// for validation and checkpoints, ComputeLoss, and the best checkpoint by fitness (0.1 mAP@.5 + 0.9 mAP@.5:.95).
// docs/yolo.md, docs/yolo_loss.md and docs/yolo_data.md describe the pieces.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "apps/train_loop.h"

namespace nabla::apps {

// hyp.scratch.yaml of v6.0, the hyperparameters train.py reads (the data augmentation ones are in AugmentHyp).
struct DetectionHyp {
    double lr0 = 0.01, lrf = 0.1, momentum = 0.937, weight_decay = 5e-4;
    double warmup_epochs = 3.0, warmup_momentum = 0.8, warmup_bias_lr = 0.1;
    double box = 0.05, cls = 0.5, obj = 1.0, anchor_t = 4.0, label_smoothing = 0.0;
};

struct DetectionTrainOptions {
    std::string model = "yolov5s";
    std::string data;        // a data.yaml or a folder holding one; "" = generated shapes (default_shapes_dir)
    int64_t img_size = 0;    // 0: 640, or 320 for the generated shapes
    bool adam = false;       // AdamW(lr0, betas (momentum, 0.999)) instead of SGD
    bool linear_lr = false;  // linear instead of cosine lr schedule
    int64_t nbs = 64;        // nominal batch size
    // The warmup lasts max(warmup_epochs epochs, this many) iterations: 1000 in v6.0's train.py, 100 in later
    // releases (the demo's short run uses 100).
    int64_t min_warmup_iterations = 1000;
    DetectionHyp hyp;
    TrainOptions train;  // epochs 300, batch 16 as train.py
};

std::string default_shapes_dir();  // data/generated/shapes
// ultralytics' three groups: BatchNorm weights (no decay), other weights (decay), biases (no decay) — in that order.
struct ParamGroups {
    std::vector<Tensor> bn_weights, weights, biases;
};
ParamGroups yolo_param_groups(nn::Module& model);
// lf(e) of train.py: cosine ((1 - cos(pi e / E)) / 2) (lrf - 1) + 1, or linear (1 - e / (E - 1)) (1 - lrf) + lrf.
double yolo_lr_lambda(int64_t epoch, int64_t epochs, double lrf, bool linear);
TrainResult train_detection(DetectionTrainOptions options);
// Registers `nabla train yolov5n|s|m|l|x`.
void add_detection_train_commands(CLI::App* train);

}  // namespace nabla::apps
