// tests/apps/test_train_loop.cpp — apps/train_loop.cpp through the segmentation trainer: exact resume (N steps
// straight equal k steps + checkpoint + resume + N−k steps, bitwise), Ctrl-C saving a checkpoint, the run directory's
// files, and the progress bar's and CSV log's formats.

#include <csignal>
#include <filesystem>

#include "apps/csv_log.h"
#include "apps/progress.h"
#include "apps/segmentation.h"
#include "apps/segmentation_data.h"
#include "apps/train_loop.h"
#include "models/tinyseg/tinyseg.h"
#include "nn/checkpoint.h"
#include "nn/optim/adam.h"
#include "nn/optim/ema.h"
#include "nn/optim/lr_scheduler.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace nabla::apps;

namespace {

// 3 epochs of 3 batches of 4 tiny pairs; validation on 4 held-out pairs.
SegmentationTrainOptions small_run(const TempDir& dir, const std::string& name, int workers) {
    if (!fs::exists(dir.file("data/train"))) {
        generate_ellipse_pairs(dir.file("data/train"), 12, 24, 7);
        generate_ellipse_pairs(dir.file("data/val"), 4, 24, 8);
    }
    SegmentationTrainOptions o;
    o.model = "tinyseg";
    o.data = dir.file("data/train");
    o.val = dir.file("data/val");
    o.size = 24, o.crop = 20, o.lr = 1e-2;
    o.train.epochs = 3, o.train.batch = 4, o.train.workers = workers, o.train.seed = 3;
    o.train.output = dir.file(name);
    return o;
}

TensorMap last_checkpoint_part(const TrainResult& r, const std::string& part) {
    const auto c = nn::load_checkpoint((fs::path(r.run_dir) / "weights" / "last.safetensors").string());
    return part == "model" ? c.model : c.optimizer;
}

void require_bitwise_equal(const TensorMap& a, const TensorMap& b) {
    REQUIRE(a.size() == b.size());
    for (const auto& [key, t] : a) {
        INFO(key);
        REQUIRE(b.count(key));
        REQUIRE(t.shape() == b.at(key).shape());
        REQUIRE_THAT(t, ClosesTo(b.at(key), 0, 0));  // bitwise for finite values
    }
}

}  // namespace

TEST_CASE("train: k steps, checkpoint, resume, N-k steps equal N steps straight, bitwise", "[train_loop]") {
    TempDir dir;
    for (int workers : {0, 2}) {
        INFO("workers " << workers);
        auto straight = small_run(dir, fmt::format("straight{}", workers), workers);
        const TrainResult a = train_segmentation(straight);
        REQUIRE(a.steps == 9);
        REQUIRE(a.epochs_completed == 3);

        auto first = small_run(dir, fmt::format("split{}", workers), workers);
        first.train.max_steps = 4;  // stops in the middle of epoch 2
        const TrainResult b1 = train_segmentation(first);
        REQUIRE(b1.steps == 4);
        REQUIRE(b1.epochs_completed == 1);
        const auto mid = nn::load_checkpoint(fs::path(b1.run_dir) / "weights" / "last.safetensors");
        REQUIRE(mid.epoch == 1);
        REQUIRE(mid.batch_in_epoch == 1);
        REQUIRE(mid.step == 4);

        auto second = small_run(dir, fmt::format("split{}", workers), workers);
        second.train.resume = b1.run_dir;
        const TrainResult b2 = train_segmentation(second);
        REQUIRE(b2.steps == 9);
        require_bitwise_equal(last_checkpoint_part(a, "model"), last_checkpoint_part(b2, "model"));
        require_bitwise_equal(last_checkpoint_part(a, "optimizer"), last_checkpoint_part(b2, "optimizer"));
        // The resumed run's log has each epoch once, with the straight run's validation numbers.
        const auto log_a = CsvLog((fs::path(a.run_dir) / "results.csv").string()).read();
        const auto log_b = CsvLog((fs::path(b2.run_dir) / "results.csv").string()).read();
        REQUIRE(log_b.column("epoch") == std::vector<double>{1, 2, 3});
        REQUIRE(log_b.column("val/maxf") == log_a.column("val/maxf"));
    }
}

TEST_CASE("train: the run directory holds checkpoints, the CSV log, its plot and samples; the loss falls",
          "[train_loop]") {
    TempDir dir;
    auto o = small_run(dir, "run", 0);
    o.train.epochs = 4;
    o.train.sample_every = 5;
    const TrainResult r = train_segmentation(o);
    const fs::path run = r.run_dir;
    for (const char* f : {"weights/last.safetensors", "weights/best.safetensors", "results.csv", "results.png",
                          "args.json", "samples/step_000005.png", "samples/epoch_004.png"}) {
        INFO(f);
        REQUIRE(fs::exists(run / f));
    }
    const auto log = CsvLog((run / "results.csv").string()).read();
    REQUIRE(log.rows.size() == 4);
    const auto loss = log.column("train/loss");
    REQUIRE(loss.back() < loss.front());
    REQUIRE(nn::is_checkpoint((run / "weights/best.safetensors").string()));

    SECTION("a second run into the same --output is refused unless resumed or --exist-ok") {
        auto again = small_run(dir, "run", 0);
        REQUIRE_THROWS_WITH(train_segmentation(again),
                            Catch::Contains("already holds a run") && Catch::Contains("--resume"));
    }
}

