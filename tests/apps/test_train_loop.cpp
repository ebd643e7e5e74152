// tests/apps/test_train_loop.cpp — apps/train_loop.cpp through the segmentation trainer: exact resume (N steps
// straight equal k steps + checkpoint + resume + N−k steps, bitwise), Ctrl-C saving a checkpoint, the run directory's
// files; on a small regression: gradient accumulation, the hooks, scheduler intervals, warmup, ReduceLROnPlateau and
// task state in checkpoints; and the progress bar's and CSV log's formats.

#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "apps/csv_log.h"
#include "apps/progress.h"
#include "apps/segmentation.h"
#include "apps/segmentation_data.h"
#include "apps/train_loop.h"
#include "models/tinyseg/tinyseg.h"
#include "nn/checkpoint.h"
#include "nn/linear.h"
#include "nn/optim/adam.h"
#include "nn/optim/ema.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/sgd.h"
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
        // Its "time" goes on from the first part's training time (kept in the checkpoint), not from zero.
        const auto time_b = log_b.column("time");
        REQUIRE(std::stod(mid.extra.at("train_time_s")) >= time_b[0]);
        REQUIRE(std::is_sorted(time_b.begin(), time_b.end()));
        REQUIRE(time_b[1] >= std::stod(mid.extra.at("train_time_s")));
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

    SECTION("--precision bf16 trains too: the loss falls, the weights stay float32") {
        auto half = small_run(dir, "bf16", 0);
        half.train.epochs = 4;
        half.train.precision = "bf16";
        const TrainResult rh = train_segmentation(half);
        const auto lh = CsvLog((fs::path(rh.run_dir) / "results.csv").string()).read().column("train/loss");
        REQUIRE(lh.back() < lh.front());
        REQUIRE(std::abs(lh.back() - loss.back()) < 0.1 * loss.front());  // near the float32 run's curve
        for (const auto& [name, t] :
             nn::load_checkpoint((fs::path(rh.run_dir) / "weights/last.safetensors").string()).model)
            if (is_floating(t.dtype())) CHECK(t.dtype() == kFloat32);
    }

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
    REQUIRE(interrupt_requested());  // so `nabla` exits with 130
    REQUIRE(interrupted.steps == 4);
    REQUIRE(interrupted.last_loss > 0);  // the mean over the interrupted epoch's step, not 0
    REQUIRE(interrupted.last_loss < 2);
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
    REQUIRE_FALSE(interrupt_requested());
    REQUIRE(resumed.steps == 9);
    require_bitwise_equal(expected, after);
}

namespace {

// A linear regression on 12 fixed examples, the smallest model on which the loop's arithmetic can be checked exactly.
struct Regression {
    std::shared_ptr<data::TensorDataset> dataset;
    nn::Linear model{3, 1};
    Regression() {
        Generator g(2);
        const Tensor x = randn({12, 3}, {}, &g);
        dataset = std::make_shared<data::TensorDataset>(std::vector<Tensor>{x, matmul(x, t32({1, -2, 0.5}, {3, 1}))});
        manual_seed(0);
        model.reset_parameters();
    }
    Tensor mse(const Batch& b) { return mse_loss(model(b[0]), b[1]); }
};

// A Regression trained by SGD (lr 0.05) on batches of 6 with the MSE as the task's loss: the task the tests below
// adjust (hooks, a validation).
struct RegressionRun {
    Regression r;
    optim::SGD sgd{r.model.parameters(), {.lr = 0.05}};
    data::DataLoader loader{r.dataset, {.batch_size = 6}};
    TrainTask task{.model = &r.model, .optimizer = &sgd, .loader = &loader};
    RegressionRun() {
        task.loss = [this](const Batch& b, Logs&) { return r.mse(b); };
    }
};

TrainOptions quiet_run(const TempDir& dir, const std::string& name, int64_t epochs) {
    TrainOptions o;
    o.epochs = epochs, o.output = dir.file(name), o.exist_ok = true;
    return o;
}

}  // namespace

