// apps/train_loop.cpp — fit(): the shared training loop, its checkpoints, resume and Ctrl-C handling.
#include "apps/train_loop.h"

#include <fmt/format.h>
#include <omp.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "apps/csv_log.h"
#include "apps/progress.h"
#include "autograd/grad_mode.h"
#include "core/generator.h"
#include "core/trace/trace.h"
#include "nn/checkpoint.h"
#include "nn/data/plot.h"

namespace nabla::apps {
namespace fs = std::filesystem;

namespace {

// Ctrl-C: the first one asks the loop to stop after the current step (it saves a checkpoint); the handler then
// restores the default action, so a second Ctrl-C ends the process at once.
std::atomic<bool> g_stop_requested{false};

extern "C" void on_sigint(int) {
    g_stop_requested.store(true);
    std::signal(SIGINT, SIG_DFL);
}

struct SigintGuard {
    struct sigaction previous {};
    SigintGuard() {
        g_stop_requested.store(false);
        struct sigaction action {};
        action.sa_handler = on_sigint;
        sigemptyset(&action.sa_mask);
        sigaction(SIGINT, &action, &previous);
    }
    ~SigintGuard() { sigaction(SIGINT, &previous, nullptr); }
};

// Keeps the model in eval mode without gradients for a scope (validation, samples).
struct EvalScope {
    nn::Module& model;
    autograd::NoGradGuard no_grad;
    explicit EvalScope(nn::Module& m) : model(m) { model.eval(); }
    ~EvalScope() { model.train(); }
};

double value_of(const Logs& logs, const std::string& key) {
    for (const auto& [k, v] : logs)
        if (k == key) return v;
    return NAN;
}

}  // namespace

void add_train_options(CLI::App* cmd, TrainOptions& o) {
    cmd->add_option("--output", o.output,
                    "Run directory for checkpoints, logs and pictures (default runs/<model>, "
                    "numbered runs/<model>2, ... when it already holds a run)");
    cmd->add_option("--epochs", o.epochs, "Passes over the training data")->capture_default_str();
    cmd->add_option("--batch", o.batch, "Images per optimizer step")->capture_default_str();
    cmd->add_option("--workers", o.workers, "Data-loading threads (0: load in the training thread)")
        ->capture_default_str();
    cmd->add_option("--seed", o.seed, "Seed of the initial weights, the data order and the augmentations")
        ->capture_default_str();
    cmd->add_option("--threads", o.threads, "Threads for the math (0: OMP_NUM_THREADS or all cores)")
        ->capture_default_str();
    cmd->add_option("--device", o.device, "cpu or cuda")->capture_default_str()->check(CLI::IsMember({"cpu", "cuda"}));
    cmd->add_option("--resume", o.resume,
                    "Continue a run exactly where it stopped: a checkpoint file or a run "
                    "directory (its weights/last.safetensors)");
    cmd->add_option("--save-every", o.save_every,
                    "Steps between mid-epoch checkpoints (0: at the end of each epoch "
                    "only)")
        ->capture_default_str();
    cmd->add_option("--sample-every", o.sample_every, "Steps between sample pictures (0: at the end of each epoch)")
        ->capture_default_str();
    cmd->add_option("--val-every", o.val_every, "Epochs between validations")->capture_default_str();
    cmd->add_option("--max-steps", o.max_steps,
                    "Stop after this many optimizer steps in total, saving a checkpoint "
                    "(0: train all epochs)")
        ->capture_default_str();
    cmd->add_flag("--exist-ok", o.exist_ok, "Write into --output even if it already holds a run");
}

std::string resume_path(const std::string& resume) {
    if (fs::is_directory(resume)) return (fs::path(resume) / "weights" / "last.safetensors").string();
    return resume;
}

void prepare_run(TrainOptions& o, const std::string& model_name) {
    if (o.epochs < 1 || o.batch < 1 || o.workers < 0 || o.threads < 0 || o.save_every < 0 || o.sample_every < 0 ||
        o.val_every < 1 || o.max_steps < 0)
        throw ValueError(fmt::format(
            "train: bad option: epochs {} and batch {} must be >= 1, val-every {} >= 1, and "
            "workers {}, threads {}, save-every {}, sample-every {}, max-steps {} >= 0",
            o.epochs, o.batch, o.val_every, o.workers, o.threads, o.save_every, o.sample_every, o.max_steps));
    if (o.threads > 0) omp_set_num_threads(o.threads);
    manual_seed(o.seed);
    if (!o.resume.empty()) {
        const std::string ckpt = resume_path(o.resume);
        if (!fs::exists(ckpt)) throw Error(fmt::format("--resume {}: no checkpoint at {}", o.resume, ckpt));
        if (o.output.empty()) o.output = fs::path(ckpt).parent_path().parent_path().string();
        return;
    }
    const bool explicit_dir = !o.output.empty();
    if (!explicit_dir) o.output = (fs::path("runs") / model_name).string();
    auto holds_run = [](const fs::path& p) { return fs::exists(p / "results.csv") || fs::exists(p / "weights"); };
    if (o.exist_ok || !holds_run(o.output)) return;
    if (explicit_dir)
        throw Error(
            fmt::format("--output {} already holds a run: pass --resume {} to continue it, --exist-ok to "
                        "overwrite it, or another --output",
                        o.output, o.output));
    for (int i = 2;; ++i) {
        const std::string candidate = fmt::format("{}{}", o.output, i);
        if (!holds_run(candidate)) {
            o.output = candidate;
            return;
        }
    }
}

TrainResult fit(const TrainOptions& o, TrainTask& task) {
    NB_CHECK_VALUE(task.model && task.optimizer && task.loader && task.loss,
                   "fit: the task needs a model, an optimizer, a loader and a loss");
    nn::Module& model = *task.model;
    data::DataLoader& loader = *task.loader;
    const Device device = o.device == "cuda" ? kCUDA : kCPU;
    if (device != kCPU) model.to(device);  // before anything is written: no device, no run directory
    const fs::path run = o.output.empty() ? fs::path("runs/train") : fs::path(o.output);
    fs::create_directories(run / "weights");
    fs::create_directories(run / "samples");
    const std::string last_path = (run / "weights" / "last.safetensors").string();
    const std::string best_path = (run / "weights" / "best.safetensors").string();
    if (!task.config_json.empty()) std::ofstream(run / "args.json") << task.config_json << "\n";
    CsvLog csv((run / "results.csv").string());

    TrainResult result;
    result.run_dir = run.string();
    const bool maximize = task.best_metric.empty() ? false : task.maximize;
    double best = maximize ? -INFINITY : INFINITY;
    int64_t epoch = 0, batch_in_epoch = 0, step = 0;

    auto checkpoint = [&](int64_t at_epoch, int64_t at_batch) {
        nn::Checkpoint c;
        c.model = model.state_dict();
        c.optimizer = task.optimizer->state_dict();
        if (task.scheduler) c.scheduler = task.scheduler->state_dict();
        if (task.ema) c.ema = task.ema->state_dict();
        c.epoch = at_epoch;
        c.batch_in_epoch = at_batch;
        c.step = step;
        c.best_metric = best;
        c.rng_state = default_generator().state();
        c.config = task.config_json;
        return c;
    };

    if (!o.resume.empty()) {
        const std::string path = resume_path(o.resume);
        const nn::Checkpoint c = nn::load_checkpoint(path);
        try {
            model.load_state_dict(c.model, true);
        } catch (const Error& e) {
            throw ValueError(fmt::format("--resume {}: {}", path, e.what()));
        }
        task.optimizer->load_state_dict(c.optimizer);
        if (task.scheduler && !c.scheduler.empty()) task.scheduler->load_state_dict(c.scheduler);
        if (task.ema && !c.ema.empty()) task.ema->load_state_dict(c.ema);
        default_generator().set_state(c.rng_state);
        epoch = c.epoch;
        batch_in_epoch = c.batch_in_epoch;
        step = c.step;
        best = c.best_metric;
        csv.truncate_from("epoch", static_cast<double>(epoch + 1));  // rows of epochs the checkpoint had not reached
        fmt::print("resuming {} at epoch {}, batch {}, step {}\n", path, epoch + 1, batch_in_epoch, step);
    }

    SigintGuard sigint;
    const auto run_start = std::chrono::steady_clock::now();
    bool first_step = true;
    for (; epoch < o.epochs; ++epoch) {
        loader.set_epoch(epoch, batch_in_epoch);
        model.train();
        const int64_t batches = loader.size();
        ProgressBar bar(fmt::format("epoch {}/{}", epoch + 1, o.epochs), batches);
        bar.set_position(batch_in_epoch);
        Logs sums;  // running sums of the logged values over this epoch's batches (in this process)
        int64_t counted = 0, b = batch_in_epoch;
        bool stop = false;
        for (Batch& batch : loader) {
            trace::step_marker(step + 1);  // a step boundary in the trace (a no-op unless tracing)
            if (device != kCPU)
                for (auto& t : batch.tensors) t = t.to(device);
            task.optimizer->zero_grad();
            Logs logs;
            Tensor loss = task.loss(batch, logs);
            const double l = loss.item<double>();
            if (!std::isfinite(l))
                throw Error(
                    fmt::format("train: the loss is {} at epoch {}, step {}; the last checkpoint is {} (try a "
                                "lower learning rate)",
                                l, epoch + 1, step + 1, last_path));
            loss.backward();
            task.optimizer->step();
            if (task.ema) task.ema->update(model);
            ++step, ++b, ++counted;
            if (first_step) result.first_loss = l, first_step = false;

            logs.insert(logs.begin(), {"loss", l});
            if (sums.empty())
                sums = logs;
            else
                for (size_t i = 0; i < sums.size() && i < logs.size(); ++i) sums[i].second += logs[i].second;
            std::string postfix;
            for (const auto& [k, v] : sums) postfix += fmt::format("{} {:.4g}  ", k, v / static_cast<double>(counted));
            bar.set_postfix(postfix);
            bar.update();

            if (task.save_samples && o.sample_every > 0 && step % o.sample_every == 0) {
                EvalScope eval(model);
                task.save_samples((run / "samples" / fmt::format("step_{:06}.png", step)).string());
            }
            if (o.save_every > 0 && step % o.save_every == 0) nn::save_checkpoint(last_path, checkpoint(epoch, b));
            // --max-steps at an epoch's last batch lets the epoch end normally (validation, logs); the loop
            // stops below.
            if (g_stop_requested.load() || (o.max_steps > 0 && step >= o.max_steps && b < batches)) {
                stop = true;
                break;
            }
        }
        bar.close();
        if (stop) {
            nn::save_checkpoint(last_path, checkpoint(epoch, b));
            result.interrupted = g_stop_requested.load();
            fmt::print("{} after step {}: saved {}; continue with --resume {}\n",
                       result.interrupted ? "interrupted" : "stopped (--max-steps)", step, last_path, run.string());
            break;
        }

        // End of the epoch: schedule, validate, log, plot, checkpoint.
        if (task.scheduler) task.scheduler->step();
        Logs row{{"epoch", static_cast<double>(epoch + 1)}, {"step", static_cast<double>(step)}};
        for (const auto& [k, v] : sums)
            row.emplace_back("train/" + k, v / static_cast<double>(std::max<int64_t>(counted, 1)));
        row.emplace_back("lr", task.optimizer->param_groups().at(0).lr);
        result.last_loss = value_of(row, "train/loss");
        const bool validate = task.validate && ((epoch + 1) % o.val_every == 0 || epoch + 1 == o.epochs);
        if (validate) {
            EvalScope eval(model);
            result.last_metrics = task.validate();
            row.insert(row.end(), result.last_metrics.begin(), result.last_metrics.end());
        }
        row.emplace_back("time", std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count());
        csv.append(row);
        data::plot_csv(csv.path(), (run / "results.png").string());  // one panel per column, as ultralytics'
        if (task.save_samples) {
            EvalScope eval(model);
            task.save_samples((run / "samples" / fmt::format("epoch_{:03}.png", epoch + 1)).string());
        }

        std::string line = fmt::format("epoch {}/{}:", epoch + 1, o.epochs);
        for (size_t i = 2; i < row.size(); ++i) line += fmt::format(" {} {:.5g}", row[i].first, row[i].second);
        fmt::print("{}\n", line);

        const double metric = task.best_metric.empty() ? result.last_loss : value_of(row, task.best_metric);
        const bool improved = std::isfinite(metric) && (maximize ? metric > best : metric < best);
        if (improved) best = metric;
        nn::save_checkpoint(last_path, checkpoint(epoch + 1, 0));
        if (improved) nn::save_checkpoint(best_path, checkpoint(epoch + 1, 0));
        batch_in_epoch = 0;
        result.epochs_completed = epoch + 1;
        if (o.max_steps > 0 && step >= o.max_steps) break;
    }
    result.steps = step;
    result.best_metric = best;
    return result;
}

}  // namespace nabla::apps
