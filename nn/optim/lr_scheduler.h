// nn/optim/lr_scheduler.h — learning-rate schedulers (torch.optim.lr_scheduler of torch 1.13): StepLR, MultiStepLR,
// CosineAnnealingLR, LinearLR, LambdaLR, OneCycleLR and ReduceLROnPlateau.
//
// A scheduler changes the `lr` of every parameter group of an optimizer (and OneCycleLR SGD's `momentum` or Adam's
// `betas[0]`). As in torch, the constructor already takes one step: with last_epoch = -1 it records each group's
// lr as `initial_lr` (base_lrs), then sets the lr for epoch 0. Call step() after optimizer.step(), once per epoch
// (OneCycleLR: once per batch):
//   optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
//   optim::CosineAnnealingLR sched(opt, 100);
//   for (epoch...) { train(...); sched.step(); }
// The rules are torch's chainable forms, which compute each lr from the current one (so that another scheduler or
// the user may change it in between); CosineAnnealingLR's recursive form drifts from the closed form in the last
// bits, and these numbers follow torch's.
//
// state_dict() is a TensorMap (see nn/optim/state_io.h for the encoding): last_epoch, step_count (0-dim int64),
// base_lrs and last_lr (float64 [groups]), and each scheduler's own settings under their torch names (step_size,
// gamma, milestones, T_max, eta_min, ...). load_state_dict checks every key and length and throws one ValueError
// listing the problems. LambdaLR's functions are not saved, as in torch.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "nn/optim/optimizer.h"

namespace nabla::optim {

class LRScheduler {
public:
    virtual ~LRScheduler() = default;
    LRScheduler(const LRScheduler&) = delete;
    LRScheduler& operator=(const LRScheduler&) = delete;

    // last_epoch += 1 and every group's lr set to get_lr().
    void step();
    const std::vector<double>& get_last_lr() const { return last_lr_; }
    int64_t last_epoch() const { return last_epoch_; }
    const std::vector<double>& base_lrs() const { return base_lrs_; }
    Optimizer& optimizer() const { return optimizer_; }
    const std::string& name() const { return name_; }

    TensorMap state_dict() const;
    void load_state_dict(const TensorMap& state_dict);

protected:
    // Records initial_lr in the groups (or, when resuming with last_epoch >= 0, requires it) and base_lrs.
    LRScheduler(Optimizer& optimizer, int64_t last_epoch, std::string name);
    // torch's _initial_step: the last line of every subclass constructor, once get_lr() can run.
    void initial_step();
    // The lrs for last_epoch, usually from the groups' current lrs (torch's chainable get_lr).
    virtual std::vector<double> get_lr() = 0;
    // Visits the saved fields; a subclass adds its own after the base's.
    virtual void fields(StateIO& io);
    std::vector<double> group_lrs() const;  // every group's current lr

    Optimizer& optimizer_;
    std::string name_;
    int64_t last_epoch_;
    int64_t step_count_ = 0;  // torch's _step_count: 1 after the constructor's step
    std::vector<double> base_lrs_, last_lr_;
};

// lr *= gamma every step_size epochs.
class StepLR : public LRScheduler {
public:
    StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1, int64_t last_epoch = -1);

protected:
    std::vector<double> get_lr() override;
    void fields(StateIO& io) override;

private:
    int64_t step_size_;
    double gamma_;
};

// lr *= gamma at each milestone epoch (a milestone listed k times multiplies by gamma^k, as torch's Counter).
class MultiStepLR : public LRScheduler {
public:
    MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1, int64_t last_epoch = -1);

protected:
    std::vector<double> get_lr() override;
    void fields(StateIO& io) override;

private:
    std::vector<int64_t> milestones_;  // sorted
    double gamma_;
};

// lr = eta_min + (base_lr - eta_min) (1 + cos(pi t / T_max)) / 2, in torch's recursive form.
class CosineAnnealingLR : public LRScheduler {
public:
    CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0, int64_t last_epoch = -1);

protected:
    std::vector<double> get_lr() override;
    void fields(StateIO& io) override;

private:
    int64_t T_max_;
    double eta_min_;
};

struct LinearLROptions {
    double start_factor = 1.0 / 3, end_factor = 1.0;  // both in (0, 1] (end_factor may be 0)
    int64_t total_iters = 5;
    int64_t last_epoch = -1;
};

