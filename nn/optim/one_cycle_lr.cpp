// nn/optim/one_cycle_lr.cpp — OneCycleLR (lr_scheduler.h), torch 1.13's get_lr with its phases and annealing
// functions written in the same order of operations, so that lr and momentum match torch to the last bit.
#include <cmath>
#include <numbers>

#include "nn/optim/lr_scheduler.h"

namespace nabla::optim {
namespace {

enum Value { kInitialLr, kMaxLr, kMinLr, kMaxMomentum, kBaseMomentum };

// torch sets group['initial_lr'] = max_lr / div_factor before the base constructor records base_lrs.
Optimizer& with_initial_lr(Optimizer& optimizer, const OneCycleLROptions& o) {
    if (o.last_epoch == -1)
        for (auto& g : optimizer.param_groups()) g.initial_lr = o.max_lr / o.div_factor;
    return optimizer;
}

int64_t total_steps_of(const OneCycleLROptions& o) {
    if (o.total_steps == 0 && (o.epochs == 0 || o.steps_per_epoch == 0))
        throw ValueError("OneCycleLR: you must define either total_steps OR (epochs AND steps_per_epoch)");
    if (o.total_steps < 0)
        throw ValueError(detail::concat("OneCycleLR: expected positive integer total_steps, but got ", o.total_steps));
    if (o.total_steps > 0) return o.total_steps;
    if (o.epochs < 0 || o.steps_per_epoch < 0)
        throw ValueError(detail::concat("OneCycleLR: expected positive epochs and steps_per_epoch, but got ", o.epochs,
                                        " and ", o.steps_per_epoch));
    return o.epochs * o.steps_per_epoch;
}

}  // namespace

OneCycleLR::OneCycleLR(Optimizer& optimizer, OneCycleLROptions o)
    : LRScheduler(with_initial_lr(optimizer, o), o.last_epoch, "OneCycleLR"),
      total_steps_(total_steps_of(o)),
      pct_start_(o.pct_start),
      anneal_strategy_(o.anneal_strategy),
      three_phase_(o.three_phase),
      cycle_momentum_(o.cycle_momentum) {
    if (!(o.max_lr > 0))
        throw ValueError(detail::concat("OneCycleLR: max_lr is required (a positive number), got ", o.max_lr));
    if (!(o.pct_start >= 0 && o.pct_start <= 1))
        throw ValueError(detail::concat("OneCycleLR: expected float between 0 and 1 pct_start, but got ", o.pct_start));
    const size_t groups = optimizer.param_groups().size();
    max_lrs_.assign(groups, o.max_lr);
    min_lrs_.assign(groups, o.max_lr / o.div_factor / o.final_div_factor);
    if (cycle_momentum_) {
        if (!optimizer.has_momentum() && !optimizer.has_betas())
            throw ValueError(detail::concat("OneCycleLR: optimizer ", optimizer.name(),
                                            " must support momentum with the cycle_momentum option enabled"));
        use_beta1_ = optimizer.has_betas();
        max_momentums_.assign(groups, o.max_momentum);
        base_momentums_.assign(groups, o.base_momentum);
        if (o.last_epoch == -1)
            for (auto& g : optimizer.param_groups()) (use_beta1_ ? g.betas[0] : g.momentum) = o.max_momentum;
    }
    initial_step();
}

std::vector<OneCycleLR::Phase> OneCycleLR::phases() const {
    const double total = static_cast<double>(total_steps_);
    if (three_phase_)
        return {{pct_start_ * total - 1, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
                {2 * pct_start_ * total - 2, kMaxLr, kInitialLr, kBaseMomentum, kMaxMomentum},
                {total - 1, kInitialLr, kMinLr, kMaxMomentum, kMaxMomentum}};
    return {{pct_start_ * total - 1, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
            {total - 1, kMaxLr, kMinLr, kBaseMomentum, kMaxMomentum}};
}

double OneCycleLR::anneal(double start, double end, double pct) const {
    if (anneal_strategy_ == AnnealStrategy::linear) return (end - start) * pct + start;
    const double cos_out = std::cos(std::numbers::pi * pct) + 1;
    return end + (start - end) / 2.0 * cos_out;
}

std::vector<double> OneCycleLR::get_lr() {
    if (last_epoch_ > total_steps_)
        throw ValueError(detail::concat("OneCycleLR: tried to step ", last_epoch_ + 1,
                                        " times. The specified number of total steps is ", total_steps_));
    const std::vector<Phase> ph = phases();
    auto& groups = optimizer_.param_groups();
    std::vector<double> lrs;
    for (size_t g = 0; g < groups.size(); ++g) {
        const double values[] = {base_lrs_[g], max_lrs_[g], min_lrs_[g], cycle_momentum_ ? max_momentums_[g] : 0,
                                 cycle_momentum_ ? base_momentums_[g] : 0};
        const double step = static_cast<double>(last_epoch_);
        double start_step = 0, lr = 0, momentum = 0;
        for (size_t i = 0; i < ph.size(); ++i) {
            if (step <= ph[i].end_step || i + 1 == ph.size()) {
                const double pct = (step - start_step) / (ph[i].end_step - start_step);
                lr = anneal(values[ph[i].start_lr], values[ph[i].end_lr], pct);
                momentum = anneal(values[ph[i].start_momentum], values[ph[i].end_momentum], pct);
                break;
            }
            start_step = ph[i].end_step;
        }
        lrs.push_back(lr);
        if (cycle_momentum_) (use_beta1_ ? groups[g].betas[0] : groups[g].momentum) = momentum;
    }
    return lrs;
}

void OneCycleLR::fields(StateIO& io) {
    LRScheduler::fields(io);
    int64_t anneal = static_cast<int64_t>(anneal_strategy_);
    io.field("total_steps", total_steps_);
    io.field("pct_start", pct_start_);
    io.field("anneal_strategy", anneal);  // 0 = cos, 1 = linear
    io.field("three_phase", three_phase_);
    io.field("cycle_momentum", cycle_momentum_);
    io.field("use_beta1", use_beta1_);
    io.field("max_lrs", max_lrs_);
    io.field("min_lrs", min_lrs_);
    io.field("max_momentums", max_momentums_);
    io.field("base_momentums", base_momentums_);
    anneal_strategy_ = anneal == 1 ? AnnealStrategy::linear : AnnealStrategy::cos;
}

}  // namespace nabla::optim
