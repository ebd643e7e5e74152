// nn/optim/optimizer.h — Optimizer, the base of SGD, Adam and AdamW (torch.optim.Optimizer), and ParamGroup.
//
// As in torch, an optimizer holds parameter groups, each with its own hyperparameters, and a state per parameter
// (momentum buffers, moments, step counts) that appears at the parameter's first update:
//   optim::AdamW opt(model.parameters(), {.lr = 1e-3});
//   optim::AdamW opt({optim::ParamGroup(bn_weights, {.weight_decay = 0}), optim::ParamGroup(weights)},
//                    {.lr = 1e-3, .weight_decay = 5e-4});
//   loss.backward(); opt.step(); opt.zero_grad();
// A group's hyperparameters are plain fields (`opt.param_groups()[0].lr = 0.01`, which is what the schedulers of
// nn/optim/lr_scheduler.h do). Fields a group does not set explicitly come from the optimizer's options.
// step() skips parameters without a gradient, as torch does. zero_grad() sets gradients to none by default (torch
// 2.0's default; 1.13 zeroes them).
//
// state_dict() is a TensorMap, ready for save_safetensors. Key scheme (i counts the parameters of all groups in
// order, g the groups):
//   state.<i>.<name>            a parameter's state: momentum_buffer (SGD); step (0-dim float32, as torch 1.13),
//                               exp_avg, exp_avg_sq, max_exp_avg_sq (Adam, AdamW). Absent for a parameter never
//                               updated.
//   param_groups.<g>.params     int64 [n]: the indices i of the group's parameters
//   param_groups.<g>.<hyper>    the group's hyperparameters: 0-dim float64 (lr, weight_decay, momentum, dampening,
//                               eps, initial_lr when a scheduler set it), 0-dim bool (nesterov, amsgrad, maximize),
//                               float64 [2] (betas)
// As Module::state_dict, the state tensors share storage with the optimizer (clone to keep a snapshot).
// load_state_dict() checks the number of groups and of parameters per group, every key and every state shape, and
// throws one ValueError listing every problem, leaving the optimizer untouched; otherwise it copies the state
// (converted to each parameter's dtype, except step) and the hyperparameters.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"
#include "nn/optim/state_io.h"
#include "nn/safetensors.h"

namespace nabla::optim {

// The hyperparameters a group may set for itself; unset ones come from the optimizer's options. An optimizer reads
// only its own (SGD: lr, momentum, dampening, weight_decay, nesterov, maximize; Adam/AdamW: lr, betas, eps,
// weight_decay, amsgrad, maximize).
struct GroupOptions {
    std::optional<double> lr, weight_decay;
    std::optional<double> momentum, dampening;
    std::optional<bool> nesterov;
    std::optional<std::array<double, 2>> betas;
    std::optional<double> eps;
    std::optional<bool> amsgrad;
    std::optional<bool> maximize;
};

// One entry of torch's optimizer.param_groups: the parameters and the hyperparameters they are updated with.
struct ParamGroup {
    explicit ParamGroup(std::vector<Tensor> params, GroupOptions overrides = {})
        : params(std::move(params)), overrides(overrides) {}

    std::vector<Tensor> params;
    GroupOptions overrides;  // what the caller set; the optimizer fills the fields below in add_param_group

    double lr = 0, weight_decay = 0;
    std::optional<double> initial_lr;  // set by the first scheduler (torch's group['initial_lr'])
    bool maximize = false;
    // SGD
    double momentum = 0, dampening = 0;
    bool nesterov = false;
    // Adam, AdamW
    std::array<double, 2> betas = {0.9, 0.999};
    double eps = 1e-8;
    bool amsgrad = false;
};

class Optimizer {
public:
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    virtual std::string_view name() const = 0;  // "SGD", "Adam", "AdamW": errors start with it
    // One update of every parameter that has a gradient.
    virtual void step() = 0;
    void zero_grad(bool set_to_none = true);

    // Fills the group's unset hyperparameters from the optimizer's options and checks them (a ValueError naming
    // the optimizer and the value); a parameter already in some group, a non-leaf or non-floating tensor, or an
    // empty group is an error.
    void add_param_group(ParamGroup group);
    std::vector<ParamGroup>& param_groups() { return groups_; }
    const std::vector<ParamGroup>& param_groups() const { return groups_; }

    // torch's optimizer.state[p]: the named state of one parameter (empty before its first update).
    TensorMap& state(const Tensor& param) { return state_[param.impl()]; }

    // Which momentum OneCycleLR cycles: SGD's `momentum` or Adam's `betas[0]`.
    virtual bool has_momentum() const { return false; }
    virtual bool has_betas() const { return false; }

    TensorMap state_dict() const;
    void load_state_dict(const TensorMap& state_dict);

protected:
    Optimizer() = default;
    // Resolves the group's hyperparameters from its overrides and the optimizer's options, and checks them.
    virtual void init_group(ParamGroup& group) const = 0;
    // Visits the group hyperparameters saved in state_dict (lr, weight_decay, initial_lr are the base's).
    virtual void group_fields(StateIO& io, ParamGroup& group) const = 0;
    // The names of the per-parameter state entries, and which of them are one number (step) instead of a tensor of
    // the parameter's shape.
    virtual std::vector<std::string> state_names() const = 0;
    static bool is_scalar_state(const std::string& name) { return name == "step"; }

    // The parameters step() updates, with their gradients as contiguous tensors of the parameter's dtype.
    struct Update {
        ParamGroup& group;
        Tensor param, grad;
        TensorMap& state;
    };
    std::vector<Update> updates();

private:
    void visit_group(StateIO& io, ParamGroup& group) const;
    std::vector<ParamGroup> groups_;
    std::unordered_map<const TensorImpl*, TensorMap> state_;  // keyed by the parameter, as torch's dict
};

// An error unless 0 <= value (lr, eps, weight_decay, momentum) or 0 <= value < 1 (a beta): the ValueError of torch's
// constructors, naming the optimizer ("Adam: invalid beta parameter at index 0: 1.5").
void check_hyperparameter(std::string_view optimizer, const char* what, double value, bool below_one = false);

// The one group of an optimizer built from a list of tensors; an empty list is an error, as in torch.
std::vector<ParamGroup> single_group(std::string_view optimizer, std::vector<Tensor> params);

}  // namespace nabla::optim
