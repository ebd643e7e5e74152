// apps/train_loop.cpp — fit(): the shared training loop, its checkpoints, resume and Ctrl-C handling.
#include "apps/train_loop.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/csv_log.h"
#include "apps/progress.h"
#include "apps/slimming.h"
#include "autograd/grad_mode.h"
#include "core/autocast.h"
#include "core/generator.h"
#include "core/trace/trace.h"
#include "nn/anomaly.h"
#include "nn/checkpoint.h"
#include "nn/data/plot.h"
#include "nn/distributed.h"
#include "nn/normalization.h"
#include "nn/parallel.h"
#include "nn/prune.h"
#include "ops/indexing.h"
#include "ops/reduce.h"

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
    cmd->add_option("--device", o.device, "cpu, cuda or cuda:N (the GPU's index)")
        ->capture_default_str()
        ->check(device_name());
    cmd->add_option("--precision", o.precision,
                    "fp32, or bf16: convolutions, matmuls and linear layers and their gradients in bfloat16 with "
                    "float32 accumulation; weights, activations and everything else float32 (core/autocast.h)")
        ->capture_default_str()
        ->check(CLI::IsMember({"fp32", "bf16"}));
    cmd->add_option("--weights", o.weights,
                    "Initial weights: a checkpoint (its EMA weights if it has them) or a state dict; the weights of a "
                    "pruned network (nabla prune) train as that narrower network (fine-tuning)");
    cmd->add_option("--resume", o.resume,
                    "Continue a run exactly where it stopped: a checkpoint file or a run directory (its "
                    "weights/last.safetensors); the run's options (data, sizes, lr, epochs, --set) come back from its "
                    "config unless given again (e.g. --epochs to train longer); the optimizer's state, its lr "
                    "included, is the checkpoint's");
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
    cmd->add_option("--sparsity", o.sparsity,
                    "Network slimming's L1 term on the prunable BatchNorms (sr, e.g. 1e-4): gamma.grad += sr (1 - 0.9 "
                    "epoch / epochs) sign(gamma), beta.grad += 10 sr sign(beta), with |gamma| logged every epoch; "
                    "then `nabla prune` (0: off)")
        ->capture_default_str()
        ->check(finite_non_negative());
    cmd->add_flag("--prune-residual", o.prune_residual,
                  "With --sparsity: the L1 term (and the |gamma| log) also on the residual groups, which the reference "
                  "leaves whole; then `nabla prune --prune-residual`");
    cmd->add_flag("--exist-ok", o.exist_ok, "Write into --output even if it already holds a run");
    cmd->add_option("--nproc", o.nproc,
                    "Train data-parallel on this many processes of this machine: runs this command under `mpirun -np "
                    "N` (or start it with mpirun yourself, e.g. across machines with a hostfile); --batch is then the "
                    "global batch, split over the processes")
        ->check(CLI::Range(0, 4096));
    cmd->add_flag("--sync-bn", o.sync_bn,
                  "Data-parallel: BatchNorm statistics over the global batch (SyncBatchNorm) instead of each "
                  "process's share");
    cmd->add_flag("--strict-data", o.strict_data,
                  "Stop at a corrupt or unreadable image (the check before training, or one that fails later) instead "
                  "of leaving its example out with a warning");
}

void load_initial_weights(TrainOptions& o, nn::Module& model) {
    if (o.weights.empty() || !o.resume.empty()) return;
    o.pruned = nn::load_weights_into(model, o.weights, /*strict=*/true, /*prefer_ema=*/true).contains(nn::kPrunedKey);
}

std::string resume_path(const std::string& resume) {
    if (fs::is_directory(resume)) return (fs::path(resume) / "weights" / "last.safetensors").string();
    return resume;
}

