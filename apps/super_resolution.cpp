// apps/super_resolution.cpp — `nabla train|eval|predict panet`: ×2 super-resolution as the reference blog trains
// PANet (random 96×96 HR crops, random flips, [−1, 1] pixels, L1 loss, AdamW lr 1e-4, ×0.1 at epochs 20 and 40),
// with PSNR and SSIM computed correctly on [0, 1] (data range 1; the blog's PSNR used 255² on [−1, 1] data and
// read 42 dB too high) and always next to plain bicubic upscaling of the same input.
#include "apps/super_resolution.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/models.h"
#include "apps/progress.h"
#include "apps/super_resolution_data.h"
#include "apps/train_loop.h"
#include "autograd/grad_mode.h"
#include "models/panet/loss.h"
#include "nn/checkpoint.h"
#include "nn/data/draw.h"
#include "nn/data/folder.h"
#include "nn/data/image.h"
#include "nn/data/transforms.h"
#include "nn/metrics.h"
#include "nn/optim/adam.h"
#include "nn/optim/lr_scheduler.h"
#include "ops/factory.h"
#include "ops/ops.h"

namespace nabla::apps {
namespace fs = std::filesystem;

namespace {

constexpr double kSRRecipeLr = 5e-4;  // --recipe sr's AdamW learning rate (measured: docs/panet.md §4)

Tensor bicubic_x2(const Tensor& lr) {  // [N, 3, h, w] -> [N, 3, 2h, 2w], the baseline every number is compared with
    return clamp(interpolate(lr, {.size = Int2{2 * lr.size(-2), 2 * lr.size(-1)}, .mode = InterpolateMode::Bicubic}),
                 -1.0, 1.0);
}

// Keeps the images of `split`; `names` are their paths, in the order load_sr_images read them, and are filtered
// alongside when given.
std::vector<Tensor> select(std::vector<Tensor> images, const std::vector<std::string>& names, SRSplit split,
                           std::vector<std::string>* kept_names = nullptr) {
    std::vector<Tensor> keep;
    for (size_t i = 0; i < images.size(); ++i) {
        if (!in_split(split, i, names[i])) continue;
        keep.push_back(std::move(images[i]));
        if (kept_names) kept_names->push_back(names[i]);
    }
    return keep;
}

std::shared_ptr<nn::Module> load_panet(const std::vector<std::string>& set, const std::string& weights, Device device) {
    ModelArgs args(set_for_weights(set, weights));
    auto model = find_model("panet").make(args);
    args.check_all_used("panet");
    if (!weights.empty()) nn::load_weights_into(*model, weights, /*strict=*/true, /*prefer_ema=*/true);
    model->eval();
    model->to(device);
    return model;
}

// --recipe sr, the SR papers' practice instead of the blog's (docs/panet.md §4): the network learns the residual
// over bicubic upscaling without BatchNorm, from bicubic-degraded inputs, at a larger learning rate. What the user
// set explicitly (a --set key, --degradation, --lr) stays as given.
void apply_sr_recipe(SROptions& o, const CLI::App& cmd) {
    if (o.recipe != "sr") return;
    auto given = [&](const std::string& key) {
        return std::any_of(o.set.begin(), o.set.end(),
                           [&](const std::string& kv) { return kv.rfind(key + "=", 0) == 0; });
    };
    if (!given("skip")) o.set.push_back("skip=bicubic");
    if (!given("norm")) o.set.push_back("norm=none");
    if (cmd.count("--degradation") == 0) o.degradation = "bicubic";
    if (cmd.count("--lr") == 0) o.lr = kSRRecipeLr;
}

}  // namespace

TrainResult train_panet(SROptions o) {
    prepare_run(o.train, "panet");
    const Degradation degradation = parse_degradation(o.degradation);
    std::vector<std::string> names;
    std::vector<Tensor> train_images = load_sr_images(o.data, o.crop, &names, o.train.strict_data), val_images;
    if (o.val.empty()) {
        val_images = select(train_images, names, SRSplit::HeldOut);
        train_images = select(std::move(train_images), names, SRSplit::Train);
    } else {
        val_images = load_sr_images(o.val, o.crop, nullptr, o.train.strict_data);
    }
    if (train_images.empty() || val_images.empty())
        throw Error(fmt::format("train panet: need training and held-out images; got {} and {}", train_images.size(),
                                val_images.size()));
    fmt::print("train panet: {} training and {} held-out images, HR crops {}, LR by {}, batch {}, AdamW lr {}\n",
               train_images.size(), val_images.size(), o.crop, o.degradation, o.train.batch, o.lr);
    auto train_set = std::make_shared<SRDataset>(train_images, o.crop, degradation, true, o.crops_per_image);
    auto val_set = std::make_shared<SRDataset>(val_images, o.crop, degradation, false, 1);
    data::DataLoader loader(train_set, for_this_run(o.train, {.batch_size = o.train.batch,
                                                              .shuffle = true,
                                                              .drop_last = true,
                                                              .num_workers = o.train.workers,
                                                              .seed = o.train.seed}));
    data::DataLoader val_loader(val_set, {.batch_size = o.train.batch});

    ModelArgs args(o.set);
    auto model = find_model("panet").make(args);
    args.check_all_used("panet");
    load_initial_weights(o.train, *model);
    optim::AdamW adamw(model->parameters(), {.lr = o.lr});
    optim::MultiStepLR scheduler(adamw, o.milestones, o.gamma);

    TrainTask task;
    task.model = model.get();
    task.optimizer = &adamw;
    task.scheduler = &scheduler;
    task.loader = &loader;
    task.loss = [&](const Batch& b, Logs&) { return models::panet_loss((*model)(b[0]), b[1]); };
    task.validate = [&] {  // the model on its device (fit() put it on --device), bicubic and the metrics on the host
        const Device device = device_of(*model);
        double psnr = 0, ssim = 0, psnr_bic = 0, ssim_bic = 0;
        int64_t n = 0;
        for (auto& b : val_loader) {
            const Tensor hr = to_unit(b[1]), sr = to_unit((*model)(b[0].to(device)).to(kCPU)),
                         bic = to_unit(bicubic_x2(b[0]));
            for (double v : metrics::psnr_per_image(sr, hr, 1.0)) psnr += v;
            for (double v : metrics::ssim_per_image(sr, hr, 1.0)) ssim += v;
            for (double v : metrics::psnr_per_image(bic, hr, 1.0)) psnr_bic += v;
            for (double v : metrics::ssim_per_image(bic, hr, 1.0)) ssim_bic += v;
            n += b[0].size(0);
        }
        const double k = static_cast<double>(std::max<int64_t>(n, 1));
        return Logs{{"val/psnr", psnr / k},
                    {"val/ssim", ssim / k},
                    {"val/psnr_bicubic", psnr_bic / k},
                    {"val/ssim_bicubic", ssim_bic / k}};
    };
    task.best_metric = "val/psnr";
    task.maximize = true;
    task.save_samples = [&](const std::string& path) {  // bicubic | PANet | ground truth, one row per held-out crop
        std::vector<Tensor> tiles;
        Generator gen(0);
        const Device device = device_of(*model);
        for (int64_t i = 0; i < std::min<int64_t>(4, val_set->size()); ++i) {
            const auto ex = val_set->get(i, gen);
            const Tensor lr = ex[0].unsqueeze(0);
            tiles.push_back(to_unit(bicubic_x2(lr)).squeeze(0));
            tiles.push_back(to_unit((*model)(lr.to(device)).to(kCPU)).squeeze(0));
            tiles.push_back(to_unit(ex[1]));
        }
        data::save_image(stack(tiles), path, {.nrow = 3});
    };
    task.config_json = nlohmann::ordered_json{
        {"task", "super_resolution"},
        {"model", "panet"},
        {"recipe", o.recipe},
        {"data", o.data},
        {"crop", o.crop},
        {"degradation", o.degradation},
        {"lr", o.lr},
        {"milestones", o.milestones},
        {"epochs", o.train.epochs},
        {"batch", o.train.batch},
        {"seed", o.train.seed},
        {"set", o.set}}.dump();
    TrainResult r = fit(o.train, task);
    fmt::print("train panet: L1 {:.4f} -> {:.4f} in {} steps; {}; results in {}\n", r.first_loss, r.last_loss, r.steps,
               best_text(r, "val/psnr", " dB"), r.run_dir);
    return r;
}

bool in_split(SRSplit split, size_t index, const std::string& path) {
    if (split == SRSplit::All) return true;
    if (fs::path(path).stem() == "horse_silhouette") return false;
    return (index % 4 == 3) == (split == SRSplit::HeldOut);
}

SRSplit parse_split(const std::string& name) {
    if (name == "all") return SRSplit::All;
    if (name == "train") return SRSplit::Train;
    if (name == "held-out") return SRSplit::HeldOut;
    throw ValueError(fmt::format("super-resolution: unknown split '{}' (all, train or held-out)", name));
}

std::string degradation_for_weights(const std::string& given, const std::string& weights) {
    if (!given.empty()) return given;
    const std::string own = config_string(config_of_weights(weights), "degradation", SROptions{}.degradation);
    try {
        parse_degradation(own);
    } catch (const ValueError&) {
        throw ValueError(
            fmt::format("{}: its run config's degradation '{}' is neither maxpool nor bicubic; give "
                        "--degradation",
                        weights, own));
    }
    return own;
}

SREvalResult evaluate_panet(const std::vector<std::string>& set, const std::string& weights, const std::string& dir,
                            SRSplit split, const std::string& degradation_name, const Tiling& tiling,
                            const std::string& samples_dir, Device device) {
    auto model = load_panet(set, weights, device);
    const Degradation degradation = parse_degradation(degradation_name);
    std::vector<std::string> names;
    std::vector<std::string> kept;
    const auto images = select(load_sr_images(dir, 2 * 8, &names), names, split, &kept);
    if (images.empty()) throw Error(fmt::format("eval panet: no image of {} is in the split", dir));
    if (!samples_dir.empty()) fs::create_directories(samples_dir);
    SREvalResult r;
    ProgressBar bar("eval panet", static_cast<int64_t>(images.size()));
    for (size_t i = 0; i < images.size(); ++i) {
        const Tensor& image = images[i];
        const int64_t h = image.size(1) / 2 * 2, w = image.size(2) / 2 * 2;
        const Tensor hr = data::to_tensor(image.narrow(1, 0, h).narrow(2, 0, w)) * 2.0 - 1.0;
        const Tensor lr = degrade(hr, degradation);
        const Tensor sr = to_unit(upscale_tiled(*model, lr, tiling)).unsqueeze(0);
        const Tensor bic = to_unit(bicubic_x2(lr.unsqueeze(0))), ref = to_unit(hr).unsqueeze(0);
        r.psnr += metrics::psnr(sr, ref, 1.0), r.ssim += metrics::ssim(sr, ref, 1.0);
        r.psnr_bicubic += metrics::psnr(bic, ref, 1.0), r.ssim_bicubic += metrics::ssim(bic, ref, 1.0);
        if (!samples_dir.empty())  // bicubic | PANet | ground truth, side by side
            data::save_image(cat({bic, sr, ref}, 0),
                             (fs::path(samples_dir) / (fs::path(kept[i]).stem().string() + "_compare.png")).string(),
                             {.nrow = 3});
        bar.update();
    }
    bar.close();
    r.images = static_cast<int64_t>(images.size());
    const double n = static_cast<double>(r.images);
    r.psnr /= n, r.ssim /= n, r.psnr_bicubic /= n, r.ssim_bicubic /= n;
    return r;
}

int64_t predict_panet(const std::vector<std::string>& set, const std::string& weights, const std::string& input,
                      const std::string& output, const Tiling& tiling, Device device) {
    auto model = load_panet(set, weights, device);
    const std::vector<std::string> files =
        fs::is_directory(input) ? data::list_images(input) : std::vector<std::string>{input};
    fs::create_directories(output);
    ProgressBar bar("predict panet", static_cast<int64_t>(files.size()));
    for (const auto& file : files) {
        const Tensor lr = data::to_tensor(data::read_image(file, data::ImageMode::RGB)) * 2.0 - 1.0;
        const Tensor sr = to_unit(upscale_tiled(*model, lr, tiling));
        data::write_png((fs::path(output) / (fs::path(file).stem().string() + "_x2.png")).string(), data::to_uint8(sr));
        bar.update();
    }
    bar.close();
    fmt::print("predict panet: {} image(s) upscaled x2 -> {}\n", files.size(), output);
    return static_cast<int64_t>(files.size());
}

void add_super_resolution_commands(CLI::App* train, CLI::App* eval, CLI::App* predict) {
    {
        auto o = std::make_shared<SROptions>();
        o->train.epochs = 50, o->train.batch = 4;
        auto* cmd = train->add_subcommand("panet", "Train PANet, x2 super-resolution with pyramid attention");
        cmd->add_option("--recipe", o->recipe,
                        "blog: the reference blog's network and training as they are (BatchNorm, the whole picture "
                        "through a Tanh, 2x2 max-pool LR, lr 1e-4); sr: the SR papers' practice, learning the residual "
                        "over bicubic: "
                        "--set skip=bicubic --set norm=none, --degradation bicubic and --lr " +
                            fmt::format("{:g}", kSRRecipeLr) + " unless given (docs/panet.md §4)")
            ->capture_default_str()
            ->check(CLI::IsMember({"blog", "sr"}));
        cmd->add_option("--data", o->data,
                        "A folder of images (searched recursively; JPEG/PNG/BMP); unreadable files "
                        "are reported and skipped")
            ->capture_default_str();
        cmd->add_option("--val", o->val, "Held-out images (default: every fourth image of --data)");
        cmd->add_option("--crop", o->crop, "HR crop side (the LR input is half)")->capture_default_str();
        cmd->add_option("--crops-per-image", o->crops_per_image, "Random crops of every image per epoch")
            ->capture_default_str();
        cmd->add_option("--degradation", o->degradation,
                        "How the LR input is made: maxpool (2x2, the reference "
                        "blog) or bicubic (antialiased, as SR papers)")
            ->capture_default_str()
            ->check(CLI::IsMember({"maxpool", "bicubic"}));
        cmd->add_option("--lr", o->lr, "AdamW learning rate")->capture_default_str()->check(finite_non_negative());
        cmd->add_option("--milestones", o->milestones, "Epochs at which the learning rate is multiplied by --gamma")
            ->capture_default_str();
        cmd->add_option("--gamma", o->gamma, "Learning-rate factor at each milestone")->capture_default_str();
        cmd->add_option("--set", o->set,
                        "Model argument KEY=VALUE (repeatable): channels=64, blocks=24, level=4, skip=none|bicubic "
                        "(bicubic: learn the residual over bicubic upscaling), norm=batch|none (none: no BatchNorm "
                        "in the body); the weights file keeps them for eval and predict");
        add_train_options(cmd, o->train);
        cmd->callback([o, cmd] {
            apply_sr_recipe(*o, *cmd);
            train_panet(*o);
        });
    }
    auto common = [](CLI::App* cmd, std::string& weights, Tiling& tiling, std::vector<std::string>& set,
                     Device& device) {
        cmd->add_option("--weights", weights,
                        "Weights (a checkpoint, its EMA if any, or a plain state dict; default: the shipped " +
                            shipped_weights_path("panet") + ", when it exists)")
            ->check(CLI::ExistingFile);
        cmd->add_option("--tile", tiling.tile,
                        "LR tile side: images are upscaled in overlapping tiles of this size, "
                        "the attention's cost growing with the square of a tile's area")
            ->capture_default_str()
            ->check(CLI::Range(1, 100000));
        cmd->add_option("--tile-overlap", tiling.overlap,
                        "LR pixels shared by neighbouring tiles, blended (less than --tile)")
            ->capture_default_str()
            ->check(CLI::Range(0, 100000));
        cmd->add_option("--tile-batch", tiling.batch, "Tiles per forward pass (memory grows with it)")
            ->capture_default_str()
            ->check(CLI::Range(1, 100000));
        cmd->add_option("--set", set,
                        "Model argument KEY=VALUE, as in training (default: the training run's, read from the weights "
                        "file)");
        add_device_option(cmd, device,
                          "where PANet runs; each batch of tiles is copied there and its output back to the host, "
                          "where the tiles are blended (and bicubic, PSNR and SSIM computed)");
    };
    {
        struct EvalArgs {
            // The training defaults: the bundled photos; the degradation is the weights' own (below).
            std::string weights, data = SROptions{}.data, split = "all", degradation, json, samples;
            Tiling tiling;
            std::vector<std::string> set;
            Device device = kCPU;
        };
        auto o = std::make_shared<EvalArgs>();
        auto* cmd = eval->add_subcommand("panet",
                                         "PSNR and SSIM (on [0, 1]) of PANet and of bicubic upscaling on a folder "
                                         "of images used as HR");
        common(cmd, o->weights, o->tiling, o->set, o->device);
        cmd->add_option("--data", o->data, "Folder of HR images (searched recursively)")->capture_default_str();
        cmd->add_option("--split", o->split,
                        "Which images of --data: all, or the training run's default split of "
                        "it (train, held-out: every fourth image)")
            ->capture_default_str()
            ->check(CLI::IsMember({"all", "train", "held-out"}));
        cmd->add_option("--degradation", o->degradation,
                        "maxpool or bicubic (default: the one the weights were trained with, read from the weights "
                        "file; maxpool when it does not say)")
            ->check(CLI::IsMember({"maxpool", "bicubic"}));
        cmd->add_option("--json", o->json, "Also write the result to this JSON file");
        cmd->add_option("--samples", o->samples, "Also save bicubic | PANet | ground truth pictures into this folder");
        cmd->callback([o] {
            const std::string weights = resolve_weights(o->weights, "panet", "eval");
            const std::string degradation = degradation_for_weights(o->degradation, weights);
            const SREvalResult r = evaluate_panet(o->set, weights, o->data, parse_split(o->split), degradation,
                                                  o->tiling, o->samples, o->device);
            const nlohmann::ordered_json j{{"model", "panet"},
                                           {"data", o->data},
                                           {"split", o->split},
                                           {"images", r.images},
                                           {"degradation", degradation},
                                           {"psnr", r.psnr},
                                           {"ssim", r.ssim},
                                           {"psnr_bicubic", r.psnr_bicubic},
                                           {"ssim_bicubic", r.ssim_bicubic}};
            fmt::print("{}\n", j.dump());
            if (!o->json.empty()) std::ofstream(o->json) << j.dump(2) << "\n";
        });
    }
    {
        struct PredictArgs {
            std::string weights, input, output;
            Tiling tiling;
            std::vector<std::string> set;
            Device device = kCPU;
        };
        auto o = std::make_shared<PredictArgs>();
        auto* cmd = predict->add_subcommand("panet", "Upscale images x2 with PANet: <stem>_x2.png");
        common(cmd, o->weights, o->tiling, o->set, o->device);
        cmd->add_option("--input", o->input, "An image or a folder of images")->required();
        cmd->add_option("--output", o->output, "Folder for the upscaled images")->required();
        cmd->callback([o] {
            predict_panet(o->set, resolve_weights(o->weights, "panet", "predict"), o->input, o->output, o->tiling,
                          o->device);
        });
    }
}

}  // namespace nabla::apps
