// nn/optim/reduce_lr_on_plateau.cpp — ReduceLROnPlateau (lr_scheduler.h), as torch 1.13's: a step per metric value,
// the lr cut by `factor` after more than `patience` steps without improvement.
#include <cmath>
#include <limits>

#include "nn/optim/lr_scheduler.h"
#include "ops/format.h"

namespace nabla::optim {

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions o)
    : optimizer_(optimizer),
      mode_(static_cast<int64_t>(o.mode)),
      threshold_mode_(static_cast<int64_t>(o.threshold_mode)),
      factor_(o.factor),
      threshold_(o.threshold),
      eps_(o.eps),
      patience_(o.patience),
      cooldown_(o.cooldown) {
    if (!(o.factor < 1.0))
        throw ValueError(detail::concat("ReduceLROnPlateau: factor should be < 1.0, got ", o.factor));
    const size_t groups = optimizer.param_groups().size();
    if (!o.min_lrs.empty() && o.min_lrs.size() != groups)
        throw ValueError(detail::concat("ReduceLROnPlateau: expected ", groups, " min_lrs (one per param group), got ",
                                        o.min_lrs.size()));
    min_lrs_ = o.min_lrs.empty() ? std::vector<double>(groups, o.min_lr) : o.min_lrs;
    best_ = mode_ == static_cast<int64_t>(PlateauMode::min) ? std::numeric_limits<double>::infinity()
                                                            : -std::numeric_limits<double>::infinity();
    for (const auto& g : optimizer.param_groups()) last_lr_.push_back(g.lr);
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
    const bool min = mode_ == static_cast<int64_t>(PlateauMode::min);
    const bool rel = threshold_mode_ == static_cast<int64_t>(ThresholdMode::rel);
    if (min && rel) return a < best * (1. - threshold_);
    if (min) return a < best - threshold_;
    if (rel) return a > best * (threshold_ + 1.);
    return a > best + threshold_;
}

void ReduceLROnPlateau::step(double metric) {
    auto& groups = optimizer_.param_groups();
    if (groups.size() != min_lrs_.size())
        throw ValueError(detail::concat("ReduceLROnPlateau.step: the optimizer has ", groups.size(),
                                        " param groups, the scheduler was made for ", min_lrs_.size()));
    ++last_epoch_;
    if (is_better(metric, best_)) {
        best_ = metric;
        num_bad_epochs_ = 0;
    } else {
        ++num_bad_epochs_;
    }
    if (in_cooldown()) {
        --cooldown_counter_;
        num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
    }
    if (num_bad_epochs_ > patience_) {
        for (size_t g = 0; g < groups.size(); ++g) {
            const double old_lr = groups[g].lr;
            const double new_lr = std::max(old_lr * factor_, min_lrs_[g]);
            if (old_lr - new_lr > eps_) groups[g].lr = new_lr;
        }
        cooldown_counter_ = cooldown_;
        num_bad_epochs_ = 0;
    }
    last_lr_.clear();
    for (const auto& g : groups) last_lr_.push_back(g.lr);
}

void ReduceLROnPlateau::fields(StateIO& io) {
    io.field("mode", mode_);  // 0 = min, 1 = max
    io.field("factor", factor_);
    io.field("patience", patience_);
    io.field("threshold", threshold_);
    io.field("threshold_mode", threshold_mode_);  // 0 = rel, 1 = abs
    io.field("cooldown", cooldown_);
    io.field("min_lrs", min_lrs_);
    io.field("eps", eps_);
    io.field("best", best_);
    io.field("num_bad_epochs", num_bad_epochs_);
    io.field("cooldown_counter", cooldown_counter_);
    io.field("last_epoch", last_epoch_);
    io.field("last_lr", last_lr_);
}

TensorMap ReduceLROnPlateau::state_dict() const {
    TensorMap out;
    StateIO io = StateIO::saver(out);
    const_cast<ReduceLROnPlateau*>(this)->fields(io);  // a saver only reads the fields
    return out;
}

void ReduceLROnPlateau::load_state_dict(const TensorMap& in) {
    StateIO check = StateIO::checker(in);
    fields(check);
    std::vector<std::string> problems = check.problems();
    for (auto& u : unexpected_keys(in, check.visited())) problems.push_back(std::move(u));
    if (!problems.empty()) {
        std::string text;
        for (const auto& p : problems) text += (text.empty() ? "" : "; ") + p;
        throw ValueError("ReduceLROnPlateau.load_state_dict: " + text);
    }
    StateIO load = StateIO::loader(in);
    fields(load);
}

}  // namespace nabla::optim