TEST_CASE("fit: accumulating 2 half batches equals one full batch; an epoch's last batch always steps",
          "[train_loop]") {
    TempDir dir;
    Regression full, halves;
    optim::SGD sgd_full(full.model.parameters(), {.lr = 0.1});
    optim::SGD sgd_halves(halves.model.parameters(), {.lr = 0.1});
    data::DataLoader loader_full(full.dataset, {.batch_size = 4});
    data::DataLoader loader_halves(halves.dataset, {.batch_size = 2});
    TrainTask a{.model = &full.model, .optimizer = &sgd_full, .loader = &loader_full};
    a.loss = [&](const Batch& b, Logs&) { return full.mse(b); };
    TrainTask b{.model = &halves.model, .optimizer = &sgd_halves, .loader = &loader_halves};
    b.loss = [&](const Batch& batch, Logs&) { return halves.mse(batch) * 0.5; };  // the mean of the two halves
    b.accumulate = 2;
    const TrainResult ra = fit(quiet_run(dir, "full", 2), a);
    const TrainResult rb = fit(quiet_run(dir, "halves", 2), b);
    REQUIRE(ra.steps == 6);
    REQUIRE(rb.steps == 6);  // 6 batches of 2 per epoch, 3 steps each
    REQUIRE_THAT(halves.model.weight, ClosesTo(full.model.weight, 1e-6, 1e-5));
    REQUIRE_THAT(halves.model.bias, ClosesTo(full.model.bias, 1e-6, 1e-5));

    // 6 batches of 2 per epoch with accumulate 4: a step after batch 4 and one after batch 6 (the epoch's end)
    Regression odd;
    optim::SGD sgd_odd(odd.model.parameters(), {.lr = 0.1});
    TrainTask c{.model = &odd.model, .optimizer = &sgd_odd, .loader = &loader_halves};
    c.loss = [&](const Batch& batch, Logs&) { return odd.mse(batch); };
    c.accumulate = 4;
    std::vector<int64_t> stepped_at;
    c.hooks.before_step = [&](const StepInfo& at) { stepped_at.push_back(at.batch); };
    REQUIRE(fit(quiet_run(dir, "odd", 1), c).steps == 2);
    REQUIRE(stepped_at == std::vector<int64_t>{3, 5});
}

TEST_CASE("fit: a validation that fails keeps the epoch's training in last.safetensors, and resume continues",
          "[train_loop]") {
    TempDir dir;
    RegressionRun run;
    TrainTask& task = run.task;
    int validations = 0;
    task.validate = [&] {
        if (++validations == 2) throw Error("val/images/bad.png: corrupt or truncated");
        return Logs{{"val/loss", 1.0}};
    };
    REQUIRE_THROWS_WITH(fit(quiet_run(dir, "run", 3), task),
                        Catch::StartsWith("validation after epoch 2 failed: val/images/bad.png: corrupt or truncated; "
                                          "the epoch's training is saved in ") &&
                            Catch::Contains("--resume"));
    const auto c = nn::load_checkpoint(dir.file("run/weights/last.safetensors"));
    REQUIRE(c.epoch == 2);  // both epochs' steps, not the first epoch's checkpoint
    REQUIRE(c.step == 4);
    TrainOptions resume = quiet_run(dir, "run", 3);
    resume.resume = dir.file("run");
    REQUIRE(fit(resume, task).steps == 6);  // the third epoch only
}

TEST_CASE("fit: a non-finite loss stops before the step, names the module that made it, and resume continues",
          "[train_loop][anomaly]") {
    TempDir dir;
    RegressionRun run;
    TrainTask& task = run.task;
    // After the first step of epoch 3 (step index 4) a weight turns into NaN, as an exploding update would make it;
    // the next batch's loss is NaN. Epoch 2's end saved the last good checkpoint.
    task.hooks.after_step = [&](const StepInfo& at) {
        if (at.step == 4) run.r.model.weight.data_ptr<float>()[1] = NAN;
    };
    REQUIRE_THROWS_WITH(fit(quiet_run(dir, "run", 3), task),
                        Catch::StartsWith("train: the loss is nan at step 6 (epoch 3, batch 2): the first non-finite "
                                          "tensor is the output of the model (Linear): output 0 [6, 1]; this step was "
                                          "not taken, ") &&
                            Catch::Contains("last.safetensors holds the last good checkpoint and --resume"));
    const auto c = nn::load_checkpoint(dir.file("run/weights/last.safetensors"));
    REQUIRE(c.step == 4);
    REQUIRE(all_finite(c.model.at("weight")));
    task.hooks.after_step = nullptr;
    TrainOptions resume = quiet_run(dir, "run", 3);
    resume.resume = dir.file("run");
    const TrainResult r = fit(resume, task);
    REQUIRE(r.steps == 6);
    REQUIRE(std::isfinite(r.last_loss));
}

