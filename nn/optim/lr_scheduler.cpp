// nn/optim/lr_scheduler.cpp — the schedulers of lr_scheduler.h, each get_lr written as torch 1.13's
// (torch/optim/lr_scheduler.py) with the same order of floating-point operations, so that the lr sequences are equal
// to the last bit. OneCycleLR is in one_cycle_lr.cpp, ReduceLROnPlateau (which steps on a metric) in
// reduce_lr_on_plateau.cpp.
#include "nn/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "ops/format.h"

namespace nabla::optim {
namespace {

std::string join(const std::vector<std::string>& items) {
    std::string s;
    for (const auto& item : items) s += (s.empty() ? "" : "; ") + item;
    return s;
}

std::vector<double> scaled(std::vector<double> lrs, double factor) {
    for (double& lr : lrs) lr *= factor;
    return lrs;
}

}  // namespace

// --- LRScheduler ---

LRScheduler::LRScheduler(Optimizer& optimizer, int64_t last_epoch, std::string name)
    : optimizer_(optimizer), name_(std::move(name)), last_epoch_(last_epoch) {
    auto& groups = optimizer.param_groups();
    for (size_t g = 0; g < groups.size(); ++g) {
        if (last_epoch == -1) {
            if (!groups[g].initial_lr) groups[g].initial_lr = groups[g].lr;  // torch's group.setdefault
        } else if (!groups[g].initial_lr) {
            throw ValueError(detail::concat(name_, ": param 'initial_lr' is not specified in param_groups[", g,
                                            "] when resuming an optimizer (last_epoch = ", last_epoch, ")"));
        }
        base_lrs_.push_back(*groups[g].initial_lr);
    }
}

void LRScheduler::initial_step() {
    step_count_ = 0;
    step();
}

void LRScheduler::step() {
    auto& groups = optimizer_.param_groups();
    if (groups.size() != base_lrs_.size())
        throw ValueError(detail::concat(name_, ".step: the optimizer has ", groups.size(),
                                        " param groups, the scheduler was made for ", base_lrs_.size()));
    ++step_count_;
    ++last_epoch_;
    const std::vector<double> lrs = get_lr();
    for (size_t g = 0; g < groups.size(); ++g) groups[g].lr = lrs[g];
    last_lr_ = group_lrs();
}

std::vector<double> LRScheduler::group_lrs() const {
    std::vector<double> lrs;
    for (const auto& g : optimizer_.param_groups()) lrs.push_back(g.lr);
    return lrs;
}

void LRScheduler::fields(StateIO& io) {
    io.field("last_epoch", last_epoch_);
    io.field("step_count", step_count_);
    io.field("base_lrs", base_lrs_);
    io.field("last_lr", last_lr_);
}

TensorMap LRScheduler::state_dict() const {
    TensorMap out;
    StateIO io = StateIO::saver(out);
    const_cast<LRScheduler*>(this)->fields(io);  // a saver only reads the fields
    return out;
}

void LRScheduler::load_state_dict(const TensorMap& in) {
    StateIO check = StateIO::checker(in);
    fields(check);
    std::vector<std::string> problems = check.problems();
    for (auto& u : unexpected_keys(in, check.visited())) problems.push_back(std::move(u));
    if (!problems.empty()) throw ValueError(detail::concat(name_, ".load_state_dict: ", join(problems)));
    StateIO load = StateIO::loader(in);
    fields(load);
}

// --- StepLR ---

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma, int64_t last_epoch)
    : LRScheduler(optimizer, last_epoch, "StepLR"), step_size_(step_size), gamma_(gamma) {
    if (step_size <= 0) throw ValueError(detail::concat("StepLR: step_size must be positive, got ", step_size));
    initial_step();
}

std::vector<double> StepLR::get_lr() {
    if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return group_lrs();
    return scaled(group_lrs(), gamma_);
}

void StepLR::fields(StateIO& io) {
    LRScheduler::fields(io);
    io.field("step_size", step_size_);
    io.field("gamma", gamma_);
}

// --- MultiStepLR ---

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma, int64_t last_epoch)
    : LRScheduler(optimizer, last_epoch, "MultiStepLR"), milestones_(std::move(milestones)), gamma_(gamma) {
    std::sort(milestones_.begin(), milestones_.end());
    initial_step();
}

std::vector<double> MultiStepLR::get_lr() {
    const auto hits = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
    if (hits == 0) return group_lrs();
    return scaled(group_lrs(), std::pow(gamma_, static_cast<double>(hits)));
}

