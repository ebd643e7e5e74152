// nn/optim/adam.cpp — Adam and AdamW (torch/optim/adam.py, adamw.py): group defaults and checks, the lazily created
// state (step, exp_avg, exp_avg_sq, max_exp_avg_sq) and the step through the fused kernel.
#include "nn/optim/adam.h"

#include "core/trace/trace.h"
#include "ops/factory.h"
#include "ops/optim.h"

namespace nabla::optim {
namespace {

AdamOptions as_adam(const AdamWOptions& o) {
    return {.lr = o.lr,
            .betas = o.betas,
            .eps = o.eps,
            .weight_decay = o.weight_decay,
            .amsgrad = o.amsgrad,
            .maximize = o.maximize};
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam(single_group("Adam", std::move(params)), options, false) {}
Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options) : Adam(std::move(groups), options, false) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options, bool decoupled_weight_decay)
    : defaults_(options), decoupled_(decoupled_weight_decay) {
    if (groups.empty()) throw ValueError(detail::concat(name(), ": optimizer got an empty parameter list"));
    for (auto& g : groups) add_param_group(std::move(g));
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : Adam(single_group("AdamW", std::move(params)), as_adam(options), true) {}
AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options) : Adam(std::move(groups), as_adam(options), true) {}

void Adam::init_group(ParamGroup& g) const {
    const GroupOptions& o = g.overrides;
    g.lr = o.lr.value_or(defaults_.lr);
    g.betas = o.betas.value_or(defaults_.betas);
    g.eps = o.eps.value_or(defaults_.eps);
    g.weight_decay = o.weight_decay.value_or(defaults_.weight_decay);
    g.amsgrad = o.amsgrad.value_or(defaults_.amsgrad);
    g.maximize = o.maximize.value_or(defaults_.maximize);
    check_hyperparameter(name(), "learning rate", g.lr);
    check_hyperparameter(name(), "epsilon value", g.eps);
    check_hyperparameter(name(), "beta parameter at index 0", g.betas[0], true);
    check_hyperparameter(name(), "beta parameter at index 1", g.betas[1], true);
    check_hyperparameter(name(), "weight_decay value", g.weight_decay);
}

void Adam::group_fields(StateIO& io, ParamGroup& g) const {
    io.field("betas", g.betas);
    io.field("eps", g.eps);
    io.field("amsgrad", g.amsgrad);
}

void Adam::step() {
    trace::Scope trace_scope(trace::optimizer, "Adam.step");
    for (Update& u : updates()) {
        const ParamGroup& g = u.group;
        TensorMap& s = u.state;
        if (s.empty()) {  // lazy state initialisation, as torch
            s["step"] = zeros({}, {.dtype = kFloat32});
            s["exp_avg"] = zeros_like(u.param);
            s["exp_avg_sq"] = zeros_like(u.param);
        }
        if (g.amsgrad && !s.count("max_exp_avg_sq")) s["max_exp_avg_sq"] = zeros_like(u.param);
        float& step = *s.at("step").data_ptr<float>();  // a float32 count, as torch 1.13's state['step']
        step += 1;
        const AdamStepArgs args{.lr = g.lr,
                                .beta1 = g.betas[0],
                                .beta2 = g.betas[1],
                                .eps = g.eps,
                                .weight_decay = g.weight_decay,
                                .step = step,
                                .decoupled_weight_decay = decoupled_,
                                .maximize = g.maximize};
        const Tensor max_sq = g.amsgrad ? s.at("max_exp_avg_sq") : Tensor();
        adam_step_(u.param, u.grad, s.at("exp_avg"), s.at("exp_avg_sq"), max_sq, args);
        s.at("step").storage()->bump_version();
    }
}

}  // namespace nabla::optim