TEST_CASE("fit: a gradient that is not finite stops the run, naming the op whose backward made it",
          "[train_loop][anomaly]") {
    TempDir dir;
    RegressionRun run;
    // sqrt(0 * |y|) is 0 for any output y, but its backward divides by sqrt(0): an infinite gradient, finite loss.
    run.task.loss = [&](const Batch& b, Logs&) { return sqrt(abs(run.r.model(b[0])) * 0.0).sum() + run.r.mse(b); };
    REQUIRE_THROWS_WITH(fit(quiet_run(dir, "run", 1), run.task),
                        Catch::StartsWith("train: a gradient is not finite at step 1 (epoch 1, batch 1): backward of "
                                          "sqrt (output [6, 1]) returned non-finite values in its gradient for input 0 "
                                          "[6, 1]; this step was not taken, no checkpoint was saved yet"));
}

TEST_CASE("fit: hooks run in order at each step and may add columns to the epoch's row", "[train_loop]") {
    TempDir dir;
    RegressionRun run;
    Regression& r = run.r;
    TrainTask& task = run.task;
    std::vector<std::string> calls;
    task.hooks.after_backward = [&](const StepInfo& at) {
        REQUIRE(r.model.weight.grad().defined());  // the gradient is there to be changed
        calls.push_back(fmt::format("after_backward {}.{}", at.epoch, at.batch));
    };
    task.hooks.before_step = [&](const StepInfo& at) { calls.push_back(fmt::format("before_step {}", at.step)); };
    task.hooks.after_step = [&](const StepInfo& at) { calls.push_back(fmt::format("after_step {}", at.step)); };
    task.hooks.on_epoch_end = [&](const StepInfo& at, Logs& row) {
        calls.push_back(fmt::format("on_epoch_end {}", at.epoch));
        row.emplace_back("weight_norm", std::sqrt(sum(r.model.weight * r.model.weight).item<double>()));
    };
    const TrainResult result = fit(quiet_run(dir, "run", 2), task);
    REQUIRE(calls == std::vector<std::string>{"after_backward 0.0", "before_step 0", "after_step 0",
                                              "after_backward 0.1", "before_step 1", "after_step 1", "on_epoch_end 0",
                                              "after_backward 1.0", "before_step 2", "after_step 2",
                                              "after_backward 1.1", "before_step 3", "after_step 3", "on_epoch_end 1"});
    const auto log = CsvLog((fs::path(result.run_dir) / "results.csv").string()).read();
    REQUIRE(log.column("weight_norm").size() == 2);
    REQUIRE(log.column("weight_norm")[1] > 0);
}

TEST_CASE("fit: a scheduler stepped per optimizer step or per epoch", "[train_loop]") {
    TempDir dir;
    for (auto interval : {SchedulerInterval::step, SchedulerInterval::epoch}) {
        Regression r;
        optim::SGD sgd(r.model.parameters(), {.lr = 0.1});
        optim::StepLR halve(sgd, 1, 0.5);
        data::DataLoader loader(r.dataset, {.batch_size = 4});  // 3 steps per epoch
        TrainTask task{.model = &r.model, .optimizer = &sgd, .loader = &loader};
        task.loss = [&](const Batch& b, Logs&) { return r.mse(b); };
        task.scheduler = &halve;
        task.scheduler_interval = interval;
        fit(quiet_run(dir, "run", 2), task);
        const double halvings = interval == SchedulerInterval::step ? 6 : 2;
        REQUIRE(sgd.param_groups()[0].lr == Approx(0.1 * std::pow(0.5, halvings)));
    }
}