void MultiStepLR::fields(StateIO& io) {
    LRScheduler::fields(io);
    io.field("milestones", milestones_, true);
    io.field("gamma", gamma_);
}

// --- CosineAnnealingLR ---

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min, int64_t last_epoch)
    : LRScheduler(optimizer, last_epoch, "CosineAnnealingLR"), T_max_(T_max), eta_min_(eta_min) {
    if (T_max <= 0) throw ValueError(detail::concat("CosineAnnealingLR: T_max must be positive, got ", T_max));
    initial_step();
}

std::vector<double> CosineAnnealingLR::get_lr() {
    constexpr double pi = std::numbers::pi;
    const double e = static_cast<double>(last_epoch_), T = static_cast<double>(T_max_);
    std::vector<double> lrs = group_lrs();
    if (last_epoch_ == 0) return lrs;
    for (size_t g = 0; g < lrs.size(); ++g) {
        if (step_count_ == 1 && last_epoch_ > 0)  // resumed at last_epoch: the closed form
            lrs[g] = eta_min_ + (base_lrs_[g] - eta_min_) * (1 + std::cos(e * pi / T)) / 2;
        else if ((last_epoch_ - 1 - T_max_) % (2 * T_max_) == 0)  // the bottom of a period: climb again
            lrs[g] = lrs[g] + (base_lrs_[g] - eta_min_) * (1 - std::cos(pi / T)) / 2;
        else
            lrs[g] = (1 + std::cos(pi * e / T)) / (1 + std::cos(pi * (e - 1) / T)) * (lrs[g] - eta_min_) + eta_min_;
    }
    return lrs;
}

void CosineAnnealingLR::fields(StateIO& io) {
    LRScheduler::fields(io);
    io.field("T_max", T_max_);
    io.field("eta_min", eta_min_);
}

// --- LinearLR ---

LinearLR::LinearLR(Optimizer& optimizer, LinearLROptions o)
    : LRScheduler(optimizer, o.last_epoch, "LinearLR"),
      start_factor_(o.start_factor),
      end_factor_(o.end_factor),
      total_iters_(o.total_iters) {
    if (!(o.start_factor > 0 && o.start_factor <= 1))
        throw ValueError(detail::concat("LinearLR: start_factor expected in (0, 1], got ", o.start_factor));
    if (!(o.end_factor >= 0 && o.end_factor <= 1))
        throw ValueError(detail::concat("LinearLR: end_factor expected in [0, 1], got ", o.end_factor));
    if (o.total_iters < 0) throw ValueError(detail::concat("LinearLR: total_iters must be >= 0, got ", o.total_iters));
    initial_step();
}

std::vector<double> LinearLR::get_lr() {
    if (last_epoch_ == 0) return scaled(group_lrs(), start_factor_);
    if (last_epoch_ > total_iters_) return group_lrs();
    const double delta = end_factor_ - start_factor_;
    return scaled(group_lrs(), 1. + delta / (static_cast<double>(total_iters_) * start_factor_ +
                                             static_cast<double>(last_epoch_ - 1) * delta));
}

void LinearLR::fields(StateIO& io) {
    LRScheduler::fields(io);
    io.field("start_factor", start_factor_);
    io.field("end_factor", end_factor_);
    io.field("total_iters", total_iters_);
}

// --- LambdaLR ---

LambdaLR::LambdaLR(Optimizer& optimizer, Lambda lr_lambda, int64_t last_epoch)
    : LambdaLR(optimizer, std::vector<Lambda>(optimizer.param_groups().size(), lr_lambda), last_epoch) {}

LambdaLR::LambdaLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas, int64_t last_epoch)
    : LRScheduler(optimizer, last_epoch, "LambdaLR"), lr_lambdas_(std::move(lr_lambdas)) {
    if (lr_lambdas_.size() != optimizer.param_groups().size())
        throw ValueError(detail::concat("LambdaLR: expected ", optimizer.param_groups().size(),
                                        " lr_lambdas (one per param group), but got ", lr_lambdas_.size()));
    for (size_t g = 0; g < lr_lambdas_.size(); ++g)
        if (!lr_lambdas_[g]) throw ValueError(detail::concat("LambdaLR: lr_lambda ", g, " is empty"));
    initial_step();
}

std::vector<double> LambdaLR::get_lr() {
    std::vector<double> lrs;
    for (size_t g = 0; g < base_lrs_.size(); ++g) lrs.push_back(base_lrs_[g] * lr_lambdas_[g](last_epoch_));
    return lrs;
}

}  // namespace nabla::optim