TEST_CASE("fit: Ctrl-C saves a checkpoint after the current step, and the run resumes from it", "[train_loop]") {
    TempDir dir;
    manual_seed(0);
    Generator g(1);
    auto dataset = std::make_shared<data::TensorDataset>(
        std::vector<Tensor>{randn({12, 3, 8, 8}, {}, &g), gt(rand({12, 1, 8, 8}, {}, &g), 0.5).to(kFloat32)});
    auto run = [&](const std::string& resume, int64_t interrupt_at_step, TrainResult& result) {
        manual_seed(0);
        models::TinySeg model(3, 4);
        optim::Adam adam(model.parameters(), {.lr = 1e-2});
        optim::StepLR scheduler(adam, 2, 0.5);  // per epoch: the lr halves every two epochs
        optim::ModelEMA ema(model, 0.9, 4);
        data::DataLoader loader(dataset, {.batch_size = 4, .shuffle = true, .seed = 5});
        int64_t calls = 0;
        TrainTask task;
        task.model = &model;
        task.optimizer = &adam;
        task.scheduler = &scheduler;
        task.ema = &ema;
        task.loader = &loader;
        task.loss = [&](const Batch& b, Logs&) {
            if (++calls == interrupt_at_step) std::raise(SIGINT);  // as a user's Ctrl-C during this step
            return binary_cross_entropy_with_logits(model(b[0]), b[1]);
        };
        TrainOptions o;
        o.epochs = 3, o.output = dir.file("run"), o.resume = resume, o.exist_ok = true;
        result = fit(o, task);
        TensorMap state = model.state_dict();
        for (const auto& [k, v] : ema.state_dict()) state["ema/" + k] = v;  // the average must resume exactly too
        state["lr"] = scalar_tensor(adam.param_groups()[0].lr, {.dtype = kFloat64});
        return state;
    };
    struct sigaction before {};
    sigaction(SIGINT, nullptr, &before);
    TrainResult straight, interrupted, resumed;
    const TensorMap expected = run("", 0, straight);
    REQUIRE(straight.steps == 9);
    REQUIRE(expected.at("lr").item<double>() == 1e-2 * 0.5);  // stepped after each of the 3 epochs
    fs::remove_all(dir.file("run"));

    run("", 4, interrupted);  // the 4th step completes, then the loop stops
    REQUIRE(interrupted.interrupted);
    REQUIRE(interrupted.steps == 4);
    const auto c = nn::load_checkpoint(dir.file("run/weights/last.safetensors"));
    REQUIRE(c.step == 4);
    REQUIRE(c.epoch == 1);
    REQUIRE(c.batch_in_epoch == 1);
    // The handler is gone after fit(): SIGINT's disposition is what it was before (Catch's own handler here).
    struct sigaction now {};
    sigaction(SIGINT, nullptr, &now);
    REQUIRE(now.sa_handler == before.sa_handler);

    const TensorMap after = run(dir.file("run"), 0, resumed);
    REQUIRE_FALSE(resumed.interrupted);
    REQUIRE(resumed.steps == 9);
    require_bitwise_equal(expected, after);
}

TEST_CASE("ProgressBar: tqdm's layout, durations and rates", "[progress]") {
    REQUIRE(ProgressBar::format_duration(0) == "00:00");
    REQUIRE(ProgressBar::format_duration(59.4) == "00:59");
    REQUIRE(ProgressBar::format_duration(61) == "01:01");
    REQUIRE(ProgressBar::format_duration(3725) == "1:02:05");
    REQUIRE(ProgressBar::format_duration(NAN) == "?");
    // 21 of 50 at 4 it/s after 5 s: 29 left -> 7.25 s.
    REQUIRE(ProgressBar::render("epoch 3/20", 21, 50, 5.0, 4.0, "loss 0.2134", 10) ==
            "epoch 3/20  42%|████▏     | 21/50 [00:05<00:07, 4.00it/s] loss 0.2134");
    REQUIRE(ProgressBar::render("", 50, 50, 100.0, 0.5, "", 4) == "100%|████| 50/50 [01:40<00:00, 2.00s/it]");
    REQUIRE(ProgressBar::render("eval", 7, 0, 2.0, 3.5, "", 10) == "eval 7 [00:02, 3.50it/s] ");
}

TEST_CASE("CsvLog: header from the first row, appends, truncation on resume, errors name the file", "[csv]") {
    TempDir dir;
    CsvLog log(dir.file("results.csv"));
    log.append({{"epoch", 1}, {"train/loss", 0.5}, {"val/maxf", 0.25}});
    log.append({{"epoch", 2}, {"train/loss", 0.125}});  // no validation this epoch: an empty cell
    log.append({{"epoch", 3}, {"train/loss", 0.0625}, {"val/maxf", 0.75}});
    auto t = log.read();
    REQUIRE(t.columns == std::vector<std::string>{"epoch", "train/loss", "val/maxf"});
    REQUIRE(t.column("train/loss") == std::vector<double>{0.5, 0.125, 0.0625});
    REQUIRE(std::isnan(t.column("val/maxf")[1]));
    REQUIRE_THROWS_WITH(log.append({{"epoch", 4}, {"lr", 0.1}}),
                        Catch::Contains("results.csv") && Catch::Contains("'lr'"));
    log.truncate_from("epoch", 2);
    REQUIRE(log.read().column("epoch") == std::vector<double>{1});
}