TEST_CASE("fit: warmup ramps each group's lr and the momentum linearly, and the accumulation", "[train_loop]") {
    TempDir dir;
    Regression r;
    optim::SGD sgd({optim::ParamGroup({r.model.weight}), optim::ParamGroup({r.model.bias})},
                   {.lr = 0.1, .momentum = 0.9});
    data::DataLoader loader(r.dataset, {.batch_size = 1});  // 12 batches per epoch
    TrainTask task{.model = &r.model, .optimizer = &sgd, .loader = &loader};
    task.loss = [&](const Batch& b, Logs&) { return r.mse(b); };
    task.accumulate = 4;
    task.warmup = {.iterations = 8, .start_lr = {0.0, 0.2}, .start_momentum = 0.8, .ramp_accumulation = true};
    struct Seen {
        int64_t iteration;
        double lr0, lr1, momentum;
    };
    std::vector<Seen> seen;
    task.hooks.before_step = [&](const StepInfo& at) {
        const auto& g = sgd.param_groups();
        seen.push_back({at.iteration, g[0].lr, g[1].lr, g[0].momentum});
    };
    fit(quiet_run(dir, "run", 1), task);
    // accumulate at ni = round(1 + 3 ni / 8): 1, 1, 2 (ni 2), 2, 3 (ni 4), ... then 4 after the warmup
    std::vector<int64_t> iterations;
    for (const auto& s : seen) iterations.push_back(s.iteration);
    REQUIRE(iterations == std::vector<int64_t>{0, 1, 3, 6, 10, 11});
    for (const auto& s : seen) {
        INFO("iteration " << s.iteration);
        const double t = std::min(1.0, s.iteration / 8.0);
        REQUIRE(s.lr0 == Approx(0.1 * t));
        REQUIRE(s.lr1 == Approx(0.2 + (0.1 - 0.2) * t));
        REQUIRE(s.momentum == Approx(0.8 + 0.1 * t));
    }
    // the groups keep their scheduled values between steps
    REQUIRE(sgd.param_groups()[0].lr == 0.1);
    REQUIRE(sgd.param_groups()[1].momentum == 0.9);
}

TEST_CASE(
    "fit: ReduceLROnPlateau follows the validation metric and resumes from the checkpoint; task state is "
    "saved",
    "[train_loop]") {
    TempDir dir;
    auto run = [&](const std::string& name, int64_t max_steps, const std::string& resume) {
        Regression r;
        optim::Adam adam(r.model.parameters(), {.lr = 0.1});
        optim::ReduceLROnPlateau plateau(adam, {.factor = 0.5, .patience = 0});
        data::DataLoader loader(r.dataset, {.batch_size = 4, .shuffle = true, .seed = 1});
        TrainTask task{.model = &r.model, .optimizer = &adam, .loader = &loader};
        task.loss = [&](const Batch& b, Logs&) { return r.mse(b); };
        task.plateau = &plateau;
        task.plateau_metric = "val/loss";
        int64_t validations = 0;
        task.validate = [&] { return Logs{{"val/loss", ++validations == 1 ? 1.0 : 2.0}}; };  // never improves again
        task.task_state = [] { return TensorMap{{"widths", t64({8, 16, 24})}}; };
        TrainOptions o = quiet_run(dir, name, 4);
        o.max_steps = max_steps, o.resume = resume;
        fit(o, task);
        return std::pair{adam.param_groups()[0].lr, r.model.state_dict()};
    };
    const auto [lr, weights] = run("straight", 0, "");
    REQUIRE(lr == Approx(0.1 * 0.125));  // epochs 2, 3, 4 are worse than epoch 1
    run("split", 7, "");                 // stops in epoch 3, after two validations
    const auto c = nn::load_checkpoint(dir.file("split/weights/last.safetensors"));
    REQUIRE(c.plateau.count("num_bad_epochs"));
    REQUIRE_THAT(checkpoint_task_state(dir.file("split")).at("widths"), ClosesTo(t64({8, 16, 24}), 0, 0));
    const auto [lr2, weights2] = run("split", 0, dir.file("split"));
    REQUIRE(lr2 == lr);
    require_bitwise_equal(weights, weights2);
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

TEST_CASE("best_text: the best metric, or that the run stopped before its first validation", "[train_loop]") {
    TrainResult r;
    r.best_metric = -INFINITY;
    REQUIRE(best_text(r, "val/maxf") == "val/maxf not validated yet");
    r.best_metric = 0.91234;
    REQUIRE(best_text(r, "val/maxf") == "best val/maxf 0.9123");
    REQUIRE(best_text(r, "val/psnr", " dB") == "best val/psnr 0.9123 dB");
}

TEST_CASE("write_text_file: whole or untouched; a failed write names the file and keeps the old one", "[csv]") {
    TempDir dir;
    const std::string path = dir.file("args.json");
    write_text_file(path, "{\"old\": 1}\n");
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG, as on a full disk
    rlimit small = saved;
    small.rlim_cur = 1024;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::string message = "no error";
    try {
        write_text_file(path, std::string(1 << 20, 'x'));
    } catch (const Error& e) {
        message = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, old_handler);
    REQUIRE_THAT(message, Catch::Contains(path + ".tmp") && Catch::Contains(path + " is unchanged"));
    std::ifstream f(path);
    REQUIRE(std::string(std::istreambuf_iterator<char>(f), {}) == "{\"old\": 1}\n");
    REQUIRE_FALSE(fs::exists(path + ".tmp"));
}
