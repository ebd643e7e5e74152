// apps/segmentation.cpp — training, evaluation and prediction of mask-segmentation models (U²-Net's task).
//
// Training follows U²-Net's train script: Adam (lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay) on the sum
// of BCE terms of every output (the fused map and the side outputs), the preprocessing of apps/segmentation_data.h,
// and validation by MAE and max F-measure (β² = 0.3) at the training resolution. Evaluation and prediction run the
// model at size×size and resize the fused output back to each image's own size, as U²-Net's test script does.
#include "apps/segmentation.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/data_check.h"
#include "apps/models.h"
#include "apps/progress.h"
#include "apps/salient_synth.h"
#include "apps/segmentation_data.h"
#include "autograd/grad_mode.h"
#include "models/u2net/loss.h"
#include "nn/checkpoint.h"
#include "nn/data/draw.h"
#include "nn/data/image.h"
#include "nn/data/transforms.h"
#include "nn/metrics.h"
#include "nn/optim/adam.h"
#include "ops/factory.h"
#include "ops/ops.h"

namespace nabla::apps {
namespace fs = std::filesystem;

namespace {

// Per-model defaults of the segmentation trainer.
struct SegmentationDefaults {
    std::string model;
    int64_t size, crop, epochs, batch;
    double lr;
    bool photo_data;  // default data: pairs composited from data/photos (else the quick ellipses)
};

const std::vector<SegmentationDefaults>& segmentation_models() {
    static const std::vector<SegmentationDefaults> models{
        {.model = "tinyseg", .size = 64, .crop = 56, .epochs = 8, .batch = 8, .lr = 1e-2, .photo_data = false},
        // U²-Net's recipe (resize 320, crop 288, Adam 1e-3); batches sized for a CPU (the paper used 12 on a GPU).
        {.model = "u2netp", .size = 320, .crop = 288, .epochs = 20, .batch = 4, .lr = 1e-3, .photo_data = true},
        {.model = "u2net", .size = 320, .crop = 288, .epochs = 20, .batch = 2, .lr = 1e-3, .photo_data = true},
    };
    return models;
}

const SegmentationDefaults& find_defaults(const std::string& model) {
    for (const auto& d : segmentation_models())
        if (d.model == model) return d;
    throw ValueError(fmt::format("{} is not a segmentation model", model));
}

std::shared_ptr<nn::Module> build_model(const std::string& name, const std::string& weights, Device device) {
    const ModelSpec& spec = find_model(name);
    auto model = spec.make(ModelArgs{});
    if (!weights.empty()) nn::load_weights_into(*model, weights, /*strict=*/true, /*prefer_ema=*/true);
    model->eval();
    model->to(device);
    return model;
}

// image | ground truth | prediction for the first examples of `dataset`, one row each; the model runs on its device.
void save_segmentation_samples(nn::Module& model, const data::Dataset& dataset, int64_t count,
                               const std::string& path) {
    std::vector<Tensor> tiles;
    Generator gen(0);
    const Device device = device_of(model);
    for (int64_t i = 0; i < std::min(count, dataset.size()); ++i) {
        const auto example = dataset.get(i, gen);
        const Tensor x = example[0].unsqueeze(0).to(device);
        const Tensor pred = sigmoid(model.call_outputs(x)[0]).squeeze(0).to(kCPU);  // [1, S, S]
        tiles.push_back(denormalize_for_display(example[0]));
        tiles.push_back(example[1].expand({3, example[1].size(1), example[1].size(2)}));
        tiles.push_back(pred.expand({3, pred.size(1), pred.size(2)}));
    }
    if (!tiles.empty()) data::save_image(stack(tiles), path, {.nrow = 3});
}

void add_common_options(CLI::App* cmd, std::string& weights, int64_t& size, Device& device,
                        const SegmentationDefaults& d) {
    cmd->add_option("--weights", weights,
                    "Weights: a checkpoint (its EMA weights if it has them) or a plain safetensors state dict "
                    "(default: the shipped " +
                        shipped_weights_path(d.model) + ", when it exists)")
        ->check(CLI::ExistingFile);
    size = 0;
    cmd->add_option("--size", size,
                    fmt::format("The side the model runs at, images resized to size x size (0: the size the weights "
                                "were trained at, from their config; {} without one)",
                                d.size))
        ->capture_default_str();
    add_device_option(cmd, device,
                      "where the model runs; each resized image is copied there and its mask back to the host, where "
                      "it is resized to the image, scored and saved");
}

}  // namespace

Tensor predict_mask(nn::Module& model, const Tensor& image01, int64_t size) {
    autograd::NoGradGuard no_grad;
    const Int2 original{image01.size(1), image01.size(2)};
    const Tensor x = normalize_for_segmentation(data::resize(image01, {size, size})).unsqueeze(0);
    Tensor p = sigmoid(model.call_outputs(x.to(device_of(model)))[0]).to(kCPU);  // [1, 1, S, S] on the host
    const double lo = min(p).item<double>(), hi = max(p).item<double>();
    p = hi - lo > 1e-12 ? (p - lo) / (hi - lo) : p;
    return clamp(data::resize(p, original), 0.0, 1.0).squeeze(0);
}

int64_t segmentation_size(int64_t size, const std::string& weights, int64_t fallback) {
    if (size > 0) return size;
    return weights.empty() ? fallback : config_int(config_of_weights(weights), "size", fallback);
}

std::string default_data_dir(const std::string& model) {
    return find_defaults(model).photo_data ? "data/generated/salient" : "data/generated/ellipses";
}

TrainResult train_segmentation(SegmentationTrainOptions o) {
    prepare_run(o.train, o.model);
    const ModelSpec& spec = find_model(o.model);
    std::vector<data::ImagePair> train_pairs, val_pairs;
    if (o.data.empty()) {
        const bool photos = find_defaults(o.model).photo_data;
        o.data = default_data_dir(o.model);
        if (!fs::exists(fs::path(o.data) / "val" / "images")) {
            fmt::print("generating synthetic image/mask pairs in {}\n", o.data);
            if (photos) {
                generate_salient_pairs(o.data, {});
            } else {
                generate_ellipse_pairs((fs::path(o.data) / "train").string(), 256, 96, 1);
                generate_ellipse_pairs((fs::path(o.data) / "val").string(), 32, 96, 2);
            }
        }
        if (o.val.empty()) o.val = (fs::path(o.data) / "val").string();
        o.data = (fs::path(o.data) / "train").string();
    }
    train_pairs = find_segmentation_pairs(o.data);
    if (!o.val.empty()) {
        val_pairs = find_segmentation_pairs(o.val);
    } else {  // hold out the last 10%
        const size_t held = std::max<size_t>(1, train_pairs.size() / 10);
        if (train_pairs.size() < 2)
            throw Error(fmt::format("train {}: {} has only {} pair(s)", o.model, o.data, train_pairs.size()));
        val_pairs.assign(train_pairs.end() - static_cast<ptrdiff_t>(held), train_pairs.end());
        train_pairs.resize(train_pairs.size() - held);
    }
    const auto files = [](const data::ImagePair& p) { return std::vector<std::string>{p.image, p.mask}; };
    train_pairs = drop_corrupt("train", train_pairs, files, o.train.strict_data);
    val_pairs = drop_corrupt("val", val_pairs, files, o.train.strict_data);
    fmt::print("train {}: {} training pairs from {}, {} validation pairs, size {} crop {}, batch {}, Adam lr {}\n",
               o.model, train_pairs.size(), o.data, val_pairs.size(), o.size, o.crop, o.train.batch, o.lr);

    auto train_set = std::make_shared<SegmentationDataset>(train_pairs, SegmentationTransform{o.size, o.crop, true});
    auto val_set = std::make_shared<SegmentationDataset>(val_pairs, SegmentationTransform{o.size, 0, false});
    data::DataLoader loader(train_set, for_this_run(o.train, {.batch_size = o.train.batch,
                                                              .shuffle = true,
                                                              .drop_last = true,
                                                              .num_workers = o.train.workers,
                                                              .seed = o.train.seed,
                                                              .skip_errors = !o.train.strict_data}));
    if (loader.size() == 0)
        throw Error(fmt::format("train {}: {} training pairs make no full batch of {}", o.model, train_pairs.size(),
                                o.train.batch));
    data::DataLoader val_loader(val_set, {.batch_size = o.train.batch, .num_workers = o.train.workers});

    auto model = spec.make(ModelArgs{});
    load_initial_weights(o.train, *model);
    optim::Adam adam(model->parameters(), {.lr = o.lr, .betas = {0.9, 0.999}, .eps = 1e-8, .weight_decay = 0});

    nlohmann::ordered_json config{
        {"task", "segmentation"}, {"model", o.model},    {"data", o.data}, {"val", o.val},
        {"size", o.size},         {"crop", o.crop},      {"lr", o.lr},     {"epochs", o.train.epochs},
        {"batch", o.train.batch}, {"seed", o.train.seed}};
    TrainTask task;
    task.model = model.get();
    task.optimizer = &adam;
    task.loader = &loader;
    task.loss = [&](const Batch& b, Logs&) { return models::u2net_loss(model->call_outputs(b[0]), b[1]); };
    task.validate = [&] {  // the model on its device (fit() put it on --device), the metrics on the host
        const Device device = device_of(*model);
        metrics::SaliencyMetrics m;
        double loss = 0;
        int64_t n = 0;
        for (auto& b : val_loader) {
            const auto outputs = model->call_outputs(b[0].to(device));
            loss += models::u2net_loss(outputs, b[1].to(device)).item<double>() * static_cast<double>(b[0].size(0));
            n += b[0].size(0);
            m.update(sigmoid(outputs[0]).to(kCPU), b[1]);
        }
        return Logs{{"val/loss", loss / static_cast<double>(std::max<int64_t>(n, 1))},
                    {"val/mae", m.mae()},
                    {"val/maxf", m.max_f()}};
    };
    task.best_metric = "val/maxf";
    task.maximize = true;
    task.save_samples = [&](const std::string& path) { save_segmentation_samples(*model, *val_set, 4, path); };
    task.config_json = config.dump();
    TrainResult r = fit(o.train, task);
    fmt::print("train {}: loss {:.4f} -> {:.4f} in {} steps; {}; results in {}\n", o.model, r.first_loss, r.last_loss,
               r.steps, best_text(r, "val/maxf"), r.run_dir);
    return r;
}

SegmentationEvalResult evaluate_segmentation(const std::string& model_name, const std::string& weights,
                                             const std::string& dir, int64_t size, Device device) {
    auto model = build_model(model_name, weights, device);
    const auto pairs = find_segmentation_pairs(dir);
    metrics::SaliencyMetrics m;
    ProgressBar bar("eval " + model_name, static_cast<int64_t>(pairs.size()));
    for (const auto& pair : pairs) {
        const Tensor image = data::to_tensor(data::read_image(pair.image, data::ImageMode::RGB));
        const Tensor gt = mask_to_unit(data::read_image(pair.mask, data::ImageMode::Gray));
        if (gt.size(1) != image.size(1) || gt.size(2) != image.size(2))
            throw ShapeError(fmt::format("eval: {} is {}x{} but its mask {} is {}x{}", pair.image, image.size(2),
                                         image.size(1), pair.mask, gt.size(2), gt.size(1)));
        m.update(predict_mask(*model, image, size).unsqueeze(0), gt.unsqueeze(0));
        bar.update();
    }
    bar.close();
    return {m.num_images(), m.mae(), m.max_f()};
}

int64_t predict_segmentation(const std::string& model_name, const std::string& weights, const std::string& input,
                             const std::string& output, int64_t size, Device device) {
    auto model = build_model(model_name, weights, device);
    const std::vector<std::string> files =
        fs::is_directory(input) ? data::list_images(input) : std::vector<std::string>{input};
    fs::create_directories(output);
    ProgressBar bar("predict " + model_name, static_cast<int64_t>(files.size()));
    for (const auto& file : files) {
        const Tensor image = data::to_tensor(data::read_image(file, data::ImageMode::RGB));
        const Tensor mask = predict_mask(*model, image, size);  // [1, H, W]
        const std::string stem = fs::path(file).stem().string();
        data::write_png((fs::path(output) / (stem + ".png")).string(), data::to_uint8(mask));
        data::write_png((fs::path(output) / (stem + "_overlay.png")).string(),
                        data::to_uint8(data::overlay_mask(image, mask, {1.0, 0.2, 0.2}, 0.5)));
        bar.update();
    }
    bar.close();
    return static_cast<int64_t>(files.size());
}

void add_segmentation_commands(CLI::App* train, CLI::App* eval, CLI::App* predict) {
    for (const auto& d : segmentation_models()) {
        const std::string what = find_model(d.model).description;
        {
            auto o = std::make_shared<SegmentationTrainOptions>();
            o->model = d.model, o->size = d.size, o->crop = d.crop, o->lr = d.lr;
            o->train.epochs = d.epochs, o->train.batch = d.batch;
            auto* cmd = train->add_subcommand(d.model, "Train " + d.model + ", " + what);
            cmd->add_option("--data", o->data,
                            "Training pairs: a folder with images/ and masks/ (same stems; masks "
                            "0/255 or 0/1 grey PNG), DUTS' *-Image/ and *-Mask/, or a list file "
                            "of 'image mask' lines; default: " +
                                std::string(d.photo_data ? "pairs composited from data/photos into "
                                                           "data/generated/salient"
                                                         : "generated ellipses in data/generated/ellipses"));
            cmd->add_option("--val", o->val, "Validation pairs, same layout (default: the last 10% of --data)");
            cmd->add_option("--size", o->size, "Resize images and masks to size x size")->capture_default_str();
            cmd->add_option("--crop", o->crop, "Random training crop (0: none)")->capture_default_str();
            cmd->add_option("--lr", o->lr, "Adam learning rate")->capture_default_str()->check(finite_non_negative());
            add_train_options(cmd, o->train);
            cmd->callback([o] { train_segmentation(*o); });
        }
        {
            struct EvalOptions {
                std::string weights, data, json;
                int64_t size = 0;
                Device device = kCPU;
            };
            auto o = std::make_shared<EvalOptions>();
            auto* cmd = eval->add_subcommand(d.model, "Evaluate " + d.model +
                                                          ": MAE and max F-measure (beta^2 = 0.3) "
                                                          "over a folder of image/mask pairs");
            add_common_options(cmd, o->weights, o->size, o->device, d);
            cmd->add_option("--data", o->data,
                            "Pairs: images/ + masks/, DUTS' *-Image/ + *-Mask/, or a list file of 'image mask' lines")
                ->required();
            cmd->add_option("--json", o->json, "Also write the result to this JSON file");
            cmd->callback([o, name = d.model] {
                const std::string weights = resolve_weights(o->weights, name, "eval");
                const auto r = evaluate_segmentation(
                    name, weights, o->data, segmentation_size(o->size, weights, find_defaults(name).size), o->device);
                const nlohmann::ordered_json j{
                    {"model", name}, {"data", o->data}, {"images", r.images}, {"mae", r.mae}, {"max_f", r.max_f}};
                fmt::print("{}\n", j.dump());
                if (!o->json.empty()) std::ofstream(o->json) << j.dump(2) << "\n";
            });
        }
        {
            struct PredictOptions {
                std::string weights, input, output;
                int64_t size = 0;
                Device device = kCPU;
            };
            auto o = std::make_shared<PredictOptions>();
            auto* cmd = predict->add_subcommand(d.model, "Predict masks with " + d.model +
                                                             ": <stem>.png (grey mask at "
                                                             "the image's size) and <stem>_overlay.png");
            add_common_options(cmd, o->weights, o->size, o->device, d);
            cmd->add_option("--input", o->input, "An image or a folder of images")->required();
            cmd->add_option("--output", o->output, "Folder for the masks and overlays")->required();
            cmd->callback([o, name = d.model] {
                const std::string weights = resolve_weights(o->weights, name, "predict");
                const int64_t n =
                    predict_segmentation(name, weights, o->input, o->output,
                                         segmentation_size(o->size, weights, find_defaults(name).size), o->device);
                fmt::print("predict {}: {} image(s) -> {}\n", name, n, o->output);
            });
        }
    }
}

}  // namespace nabla::apps
