// nn/optim/optimizer.cpp — the parts every optimizer shares: parameter groups, zero_grad, the per-parameter state
// and its checkpoint as a TensorMap (the key scheme is in optimizer.h; torch/optim/optimizer.py is the model).
#include "nn/optim/optimizer.h"

#include <charconv>
#include <map>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "ops/factory.h"
#include "ops/format.h"

namespace nabla::optim {
namespace {

// "state.12.exp_avg" -> (12, "exp_avg"); "param_groups.3.lr" -> (3, "lr"). False when the key has another form.
bool split_key(const std::string& key, const std::string& head, int64_t& index, std::string& rest) {
    if (key.compare(0, head.size(), head) != 0) return false;
    const char* begin = key.data() + head.size();
    const char* end = key.data() + key.size();
    auto [ptr, ec] = std::from_chars(begin, end, index);
    if (ec != std::errc() || ptr == begin || ptr == end || *ptr != '.' || index < 0) return false;
    rest.assign(ptr + 1, end);
    return !rest.empty();
}

std::string join(const std::vector<std::string>& items) {
    std::string s;
    for (const auto& item : items) s += (s.empty() ? "" : "; ") + item;
    return s;
}

}  // namespace

void check_hyperparameter(std::string_view optimizer, const char* what, double value, bool below_one) {
    if (!(value >= 0.0) || (below_one && !(value < 1.0)))
        throw ValueError(detail::concat(optimizer, ": invalid ", what, ": ", value,
                                        below_one ? " (expected 0 <= value < 1)" : " (expected >= 0)"));
}

std::vector<ParamGroup> single_group(std::string_view optimizer, std::vector<Tensor> params) {
    if (params.empty()) throw ValueError(detail::concat(optimizer, ": optimizer got an empty parameter list"));
    std::vector<ParamGroup> groups;
    groups.emplace_back(std::move(params));
    return groups;
}

void Optimizer::zero_grad(bool set_to_none) {
    NoGradGuard no_grad;
    for (auto& group : groups_)
        for (auto& p : group.params) {
            Tensor g = p.grad();
            if (!g.defined()) continue;
            if (set_to_none)
                p.set_grad(Tensor());
            else
                g.zero_();
        }
}

void Optimizer::add_param_group(ParamGroup group) {
    std::unordered_set<const TensorImpl*> seen;
    for (const auto& g : groups_)
        for (const auto& p : g.params) seen.insert(p.impl());
    const size_t g = groups_.size();
    for (size_t i = 0; i < group.params.size(); ++i) {
        const Tensor& p = group.params[i];
        if (!p.defined())
            throw ValueError(detail::concat(name(), ": parameter ", i, " of group ", g, " is an undefined tensor"));
        if (!is_floating(p.dtype()))
            throw TypeError(detail::concat(name(), ": parameter ", i, " of group ", g, " ", p.shape(), " is ",
                                           dtype_name(p.dtype()), "; optimizers update float32 and float64 tensors"));
        if (!p.is_leaf())
            throw ValueError(detail::concat(name(), ": can't optimize a non-leaf tensor (parameter ", i, " of group ",
                                            g, " ", p.shape(), " was computed by an op)"));
        if (!seen.insert(p.impl()).second)
            throw ValueError(detail::concat(name(), ": parameter ", i, " of group ", g, " ", p.shape(),
                                            " appears more than once in the parameter groups"));
    }
    init_group(group);
    groups_.push_back(std::move(group));
}

std::vector<Optimizer::Update> Optimizer::updates() {
    std::vector<Update> out;
    for (auto& group : groups_)
        for (auto& p : group.params) {
            Tensor g = p.grad();
            if (!g.defined()) continue;  // as torch: a parameter without a gradient is left alone
            if (!g.is_contiguous()) g = g.contiguous();
            out.push_back({group, p, g, state_[p.impl()]});
        }
    return out;
}

void Optimizer::visit_group(StateIO& io, ParamGroup& group) const {
    io.field("lr", group.lr);
    io.field("weight_decay", group.weight_decay);
    io.field("initial_lr", group.initial_lr);
    io.field("maximize", group.maximize);
    group_fields(io, group);
}

TensorMap Optimizer::state_dict() const {
    TensorMap out;
    int64_t index = 0;
    for (size_t g = 0; g < groups_.size(); ++g) {
        std::vector<int64_t> ids;
        for (const auto& p : groups_[g].params) {
            if (auto it = state_.find(p.impl()); it != state_.end())
                for (const auto& [key, t] : it->second) out[detail::concat("state.", index, ".", key)] = t.detach();
            ids.push_back(index++);
        }
        ParamGroup copy = groups_[g];
        StateIO io = StateIO::saver(out, detail::concat("param_groups.", g, "."));
        io.field("params", ids, true);
        visit_group(io, copy);
    }
    return out;
}

void Optimizer::load_state_dict(const TensorMap& in) {
    std::vector<std::string> problems;
    auto fail = [&] { throw ValueError(detail::concat(name(), ".load_state_dict: ", join(problems))); };

    // The groups: as many as the optimizer has, each with as many parameters.
    int64_t saved_groups = 0;
    for (const auto& [key, t] : in) {
        int64_t g = 0;
        std::string rest;
        if (split_key(key, "param_groups.", g, rest)) saved_groups = std::max(saved_groups, g + 1);
    }
    if (saved_groups != static_cast<int64_t>(groups_.size())) {
        problems.push_back(detail::concat(saved_groups, " parameter groups in the state dict vs ", groups_.size(),
                                          " in the optimizer"));
        fail();
    }
    std::set<std::string> visited;
    std::map<int64_t, Tensor> by_saved_id;  // torch's id_map: the saved index of a parameter -> the parameter
    for (size_t g = 0; g < groups_.size(); ++g) {
        const std::string prefix = detail::concat("param_groups.", g, ".");
        std::vector<int64_t> ids;
        StateIO check = StateIO::checker(in, prefix), ids_io = StateIO::loader(in, prefix);
        ids_io.field("params", ids, true);
        ParamGroup copy = groups_[g];
        visit_group(check, copy);
        problems.insert(problems.end(), ids_io.problems().begin(), ids_io.problems().end());
        problems.insert(problems.end(), check.problems().begin(), check.problems().end());
        visited.insert(check.visited().begin(), check.visited().end());
        visited.insert(prefix + "params");
        if (ids_io.problems().empty() && ids.size() != groups_[g].params.size())
            problems.push_back(detail::concat("group ", g, " has ", ids.size(), " parameters in the state dict vs ",
                                              groups_[g].params.size(), " in the optimizer"));
        else
            for (size_t j = 0; j < ids.size(); ++j) by_saved_id[ids[j]] = groups_[g].params[j];
    }

    // The per-parameter state: a known name for a known parameter, of the parameter's shape (step: one value).
    const std::vector<std::string> names = state_names();
    for (const auto& [key, t] : in) {
        int64_t id = 0;
        std::string entry;
        if (!split_key(key, "state.", id, entry)) continue;
        visited.insert(key);
        auto p = by_saved_id.find(id);
        if (p == by_saved_id.end()) {
            problems.push_back(detail::concat(key, ": no parameter ", id, " in the parameter groups"));
        } else if (std::find(names.begin(), names.end(), entry) == names.end()) {
            problems.push_back(detail::concat("unexpected ", key, " (", name(), " keeps ", names, ")"));
        } else if (is_scalar_state(entry) ? t.numel() != 1 : t.shape() != p->second.shape()) {
            problems.push_back(detail::concat(key, ": ", t.shape(), " vs parameter ", p->second.shape()));
        }
    }
    for (auto& u : unexpected_keys(in, visited)) problems.push_back(std::move(u));
    if (!problems.empty()) fail();

    // Everything checked: copy (torch deep-copies too), converting to the parameter's dtype and device.
    state_.clear();
    for (const auto& [key, t] : in) {
        int64_t id = 0;
        std::string entry;
        if (!split_key(key, "state.", id, entry)) continue;
        const Tensor& p = by_saved_id.at(id);
        state_[p.impl()][entry] = is_scalar_state(entry) ? t.to(kCPU).to(kFloat32).reshape({}).clone()
                                                         : t.to(p.dtype()).to(p.device()).contiguous().clone();
    }
    for (size_t g = 0; g < groups_.size(); ++g) {
        StateIO io = StateIO::loader(in, detail::concat("param_groups.", g, "."));
        visit_group(io, groups_[g]);
    }
}

}  // namespace nabla::optim
