// nn/optim/sgd.cpp — SGD (torch/optim/sgd.py): group defaults and checks, and the step through the fused kernel.
#include "nn/optim/sgd.h"

#include "core/trace/trace.h"
#include "ops/factory.h"
#include "ops/optim.h"

namespace nabla::optim {

SGD::SGD(std::vector<Tensor> params, SGDOptions options) : SGD(single_group("SGD", std::move(params)), options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options) : defaults_(options) {
    if (!options.lr) throw ValueError("SGD: lr is required (SGD(params, {.lr = 0.01}))");
    if (groups.empty()) throw ValueError("SGD: optimizer got an empty parameter list");
    for (auto& g : groups) add_param_group(std::move(g));
}

void SGD::init_group(ParamGroup& g) const {
    const GroupOptions& o = g.overrides;
    g.lr = o.lr.value_or(*defaults_.lr);
    g.momentum = o.momentum.value_or(defaults_.momentum);
    g.dampening = o.dampening.value_or(defaults_.dampening);
    g.weight_decay = o.weight_decay.value_or(defaults_.weight_decay);
    g.nesterov = o.nesterov.value_or(defaults_.nesterov);
    g.maximize = o.maximize.value_or(defaults_.maximize);
    check_hyperparameter("SGD", "learning rate", g.lr);
    check_hyperparameter("SGD", "momentum value", g.momentum);
    check_hyperparameter("SGD", "weight_decay value", g.weight_decay);
    if (g.nesterov && (g.momentum <= 0 || g.dampening != 0))
        throw ValueError(detail::concat("SGD: Nesterov momentum requires a momentum and zero dampening (momentum=",
                                        g.momentum, ", dampening=", g.dampening, ")"));
}

void SGD::group_fields(StateIO& io, ParamGroup& g) const {
    io.field("momentum", g.momentum);
    io.field("dampening", g.dampening);
    io.field("nesterov", g.nesterov);
}

void SGD::step() {
    trace::Scope trace_scope(trace::optimizer, "SGD.step");
    for (Update& u : updates()) {
        const ParamGroup& g = u.group;
        SgdStepArgs args{.lr = g.lr,
                         .momentum = g.momentum,
                         .dampening = g.dampening,
                         .weight_decay = g.weight_decay,
                         .nesterov = g.nesterov,
                         .maximize = g.maximize};
        Tensor buf;
        if (g.momentum != 0) {
            auto it = u.state.find("momentum_buffer");
            args.first_step = it == u.state.end();
            if (args.first_step) it = u.state.emplace("momentum_buffer", empty_like(u.param)).first;  // written as d_p
            buf = it->second;
        }
        sgd_step_(u.param, u.grad, buf, args);
    }
}

}  // namespace nabla::optim