void prepare_run(TrainOptions& o, const std::string& model_name) {
    const auto at_least = [&](const char* option, int64_t value, int64_t least) {
        NB_CHECK_VALUE(value >= least, "train ", model_name, ": ", option, " must be >= ", least, ", got ", value);
    };
    at_least("--epochs", o.epochs, 1), at_least("--batch", o.batch, 1), at_least("--val-every", o.val_every, 1);
    at_least("--workers", o.workers, 0), at_least("--save-every", o.save_every, 0);
    at_least("--sample-every", o.sample_every, 0), at_least("--max-steps", o.max_steps, 0);
    set_threads(o.threads, "train");
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

data::DataLoaderOptions for_this_run(const TrainOptions& t, data::DataLoaderOptions o) {
    o.pin_memory = Device::parse(t.device).is_cuda();
    const int64_t world = dist::world_size();
    if (world == 1) return o;
    NB_CHECK_VALUE(o.batch_size % world == 0, "train: --batch ", o.batch_size, " does not split evenly over ", world,
                   " processes (data-parallel: --batch is the global batch)");
    o.batch_size /= world;
    o.num_replicas = world;
    o.rank = dist::rank();
    return o;
}

TensorMap checkpoint_task_state(const std::string& resume) { return nn::load_checkpoint(resume_path(resume)).task; }

namespace {

constexpr const char* kElapsedKey = "train_time_s";  // a checkpoint's seconds of training, for the "time" column

// One run of fit(): the state that lives across steps (counters, best metric, the epoch's running sums) and one
// small function per concern. fit() below reads as the loop itself.
class Loop {
public:
    Loop(const TrainOptions& o, TrainTask& task);
    void resume(const std::string& path);  // --resume: every part of the checkpoint back in place
    void begin_epoch();                    // model.train(), the loader at the epoch (and batch) to start from
    void train_batch(const Batch& batch);  // forward, backward, hooks; an optimizer step when it is due
    bool should_stop() const;              // Ctrl-C or --max-steps, checked after an optimizer step
    void stop();                           // the checkpoint and message of an early stop
    void end_epoch();                      // schedule, validate, log, plot, samples, checkpoints
    int64_t steps() const { return step_; }
    TrainResult finish();

    int64_t epoch = 0;

private:
    StepInfo info() const;
    Batch prepare(const Batch& input) const;              // on the device, images in the task's layout
    Tensor forward_loss(const Batch& batch, Logs& logs);  // the task's loss under --precision
    bool gradients_finite() const;
    // Stops training when the loss or a gradient is not finite, naming the step and where the values went bad.
    [[noreturn]] void fail_non_finite(const Batch& batch, const std::string& what);
    int64_t accumulation() const;             // batches per optimizer step at this iteration
    void optimizer_step(const StepInfo& at);  // warmup, before_step, step, zero_grad, scheduler, EMA, after_step
    void after_optimizer_step();              // samples and mid-epoch checkpoints every N steps
    void log_batch(double loss, Logs logs);
    // Data-parallel agreement (one small all-reduce; in a plain run the local value): whether `cond` holds on every
    // rank, or on some rank.
    bool on_every_rank(bool cond) const { return dist::all_reduce(cond ? 0.0 : 1.0) == 0; }  // ranks saying no
    bool on_any_rank(bool cond) const { return !on_every_rank(!cond); }
    void average_over_ranks();  // the epoch's running sums and counts of the logged values, over every rank
    nn::Checkpoint checkpoint(int64_t at_epoch, int64_t at_batch) const;
    void save(const std::string& path, int64_t at_epoch, int64_t at_batch) const;

    const TrainOptions& o_;
    TrainTask& task_;
    const std::string config_;  // the run's options: args.json and every checkpoint's config (run_config)
    nn::Module& model_;
    const bool main_ = dist::is_main_process();       // rank 0 (or a plain run): it alone writes and prints
    std::optional<nn::DistributedDataParallel> ddp_;  // a data-parallel run
    data::DataLoader& loader_;
    Device device_;
    fs::path run_;
    std::string last_path_, best_path_;
    CsvLog csv_;
    bool maximize_;
    double best_;
    int64_t batch_ = 0, step_ = 0, pending_ = 0;  // pending_: batches accumulated since the last optimizer step
    int64_t batches_ = 0;
    std::optional<ProgressBar> bar_;
    Logs sums_;  // running sums of the logged values over this epoch's batches (in this process)
    int64_t counted_ = 0;
    bool first_batch_ = true;
    const Precision precision_ = parse_precision(o_.precision.c_str());  // of the training forwards (--precision)
    bool pruned_ = o_.pruned;  // the model was narrowed to pruned weights: checkpoints say so (and resume sets it)
    std::optional<std::vector<std::string>> norms_;  // the prunable BatchNorms, traced on the first batch
    // The prunable BatchNorms of the model, traced once on the first example of `images` (nn/prune.h).
    const std::vector<std::string>& prunable_norms(const Tensor& images) {
        if (!norms_) norms_ = nn::trace_channels(model_, images.narrow(0, 0, 1), o_.prune_residual).prunable_norms();
        return *norms_;
    }
    // This epoch's sparsity: o.sparsity (1 - 0.9 epoch / epochs), as train_sparity.py.
    double sparsity() const {
        return o_.sparsity * (1.0 - 0.9 * static_cast<double>(epoch) / static_cast<double>(o_.epochs));
    }
    TrainResult result_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

fs::path run_directory(const TrainOptions& o) { return o.output.empty() ? fs::path("runs/train") : fs::path(o.output); }

// The task's options plus the ones fit() itself owns (the sparsity term), so that `--resume` brings them back for
// every trainer, not only for those whose task lists them.
std::string run_config(const std::string& task_json, const TrainOptions& o) {
    if (task_json.empty() || o.sparsity == 0) return task_json;
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(task_json);
    j["sparsity"] = o.sparsity;
    if (o.prune_residual) j["prune_residual"] = true;
    return j.dump();
}

Loop::Loop(const TrainOptions& o, TrainTask& task)
    : o_(o),
      task_(task),
      config_(run_config(task.config_json, o)),
      model_(*task.model),
      loader_(*task.loader),
      device_(Device::parse(o.device)),
      run_(run_directory(o)),
      last_path_((run_ / "weights" / "last.safetensors").string()),
      best_path_((run_ / "weights" / "best.safetensors").string()),
      csv_((run_ / "results.csv").string()),
      maximize_(task.best_metric.empty() ? false : task.maximize),
      best_(maximize_ ? -INFINITY : INFINITY) {
    NB_CHECK_VALUE(dist::world_size() == 1 || device_.is_cpu(),
                   "train: data-parallel runs (mpirun, --nproc) train on the CPU, since MPI moves host memory; "
                   "--device ",
                   o.device, " needs a single process");
    if (device_ != kCPU) {  // before anything is written: no device, no run directory
        model_.to(device_);
        if (task.ema) task.ema->to(device_);  // beside the model, its updates copy nothing
    }
    if (dist::world_size() > 1) {
        if (o.sync_bn) nn::convert_sync_batchnorm(model_);
        ddp_.emplace(model_);  // every rank from rank 0's weights; gradients averaged during backward
    }
    if (main_) {
        fs::create_directories(run_ / "weights");
        fs::create_directories(run_ / "samples");
        if (!config_.empty()) write_text_file((run_ / "args.json").string(), config_ + "\n");
    }
    batches_ = loader_.size();
    result_.run_dir = run_.string();
}

nn::Checkpoint Loop::checkpoint(int64_t at_epoch, int64_t at_batch) const {
    nn::Checkpoint c;
    c.model = model_.state_dict();
    c.optimizer = task_.optimizer->state_dict();
    if (task_.scheduler) c.scheduler = task_.scheduler->state_dict();
    if (task_.plateau) c.plateau = task_.plateau->state_dict();
    if (task_.ema) c.ema = task_.ema->state_dict();
    if (task_.task_state) c.task = task_.task_state();
    c.epoch = at_epoch;
    c.batch_in_epoch = at_batch;
    c.step = step_;
    c.best_metric = best_;
    if (!task_.best_metric.empty()) c.extra["best_metric_name"] = task_.best_metric;  // what best_metric measures
    c.rng_state = default_generator().state();
    c.config = config_;
    if (pruned_) c.extra[nn::kPrunedKey] = "1";
    // The training time so far, so that a resumed run's "time" column goes on from it rather than from zero.
    c.extra[kElapsedKey] =
        fmt::format("{}", std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    return c;
}

void Loop::save(const std::string& path, int64_t at_epoch, int64_t at_batch) const {
    if (main_) nn::save_checkpoint(path, checkpoint(at_epoch, at_batch));
}

void Loop::resume(const std::string& path) {
    const nn::Checkpoint c = nn::load_checkpoint(path);
    try {
        if (c.extra.contains(nn::kPrunedKey)) {  // the model was narrowed to pruned weights: narrow it again
            model_.adopt_shapes(c.model);
            pruned_ = true;
        }
        model_.load_state_dict(c.model, true);
    } catch (const Error& e) {
        throw ValueError(fmt::format("--resume {}: {}", path, e.what()));
    }
    task_.optimizer->load_state_dict(c.optimizer);
    if (task_.scheduler && !c.scheduler.empty()) task_.scheduler->load_state_dict(c.scheduler);
    if (task_.plateau && !c.plateau.empty()) task_.plateau->load_state_dict(c.plateau);
    if (task_.ema && !c.ema.empty()) task_.ema->load_state_dict(c.ema);
    default_generator().set_state(c.rng_state);
    epoch = c.epoch;
    batch_ = c.batch_in_epoch;
    step_ = c.step;
    best_ = c.best_metric;
    double elapsed = 0;  // a checkpoint without it (or with a garbled one) starts the column at zero
    if (const auto it = c.extra.find(kElapsedKey); it != c.extra.end())
        std::from_chars(it->second.data(), it->second.data() + it->second.size(), elapsed);
    start_ -= std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(elapsed));
    if (main_) csv_.truncate_from("epoch", static_cast<double>(epoch + 1));  // rows the checkpoint had not reached
    fmt::print("resuming {} at epoch {}, batch {}, step {}\n", path, epoch + 1, batch_, step_);
}

StepInfo Loop::info() const {
    return {.epoch = epoch,
            .epochs = o_.epochs,
            .batch = batch_,
            .batches = batches_,
            .iteration = epoch * batches_ + batch_,
            .step = step_};
}

void Loop::begin_epoch() {
    loader_.set_epoch(epoch, batch_);
    model_.train();
    bar_.emplace(fmt::format("epoch {}/{}", epoch + 1, o_.epochs), batches_);
    bar_->set_position(batch_);
    sums_.clear();
    counted_ = 0;
}

int64_t Loop::accumulation() const {
    const Warmup& w = task_.warmup;
    const int64_t ni = info().iteration;
    if (!w.ramp_accumulation || ni >= w.iterations) return task_.accumulate;
    const double t = static_cast<double>(ni) / static_cast<double>(w.iterations);
    // np.round, as ultralytics: halves to even
    return std::max<int64_t>(1,
                             static_cast<int64_t>(std::nearbyint(1.0 + t * static_cast<double>(task_.accumulate - 1))));
}

Batch Loop::prepare(const Batch& input) const {
    Batch batch = input;
    if (device_ != kCPU)
        for (auto& t : batch.tensors) t = t.to(device_);
    if (task_.input_format == MemoryFormat::ChannelsLast && !batch.tensors.empty() && batch[0].dim() == 4)
        batch.tensors[0] = batch[0].contiguous(MemoryFormat::ChannelsLast);
    return batch;
}

Tensor Loop::forward_loss(const Batch& batch, Logs& logs) {
    AutocastGuard amp(precision_);  // the backward keeps the forward's precision
    return task_.loss(batch, logs);
}

bool Loop::gradients_finite() const {
    for (const auto& [name, p] : model_.named_parameters())
        if (p.grad().defined() && !all_finite(p.grad())) return false;
    return true;
}

void Loop::fail_non_finite(const Batch& batch, const std::string& what) {
    bar_->close();
    std::string cause = "it did not recur when the batch ran again";
    {  // the batch once more, watched: the first module output with a NaN or an infinity, or the backward op that
       // made one (anomaly mode). Nothing of it is kept: no optimizer step is taken and nothing is saved.
        model_.zero_grad();
        nn::NonFiniteWatch watch;
        DetectAnomalyGuard anomaly;
        Logs logs;
        try {
            const Tensor loss = forward_loss(batch, logs);
            if (watch.first())
                cause = "the first non-finite tensor is the output of " + *watch.first();
            else if (!std::isfinite(loss.item<double>()))
                cause = "the model's outputs are finite, the loss function made it";
            else
                loss.backward();
        } catch (const AnomalyError& e) {
            cause = e.what();
        }
    }
    const std::string last = fs::exists(last_path_)
                                 ? fmt::format("{} holds the last good checkpoint and --resume {} continues from it",
                                               last_path_, run_.string())
                                 : std::string("no checkpoint was saved yet");
    throw Error(
        fmt::format("train: {} at step {} (epoch {}, batch {}): {}; this step was not taken, {} (try a "
                    "lower learning rate)",
                    what, step_ + 1, epoch + 1, batch_ + 1, cause, last));
}

void Loop::train_batch(const Batch& input) {
    trace::step_marker(info().iteration + 1);            // a step boundary in the trace (a no-op unless tracing)
    for (const data::SkippedExample& s : input.skipped)  // a file that failed to load (DataLoaderOptions::skip_errors)
        bar_->write(fmt::format("WARNING: skipping example {}: {}", s.index, s.error));
    const Batch batch = prepare(input);
    if ((o_.sparsity > 0 || task_.log_bn_gammas) && !norms_) prunable_norms(batch[0]);  // traced once
    Logs logs;
    const Tensor loss = forward_loss(batch, logs);
    const double l = loss.item<double>();
    if (!on_every_rank(std::isfinite(l))) fail_non_finite(batch, fmt::format("the loss is {}", l));
    const bool steps = pending_ + 1 >= accumulation() || batch_ + 1 == batches_;
    {
        // Gradient accumulation: the backwards before the step keep their gradients local (DDP's no_sync).
        std::optional<nn::DistributedDataParallel::NoSyncGuard> local;
        if (ddp_ && !steps) local.emplace(*ddp_);
        loss.backward();
    }
    if (!gradients_finite()) fail_non_finite(batch, "a gradient is not finite");
    const StepInfo at = info();
    if (o_.sparsity > 0) nn::add_l1_subgradient(model_, prunable_norms(batch[0]), sparsity(), 10.0 * o_.sparsity);
    if (task_.hooks.after_backward) task_.hooks.after_backward(at);
    ++pending_;
    if (steps) optimizer_step(at);
    ++batch_;
    log_batch(l, std::move(logs));
    if (pending_ == 0) after_optimizer_step();
}

// ultralytics' np.interp(ni, [0, nw], [start, end]).
double warmup_value(int64_t ni, int64_t nw, double start, double end) {
    return start + (end - start) * static_cast<double>(ni) / static_cast<double>(nw);
}

void Loop::optimizer_step(const StepInfo& at) {
    auto& groups = task_.optimizer->param_groups();
    const Warmup& w = task_.warmup;
    const bool warming = at.iteration < w.iterations;
    std::vector<std::pair<double, double>> scheduled;  // each group's (lr, momentum) to restore after the step
    if (warming) {
        for (size_t g = 0; g < groups.size(); ++g) {
            double& momentum = task_.optimizer->has_momentum() ? groups[g].momentum : groups[g].betas[0];
            scheduled.emplace_back(groups[g].lr, momentum);
            groups[g].lr = warmup_value(at.iteration, w.iterations, w.start_lr[g], groups[g].lr);
            if (w.start_momentum) momentum = warmup_value(at.iteration, w.iterations, *w.start_momentum, momentum);
        }
    }
    if (task_.hooks.before_step) task_.hooks.before_step(at);
    task_.optimizer->step();
    task_.optimizer->zero_grad();
    for (size_t g = 0; g < scheduled.size(); ++g) {
        groups[g].lr = scheduled[g].first;
        (task_.optimizer->has_momentum() ? groups[g].momentum : groups[g].betas[0]) = scheduled[g].second;
    }
    pending_ = 0;
    ++step_;
    if (task_.scheduler && task_.scheduler_interval == SchedulerInterval::step) task_.scheduler->step();
    if (task_.ema) task_.ema->update(model_);
    if (task_.hooks.after_step) task_.hooks.after_step(at);
}

void Loop::average_over_ranks() {
    if (!ddp_) return;  // (the sums are this process's already)
    std::vector<double> values{static_cast<double>(counted_)};
    for (const auto& kv : sums_) values.push_back(kv.second);
    values = dist::all_reduce(std::move(values));
    counted_ = static_cast<int64_t>(values[0]);
    for (size_t i = 0; i < sums_.size(); ++i) sums_[i].second = values[i + 1];
}

void Loop::log_batch(double loss, Logs logs) {
    if (first_batch_) result_.first_loss = loss, first_batch_ = false;
    ++counted_;
    logs.insert(logs.begin(), {"loss", loss});
    if (sums_.empty())
        sums_ = logs;
    else
        for (size_t i = 0; i < sums_.size() && i < logs.size(); ++i) sums_[i].second += logs[i].second;
    std::string postfix;
    for (const auto& [k, v] : sums_) postfix += fmt::format("{} {:.4g}  ", k, v / static_cast<double>(counted_));
    bar_->set_postfix(postfix);
    bar_->update();
}

void Loop::after_optimizer_step() {
    if (main_ && task_.save_samples && o_.sample_every > 0 && step_ % o_.sample_every == 0) {
        EvalScope eval(model_);
        task_.save_samples((run_ / "samples" / fmt::format("step_{:06}.png", step_)).string());
    }
    if (o_.save_every > 0 && step_ % o_.save_every == 0) save(last_path_, epoch, batch_);
}

bool Loop::should_stop() const {
    if (pending_ > 0) return false;  // only between optimizer steps: a checkpoint holds no partial gradients
    // --max-steps at an epoch's last batch lets the epoch end normally (validation, logs); fit() stops after it.
    return on_any_rank(g_stop_requested.load()) ||  // a Ctrl-C on any rank stops them all
           (o_.max_steps > 0 && step_ >= o_.max_steps && batch_ < batches_);
}

void Loop::stop() {
    bar_->close();
    if (counted_ > 0) result_.last_loss = value_of(sums_, "loss") / static_cast<double>(counted_);
    save(last_path_, epoch, batch_);
    result_.interrupted = g_stop_requested.load();
    fmt::print("{} after step {}: saved {}; continue with --resume {}\n",
               result_.interrupted ? "interrupted" : "stopped (--max-steps)", step_, last_path_, run_.string());
}

void Loop::end_epoch() {
    bar_->close();
    if (task_.scheduler && task_.scheduler_interval == SchedulerInterval::epoch) task_.scheduler->step();
    average_over_ranks();
    Logs row{{"epoch", static_cast<double>(epoch + 1)}, {"step", static_cast<double>(step_)}};
    for (const auto& [k, v] : sums_)
        row.emplace_back("train/" + k, v / static_cast<double>(std::max<int64_t>(counted_, 1)));
    row.emplace_back("lr", task_.optimizer->param_groups().at(0).lr);
    result_.last_loss = value_of(row, "train/loss");
    if (task_.validate && ((epoch + 1) % o_.val_every == 0 || epoch + 1 == o_.epochs)) {
        try {
            EvalScope eval(model_);
            if (main_) result_.last_metrics = task_.validate();  // the other ranks wait for its plateau metric
        } catch (const std::exception& e) {  // (a corrupt held-out image): the epoch's training is not thrown away
            save(last_path_, epoch + 1, 0);
            throw Error(
                fmt::format("validation after epoch {} failed: {}; the epoch's training is saved in {}, "
                            "and --resume {} continues after it",
                            epoch + 1, e.what(), last_path_, run_.string()));
        }
        row.insert(row.end(), result_.last_metrics.begin(), result_.last_metrics.end());
        if (task_.plateau) {
            const double metric = main_ ? value_of(result_.last_metrics, task_.plateau_metric) : 0.0;
            NB_CHECK_VALUE(!main_ || !std::isnan(metric), "fit: ReduceLROnPlateau's metric '", task_.plateau_metric,
                           "' is not among the validation results");
            task_.plateau->step(dist::broadcast(metric, 0));  // rank 0 validated; every rank steps the same
        }
    }
    if ((o_.sparsity > 0 || task_.log_bn_gammas) && norms_ && main_)
        log_bn_gammas(nn::abs_gammas(model_.state_dict(), *norms_), sparsity(), epoch, run_.string(), row);
    if (task_.hooks.on_epoch_end) task_.hooks.on_epoch_end(info(), row);
    row.emplace_back("time", std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    if (main_) {
        csv_.append(row);
        data::plot_csv(csv_.path(), (run_ / "results.png").string());  // one panel per column, as ultralytics'
    }
    if (main_ && task_.save_samples) {
        EvalScope eval(model_);
        task_.save_samples((run_ / "samples" / fmt::format("epoch_{:03}.png", epoch + 1)).string());
    }
    std::string line = fmt::format("epoch {}/{}:", epoch + 1, o_.epochs);
    for (size_t i = 2; i < row.size(); ++i) line += fmt::format(" {} {:.5g}", row[i].first, row[i].second);
    fmt::print("{}\n", line);

    const double metric = task_.best_metric.empty() ? result_.last_loss : value_of(row, task_.best_metric);
    const bool improved = std::isfinite(metric) && (maximize_ ? metric > best_ : metric < best_);
    if (improved) best_ = metric;
    save(last_path_, epoch + 1, 0);
    if (improved) save(best_path_, epoch + 1, 0);
    batch_ = 0;
    result_.epochs_completed = epoch + 1;
}

TrainResult Loop::finish() {
    result_.steps = step_;
    result_.best_metric = best_;
    return result_;
}

}  // namespace

TrainResult fit(const TrainOptions& o, TrainTask& task) {
    NB_CHECK_VALUE(task.model && task.optimizer && task.loader && task.loss,
                   "fit: the task needs a model, an optimizer, a loader and a loss");
    NB_CHECK_VALUE(task.accumulate >= 1, "fit: accumulate must be >= 1, got ", task.accumulate);
    NB_CHECK_VALUE(o.sparsity >= 0, "--sparsity must be >= 0, got ", o.sparsity);
    NB_CHECK_VALUE(o.sparsity == 0 || task.accumulate == 1,
                   "--sparsity: no gradient accumulation in sparsity training (the task accumulates ", task.accumulate,
                   " batches)");
    const size_t groups = task.optimizer->param_groups().size();
    NB_CHECK_VALUE(task.warmup.iterations == 0 || task.warmup.start_lr.size() == groups, "fit: the warmup has ",
                   task.warmup.start_lr.size(), " start lrs for ", groups, " parameter groups");
    Loop loop(o, task);
    if (!o.resume.empty()) loop.resume(resume_path(o.resume));
    SigintGuard sigint;
    for (; loop.epoch < o.epochs; ++loop.epoch) {
        loop.begin_epoch();
        bool stop = false;
        for (Batch& batch : *task.loader) {
            loop.train_batch(batch);
            if ((stop = loop.should_stop())) break;
        }
        if (stop) {
            loop.stop();
            break;
        }
        loop.end_epoch();
        if (o.max_steps > 0 && loop.steps() >= o.max_steps) break;
    }
    return loop.finish();
}

bool interrupt_requested() { return g_stop_requested.load(); }

std::string best_text(const TrainResult& r, const std::string& name, const std::string& unit) {
    if (!std::isfinite(r.best_metric)) return name + " not validated yet";
    return fmt::format("best {} {:.4f}{}", name, r.best_metric, unit);
}

}  // namespace nabla::apps
