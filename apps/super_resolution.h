// apps/super_resolution.h — the ×2 super-resolution task (PANet's): `nabla train|eval|predict panet`. The demo
// (`nabla demo --model panet`) runs it too.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "apps/super_resolution_data.h"
#include "apps/train_loop.h"

namespace nabla::apps {

struct SROptions {
    std::string recipe = "blog";       // or "sr" (apply_sr_recipe)
    std::string data = "data/photos";  // any folder of photos, searched recursively
    std::string val;                   // held-out photos; "" = every fourth photo of `data` (held_out_split)
    int64_t crop = 96, crops_per_image = 16;
    std::string degradation = "maxpool";  // or "bicubic"
    double lr = 1e-4, gamma = 0.1;        // AdamW; the lr is multiplied by gamma at each milestone epoch
    std::vector<int64_t> milestones{20, 40};
    std::vector<std::string> set;  // model arguments KEY=VALUE (channels, blocks, level)
    TrainOptions train;
};

// PSNR and SSIM on [0, 1] (data range 1), averaged over images, of the model and of bicubic upscaling of the same
// low-resolution input.
struct SREvalResult {
    int64_t images = 0;
    double psnr = 0, ssim = 0, psnr_bicubic = 0, ssim_bicubic = 0;
};

TrainResult train_panet(SROptions options);

// Which photos of a folder are held out when no --val is given: every fourth (sorted by path); the bundled horse
// silhouette is no photo and is in neither. `index` counts the folder's usable images in path order.
enum class SRSplit { All, Train, HeldOut };
bool in_split(SRSplit split, size_t index, const std::string& path);
SRSplit parse_split(const std::string& name);  // "all" | "train" | "held-out"

// The degradation to score `weights` with: `given` when not empty, else the one its training run used (the
// "degradation" of its config), else the blog's maxpool.
std::string degradation_for_weights(const std::string& given, const std::string& weights);

// Every image of `dir` in `split` (cropped to even sides) is the HR reference; the LR input is made by
// `degradation`; the model upscales it in tiles on `device` (the metrics on the host). With `samples_dir`, also saves
// <stem>_compare.png there: bicubic | model | ground truth.
SREvalResult evaluate_panet(const std::vector<std::string>& set, const std::string& weights, const std::string& dir,
                            SRSplit split, const std::string& degradation, const Tiling& tiling,
                            const std::string& samples_dir = "", Device device = kCPU);
// Writes <stem>_x2.png for each image of `input` (a file or a folder) into `output`, the model running on `device`;
// returns how many.
int64_t predict_panet(const std::vector<std::string>& set, const std::string& weights, const std::string& input,
                      const std::string& output, const Tiling& tiling, Device device = kCPU);

}  // namespace nabla::apps
