// nn/optim/ema.cpp — ModelEMA (ema.h): clone the model's state, average towards it with the fused ema_update kernel.
#include "nn/optim/ema.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/optim/state_io.h"
#include "ops/format.h"
#include "ops/optim.h"

namespace nabla::optim {
namespace {

std::string join(const std::vector<std::string>& items) {
    std::string s;
    for (const auto& item : items) s += (s.empty() ? "" : "; ") + item;
    return s;
}

// Every key of `ema` present in `other` (under prefix) with the same shape; problems listed, not thrown.
std::vector<std::string> compare(const TensorMap& ema, const TensorMap& other, const std::string& prefix) {
    std::vector<std::string> problems;
    for (const auto& [key, t] : ema) {
        auto it = other.find(prefix + key);
        if (it == other.end())
            problems.push_back("missing " + prefix + key);
        else if (it->second.shape() != t.shape())
            problems.push_back(detail::concat(prefix, key, ": ", it->second.shape(), " vs EMA ", t.shape()));
    }
    return problems;
}

}  // namespace

ModelEMA::ModelEMA(const nn::Module& model, double decay, double tau, int64_t updates)
    : decay_(decay), tau_(tau), updates_(updates) {
    if (!(decay >= 0 && decay <= 1)) throw ValueError(detail::concat("ModelEMA: decay must be in [0, 1], got ", decay));
    if (!(tau > 0)) throw ValueError(detail::concat("ModelEMA: tau must be positive, got ", tau));
    for (const auto& [key, t] : model.state_dict()) state_[key] = t.clone();
}

double ModelEMA::decay_at(int64_t updates) const {
    return decay_ * (1 - std::exp(-static_cast<double>(updates) / tau_));
}

void ModelEMA::update(const nn::Module& model) {
    NoGradGuard no_grad;
    const TensorMap msd = model.state_dict();
    std::vector<std::string> problems = compare(state_, msd, "");
    for (const auto& [key, t] : msd)
        if (!state_.count(key)) problems.push_back("unexpected " + key);
    if (!problems.empty())
        throw ValueError("ModelEMA.update: the model's state differs from the EMA's: " + join(problems));

    const double d = decay_at(++updates_);
    for (auto& [key, ema] : state_) {
        const Tensor& m = msd.at(key);
        if (!is_floating(ema.dtype())) {
            ema.copy_(m);  // num_batches_tracked and other integer buffers
            continue;
        }
        const Tensor x = m.dtype() == ema.dtype() ? m.contiguous() : m.to(ema.dtype()).contiguous();
        ema_update_(ema, x.to(ema.device()), d);
    }
}

void ModelEMA::copy_to(nn::Module& target) const { target.load_state_dict(state_); }

void ModelEMA::to(Device device) {
    for (auto& [key, t] : state_) t = t.to(device);
}

TensorMap ModelEMA::state_dict() const {
    TensorMap out;
    int64_t updates = updates_;
    double decay = decay_, tau = tau_;
    StateIO io = StateIO::saver(out);
    io.field("updates", updates);
    io.field("decay", decay);
    io.field("tau", tau);
    for (const auto& [key, t] : state_) out["ema." + key] = t.detach();
    return out;
}

void ModelEMA::load_state_dict(const TensorMap& in) {
    StateIO check = StateIO::checker(in);
    int64_t updates = 0;
    double decay = 0, tau = 0;
    check.field("updates", updates);
    check.field("decay", decay);
    check.field("tau", tau);
    std::vector<std::string> problems = check.problems();
    for (auto& p : compare(state_, in, "ema.")) problems.push_back(std::move(p));
    std::set<std::string> visited = check.visited();
    for (const auto& [key, t] : state_) visited.insert("ema." + key);
    for (auto& u : unexpected_keys(in, visited)) problems.push_back(std::move(u));
    if (!problems.empty()) throw ValueError("ModelEMA.load_state_dict: " + join(problems));

    StateIO load = StateIO::loader(in);
    load.field("updates", updates_);
    load.field("decay", decay_);
    load.field("tau", tau_);
    NoGradGuard no_grad;
    for (auto& [key, t] : state_) t.copy_(in.at("ema." + key));
}

}  // namespace nabla::optim
