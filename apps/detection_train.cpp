// apps/detection_train.cpp — `nabla train yolov5*`: train.py of YOLOv5 v6.0 on the shared trainer (apps/train_loop.h).
#include "apps/detection_train.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/detection.h"
#include "apps/detection_data.h"
#include "apps/models.h"
#include "apps/shapes_synth.h"
#include "models/yolo/loss.h"
#include "models/yolo/yolo.h"
#include "nn/checkpoint.h"
#include "nn/optim/adam.h"
#include "nn/optim/ema.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/sgd.h"

namespace nabla::apps {
namespace fs = std::filesystem;

std::string default_shapes_dir() { return "data/generated/shapes"; }

ParamGroups yolo_param_groups(nn::Module& model) {
    ParamGroups g;
    for (const auto& [path, module] : model.named_modules()) {
        for (const auto& [name, p] : module->named_parameters(/*recurse=*/false)) {
            if (name == "bias")
                g.biases.push_back(p);
            else if (module->type_name() == "BatchNorm2d")
                g.bn_weights.push_back(p);
            else
                g.weights.push_back(p);
        }
    }
    return g;
}

double yolo_lr_lambda(int64_t epoch, int64_t epochs, double lrf, bool linear) {
    const double e = static_cast<double>(epoch), n = static_cast<double>(epochs);
    if (linear) return (1.0 - e / std::max(n - 1.0, 1.0)) * (1.0 - lrf) + lrf;
    return ((1.0 - std::cos(e * M_PI / n)) / 2.0) * (lrf - 1.0) + 1.0;
}

namespace {

// The optimizer of train.py: the three groups, weight decay only on the weights and scaled to the nominal batch.
std::unique_ptr<optim::Optimizer> make_optimizer(const DetectionTrainOptions& o, nn::Module& model,
                                                 double weight_decay) {
    ParamGroups g = yolo_param_groups(model);
    std::vector<optim::ParamGroup> groups;
    groups.emplace_back(g.bn_weights, optim::GroupOptions{.weight_decay = 0.0});
    groups.emplace_back(g.weights, optim::GroupOptions{.weight_decay = weight_decay});
    groups.emplace_back(g.biases, optim::GroupOptions{.weight_decay = 0.0});
    if (o.adam)
        return std::make_unique<optim::AdamW>(std::move(groups),
                                              optim::AdamWOptions{.lr = o.hyp.lr0, .betas = {o.hyp.momentum, 0.999}});
    return std::make_unique<optim::SGD>(
        std::move(groups), optim::SGDOptions{.lr = o.hyp.lr0, .momentum = o.hyp.momentum, .nesterov = true});
}

// The arguments of the network to train: the yaml's widths, or the widths of the weights it will load (a pruned
// network trains as itself): those of --resume's checkpoint, else of --weights.
models::YOLOv5Args detector_args(const DetectionTrainOptions& o, int64_t nc) {
    models::YOLOv5Args args{.nc = nc};
    const std::string from = !o.train.resume.empty() ? resume_path(o.train.resume) : o.train.weights;
    if (!from.empty()) args.channels = models::YOLOv5::channels_from_state_dict(nn::load_weights(from, true));
    return args;
}

}  // namespace

TrainResult train_detection(DetectionTrainOptions o) {
    prepare_run(o.train, o.model);
    const bool generated = o.data.empty();
    if (generated) {
        o.data = default_shapes_dir();
        if (!fs::exists(fs::path(o.data) / "data.yaml")) {
            fmt::print("train {}: no --data; generating shapes into {}\n", o.model, o.data);
            generate_shapes(o.data, {});
        }
    }
    if (o.img_size == 0) o.img_size = generated ? 320 : 640;
    const DataYaml y = find_data_yaml(o.data);
    const bool strict = o.train.strict_data;
    auto train_set =
        make_detection_dataset(y.train, y.nc, {.img_size = o.img_size, .augment = true}, "train: ", strict);
    auto val_set =
        make_detection_dataset(y.val, y.nc, validation_options(o.img_size, 2 * o.train.batch), "val: ", strict);
    data::DataLoader loader(train_set,
                            for_this_run(o.train, {.batch_size = o.train.batch,
                                                   .shuffle = true,
                                                   .num_workers = o.train.workers,
                                                   .seed = o.train.seed,
                                                   .skip_errors = !strict}),
                            detection_collate);
    data::DataLoader val_loader(val_set, {.batch_size = 2 * o.train.batch, .num_workers = o.train.workers},
                                detection_collate);

    const ModelSpec& spec = find_model(o.model);
    const models::YOLOv5Args args = detector_args(o, y.nc);
    auto model = std::make_shared<models::YOLOv5>(o.model, args);  // already as wide as --weights
    load_initial_weights(o.train, *model);
    auto eval_model = std::make_shared<models::YOLOv5>(o.model, args);

    // train.py: accumulate to the nominal batch, weight decay scaled by the batch that one step sees; no
    // accumulation in sparsity training (train_sparity.py).
    const int64_t accumulate =
        o.train.sparsity > 0 ? 1 : std::max<int64_t>(std::llround(static_cast<double>(o.nbs) / o.train.batch), 1);
    const double weight_decay = o.hyp.weight_decay * static_cast<double>(o.train.batch * accumulate) / o.nbs;
    auto optimizer = make_optimizer(o, *model, weight_decay);
    const int64_t epochs = o.train.epochs;
    optim::LambdaLR scheduler(*optimizer, [&](int64_t e) { return yolo_lr_lambda(e, epochs, o.hyp.lrf, o.linear_lr); });
    optim::ModelEMA ema(*model);
    const models::YoloLossOptions gains = models::scale_loss_gains({.box = o.hyp.box,
                                                                    .obj = o.hyp.obj,
                                                                    .cls = o.hyp.cls,
                                                                    .anchor_t = o.hyp.anchor_t,
                                                                    .label_smoothing = o.hyp.label_smoothing},
                                                                   model->nc, o.img_size, model->detect().nl);
    fmt::print(
        "train {}: {} classes, {} training and {} validation images at {}, batch {} x {} accumulated, {} lr0 {}\n",
        o.model, y.nc, train_set->size(), val_set->size(), o.img_size, o.train.batch, accumulate,
        o.adam ? "AdamW" : "SGD", o.hyp.lr0);

    TrainTask task{.model = model.get(), .optimizer = optimizer.get(), .loader = &loader};
    task.loss = [&](const Batch& b, Logs& logs) {  // b: images, targets
        const auto loss = models::yolo_loss(model->call_outputs(b[0]), b[1], model->detect().anchors, model->nc, gains);
        const Tensor items = loss.items.to(kCPU).to(kFloat64).contiguous();
        const double* v = items.data_ptr<double>();
        logs.emplace_back("box_loss", v[0]);
        logs.emplace_back("obj_loss", v[1]);
        logs.emplace_back("cls_loss", v[2]);
        return loss.total;
    };
    task.accumulate = accumulate;
    task.input_format = spec.memory_format;
    task.scheduler = &scheduler;
    task.ema = &ema;
    // nw = max(round(warmup_epochs * nb), 1000) iterations; the bias group starts at warmup_bias_lr.
    task.warmup = {
        .iterations = std::max<int64_t>(std::llround(o.hyp.warmup_epochs * loader.size()), o.min_warmup_iterations),
        .start_lr = {0.0, 0.0, o.hyp.warmup_bias_lr},
        .start_momentum = o.adam ? std::nullopt : std::optional<double>(o.hyp.warmup_momentum),
        .ramp_accumulation = o.train.sparsity == 0};
    task.log_bn_gammas = true;  // with or without --sparsity, as the reference's trainer
    task.validate = [&] {       // on the EMA weights, as train.py
        // where fit() put the model and the EMA (--device)
        eval_model->to(device_of(*model));
        ema.copy_to(*eval_model);
        eval_model->eval();
        const DetectionValResult r = validate_detection(*eval_model, val_loader, y.names);
        return Logs{{"metrics/precision", r.mp},
                    {"metrics/recall", r.mr},
                    {"metrics/mAP_0.5", r.map50},
                    {"metrics/mAP_0.5:0.95", r.map},
                    {"fitness", 0.1 * r.map50 + 0.9 * r.map}};
    };
    task.best_metric = "fitness";
    task.maximize = true;
    task.save_samples = [&](const std::string& path) {  // training mosaics with their labels, as train_batch0.jpg
        std::vector<data::Example> examples;
        Generator gen(0);
        for (int64_t i = 0; i < std::min<int64_t>(16, train_set->size()); ++i)
            examples.push_back(train_set->get(i, gen));
        const auto batch = detection_collate(examples);
        plot_detection_batch(batch[0], batch[1], y.names, path);
    };
    task.config_json =
        nlohmann::ordered_json{{"task", "detection"},  {"model", o.model},          {"data", o.data},
                               {"nc", y.nc},           {"names", y.names},          {"img_size", o.img_size},
                               {"adam", o.adam},       {"linear_lr", o.linear_lr},  {"lr0", o.hyp.lr0},
                               {"lrf", o.hyp.lrf},     {"epochs", o.train.epochs},  {"batch", o.train.batch},
                               {"seed", o.train.seed}, {"weights", o.train.weights}}
            .dump();
    TrainResult r = fit(o.train, task);
    fmt::print("train {}: loss {:.4f} -> {:.4f} in {} steps; {}; results in {}\n", o.model, r.first_loss, r.last_loss,
               r.steps, best_text(r, "fitness"), r.run_dir);
    return r;
}

void add_detection_train_commands(CLI::App* train) {
    for (const char* size : {"n", "s", "m", "l", "x"}) {
        const std::string name = std::string("yolov5") + size;
        auto o = std::make_shared<DetectionTrainOptions>();
        o->model = name;
        o->train.epochs = 300, o->train.batch = 16;
        auto* cmd = train->add_subcommand(name, "Train " + find_model(name).description);
        cmd->add_option("--data", o->data,
                        "A data.yaml (train/val image folders or list files, nc, names) or a folder holding one; "
                        "labels in labels/ beside images/ as 'class cx cy w h' lines (default: generated shapes in " +
                            default_shapes_dir() + ")");
        cmd->add_option("--img-size", o->img_size, "Training and validation image size (0: 640, 320 for the shapes)")
            ->capture_default_str();
        cmd->add_flag("--adam", o->adam, "AdamW instead of SGD");
        cmd->add_flag("--linear-lr", o->linear_lr, "Linear instead of cosine lr schedule");
        cmd->add_option("--lr0", o->hyp.lr0, "Initial learning rate")
            ->capture_default_str()
            ->check(finite_non_negative());
        cmd->add_option("--lrf", o->hyp.lrf, "Final lr as a fraction of lr0")
            ->capture_default_str()
            ->check(finite_non_negative());
        cmd->add_option("--nbs", o->nbs, "Nominal batch size (gradients accumulated up to it)")->capture_default_str();
        cmd->add_option("--warmup-epochs", o->hyp.warmup_epochs,
                        "Warmup length in epochs (at least --min-warmup-iters iterations)")
            ->capture_default_str();
        cmd->add_option("--min-warmup-iters", o->min_warmup_iterations,
                        "Fewest warmup iterations (1000 as train.py v6.0; later releases use 100)")
            ->capture_default_str();
        add_train_options(cmd, o->train);
        cmd->callback([o] { train_detection(*o); });
    }
}

}  // namespace nabla::apps
