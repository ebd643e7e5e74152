// apps/demo.cpp — `nabla demo`: the whole training stack end to end in under a minute on a CPU.
//
// It generates synthetic image/mask pairs (coloured ellipses on textured backgrounds, in the DUTS layout), trains
// TinySeg on them with the segmentation trainer (`nabla train tinyseg`: Adam, BCE, progress bar, CSV log and
// plot, sample pictures, checkpoints, best by validation max F-measure), evaluates the best checkpoint on the
// held-out pairs (MAE, max F-measure) and writes predicted masks and overlays. It fails (exit 1) if the loss did
// not fall, so the README's main command is also a smoke test. Everything lands in runs/demo/.
#include <filesystem>

#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/segmentation.h"

namespace nabla::apps {
namespace {

struct DemoOptions {
    int64_t epochs = 6, batch = 8;
    int workers = 2;
    uint64_t seed = 0;
    std::string output = "runs/demo";
};

int run_demo(const DemoOptions& d) {
    namespace fs = std::filesystem;
    SegmentationTrainOptions o;
    o.model = "tinyseg";
    o.size = 64, o.crop = 56, o.lr = 1e-2;
    o.train.epochs = d.epochs, o.train.batch = d.batch, o.train.workers = d.workers, o.train.seed = d.seed;
    o.train.output = d.output;
    o.train.exist_ok = true;
    fs::remove_all(fs::path(d.output) / "weights");  // a fresh run each time (the data is kept)
    fs::remove(fs::path(d.output) / "results.csv");
    const TrainResult r = train_segmentation(o);

    const std::string best = (fs::path(r.run_dir) / "weights" / "best.safetensors").string();
    const std::string val = "data/generated/ellipses/val";
    const auto e = evaluate_segmentation(o.model, best, val, o.size);
    const std::string predictions = (fs::path(r.run_dir) / "predictions").string();
    predict_segmentation(o.model, best, (fs::path(val) / "images").string(), predictions, o.size);
    fmt::print("\ndemo: loss {:.4f} -> {:.4f} over {} steps; held-out MAE {:.4f}, max F {:.4f} on {} images\n",
               r.first_loss, r.last_loss, r.steps, e.mae, e.max_f, e.images);
    fmt::print("demo: curves {0}/results.png, samples {0}/samples/, masks {1}/\n", r.run_dir, predictions);
    if (!(r.last_loss < 0.7 * r.first_loss)) {
        fmt::print(stderr, "demo: the loss did not fall by 30% ({:.4f} -> {:.4f})\n", r.first_loss, r.last_loss);
        return 1;
    }
    return 0;
}

}  // namespace

void add_demo_command(CLI::App& app) {
    auto d = std::make_shared<DemoOptions>();
    auto* cmd = app.add_subcommand("demo", "Train TinySeg on generated image/mask pairs, evaluate it and save "
                                           "predicted masks (a tour of `nabla train|eval|predict tinyseg`)");
    cmd->add_option("--epochs", d->epochs, "Passes over the 256 training pairs")->capture_default_str();
    cmd->add_option("--batch", d->batch, "Images per step")->capture_default_str();
    cmd->add_option("--workers", d->workers, "Data-loading threads")->capture_default_str();
    cmd->add_option("--seed", d->seed, "Seed of the weights, the data order and the augmentations")
        ->capture_default_str();
    cmd->add_option("--output", d->output, "Run directory")->capture_default_str();
    cmd->callback([d] {
        if (int rc = run_demo(*d); rc != 0) throw CLI::RuntimeError(rc);
    });
}

}  // namespace nabla::apps