// The factor of base_lr goes linearly from start_factor to end_factor over total_iters epochs, then stays.
class LinearLR : public LRScheduler {
public:
    explicit LinearLR(Optimizer& optimizer, LinearLROptions options = {});

protected:
    std::vector<double> get_lr() override;
    void fields(StateIO& io) override;

private:
    double start_factor_, end_factor_;
    int64_t total_iters_;
};

// lr = base_lr * lr_lambda(epoch), one function for all groups or one per group.
class LambdaLR : public LRScheduler {
public:
    using Lambda = std::function<double(int64_t)>;
    LambdaLR(Optimizer& optimizer, Lambda lr_lambda, int64_t last_epoch = -1);
    LambdaLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas, int64_t last_epoch = -1);

protected:
    std::vector<double> get_lr() override;

private:
    std::vector<Lambda> lr_lambdas_;
};

enum class AnnealStrategy { cos = 0, linear = 1 };

struct OneCycleLROptions {
    double max_lr = 0;        // required, for every group
    int64_t total_steps = 0;  // or epochs * steps_per_epoch
    int64_t epochs = 0, steps_per_epoch = 0;
    double pct_start = 0.3;
    AnnealStrategy anneal_strategy = AnnealStrategy::cos;
    bool cycle_momentum = true;
    double base_momentum = 0.85, max_momentum = 0.95;
    double div_factor = 25, final_div_factor = 1e4;
    bool three_phase = false;
    int64_t last_epoch = -1;
};

// The 1cycle policy (Smith & Topin 2017, fastai's two phases by default): lr anneals from max_lr / div_factor up to
// max_lr over pct_start of the steps, then down to initial_lr / final_div_factor; momentum (SGD's momentum or
// Adam's beta1) moves the opposite way between max_momentum and base_momentum. Stepped once per batch; stepping
// past total_steps is an error.
class OneCycleLR : public LRScheduler {
public:
    OneCycleLR(Optimizer& optimizer, OneCycleLROptions options);

protected:
    std::vector<double> get_lr() override;
    void fields(StateIO& io) override;

private:
    struct Phase {
        double end_step;
        int start_lr, end_lr, start_momentum, end_momentum;  // indices into the per-group values below
    };
    std::vector<Phase> phases() const;
    double anneal(double start, double end, double pct) const;

    int64_t total_steps_;
    double pct_start_;
    AnnealStrategy anneal_strategy_;
    bool three_phase_, cycle_momentum_, use_beta1_ = false;
    // per group: torch keeps these in the param groups as max_lr, min_lr, max_momentum, base_momentum
    std::vector<double> max_lrs_, min_lrs_, max_momentums_, base_momentums_;
};

enum class PlateauMode { min = 0, max = 1 };
enum class ThresholdMode { rel = 0, abs = 1 };

struct ReduceLROnPlateauOptions {
    PlateauMode mode = PlateauMode::min;
    double factor = 0.1;  // < 1
    int64_t patience = 10;
    double threshold = 1e-4;
    ThresholdMode threshold_mode = ThresholdMode::rel;
    int64_t cooldown = 0;
    double min_lr = 0;  // for every group, unless min_lrs gives one per group
    std::vector<double> min_lrs;
    double eps = 1e-8;
};

// lr *= factor (down to min_lr) once the metric has not improved for more than `patience` steps; then waits
// `cooldown` steps. Improving means below best * (1 - threshold) in min/rel mode, best - threshold in min/abs, and
// symmetrically for max. Not an LRScheduler in torch either: step() takes the metric.
class ReduceLROnPlateau {
public:
    explicit ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
    void step(double metric);
    const std::vector<double>& get_last_lr() const { return last_lr_; }
    int64_t last_epoch() const { return last_epoch_; }
    int64_t num_bad_epochs() const { return num_bad_epochs_; }
    double best() const { return best_; }
    bool in_cooldown() const { return cooldown_counter_ > 0; }

    // Keys: the option names (mode and threshold_mode as int64: min = 0, max = 1; rel = 0, abs = 1), best,
    // num_bad_epochs, cooldown_counter, last_epoch, last_lr.
    TensorMap state_dict() const;
    void load_state_dict(const TensorMap& state_dict);

private:
    bool is_better(double a, double best) const;
    void fields(StateIO& io);

    Optimizer& optimizer_;
    int64_t mode_, threshold_mode_;  // PlateauMode, ThresholdMode as saved
    double factor_, threshold_, eps_;
    int64_t patience_, cooldown_;
    std::vector<double> min_lrs_;
    double best_;
    int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
    std::vector<double> last_lr_;
};

}  // namespace nabla::optim
