// nn/module.cpp — Module: registration, traversal with dotted names, state dicts, modes, and the forward hooks.
#include "nn/module.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "autograd/grad_mode.h"
#include "core/trace/trace.h"
#include "ops/factory.h"
#include "ops/format.h"

namespace nabla::nn {

Tensor Module::forward(const Tensor&) {
    throw NotImplementedError(detail::concat(type_name_, " has no single-tensor forward; call its own methods"));
}

Tensor Module::operator()(const Tensor& x) {
    trace::ModuleScope trace_scope([this] {
        std::string p = path();
        return p.empty() ? type_name() : p;
    });
    CallScope scope(*this, {x});
    return scope.finish(forward(x));
}

std::vector<Tensor> Module::call_outputs(const Tensor& x) {
    trace::ModuleScope trace_scope([this] {
        std::string p = path();
        return p.empty() ? type_name() : p;
    });
    CallScope scope(*this, {x});
    return scope.finish(forward_outputs(x));
}

// ---------------------------------------------------------------------------------------------------------------
// Registration

void Module::check_new_name(const std::string& name, const char* what) const {
    if (name.empty() || name.find('.') != std::string::npos)
        throw ValueError(detail::concat(type_name_, ": ", what, " name '", name, "' must be non-empty without '.'"));
    auto taken = [&](const auto& list) {
        return std::any_of(list.begin(), list.end(), [&](const auto& kv) { return kv.first == name; });
    };
    if (taken(parameters_) || taken(buffers_) || taken(children_))
        throw ValueError(detail::concat(type_name_, ": cannot register ", what, " '", name, "': the name is taken"));
}

Tensor& Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
    check_new_name(name, "parameter");
    if (tensor.defined() && requires_grad) tensor.requires_grad_(true);
    parameters_.emplace_back(name, std::move(tensor));
    return parameters_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor tensor, bool persistent) {
    check_new_name(name, "buffer");
    if (!persistent) non_persistent_.push_back(name);
    buffers_.emplace_back(name, std::move(tensor));
    return buffers_.back().second;
}

void Module::add_child(const std::string& name, ModulePtr module) {
    check_new_name(name, "module");
    if (!module) throw ValueError(detail::concat(type_name_, ": register_module('", name, "') got a null module"));
    if (!module->parent_) {
        module->parent_ = this;
        module->name_in_parent_ = name;
    }
    children_.emplace_back(name, std::move(module));
}

void Module::replace_module(const std::string& name, ModulePtr module) {
    for (auto& [child_name, child] : children_) {
        if (child_name != name) continue;
        module->parent_ = this;
        module->name_in_parent_ = name;
        module->training_ = training_;
        child = std::move(module);
        return;
    }
    throw ValueError(detail::concat(type_name_, ": replace_module: no child named '", name, "'"));
}

// ---------------------------------------------------------------------------------------------------------------
// Traversal

namespace {

std::string join(const std::string& prefix, const std::string& name) {
    return prefix.empty() ? name : prefix + "." + name;
}

}  // namespace

Named<Module*> Module::named_modules(const std::string& prefix) {
    Named<Module*> out{{prefix, this}};
    for (auto& [name, child] : children_) {
        auto sub = child->named_modules(join(prefix, name));
        out.insert(out.end(), sub.begin(), sub.end());
    }
    return out;
}

Named<Tensor> Module::named_parameters(bool recurse) const {
    Named<Tensor> out;
    for (const auto& [name, p] : parameters_)
        if (p.defined()) out.emplace_back(name, p);
    if (!recurse) return out;
    for (const auto& [child_name, child] : children_)
        for (auto& [name, p] : child->named_parameters(true)) out.emplace_back(join(child_name, name), p);
    return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
    std::vector<Tensor> out;
    for (auto& [name, p] : named_parameters(recurse)) out.push_back(p);
    return out;
}

Named<Tensor> Module::named_buffers(bool recurse) const {
    Named<Tensor> out;
    for (const auto& [name, b] : buffers_)
        if (b.defined()) out.emplace_back(name, b);
    if (!recurse) return out;
    for (const auto& [child_name, child] : children_)
        for (auto& [name, b] : child->named_buffers(true)) out.emplace_back(join(child_name, name), b);
    return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
    std::vector<Tensor> out;
    for (auto& [name, b] : named_buffers(recurse)) out.push_back(b);
    return out;
}

ModulePtr Module::child(const std::string& name) const {
    for (const auto& [child_name, c] : children_)
        if (child_name == name) return c;
    return nullptr;
}

Module* Module::find(const std::string& dotted_path) {
    if (dotted_path.empty()) return this;
    const auto dot = dotted_path.find('.');
    auto c = child(dotted_path.substr(0, dot));
    if (!c) return nullptr;
    return dot == std::string::npos ? c.get() : c->find(dotted_path.substr(dot + 1));
}

void Module::apply(const std::function<void(Module&)>& fn) {
    for (auto& [name, c] : children_) c->apply(fn);
    fn(*this);
}

std::string Module::path() const {
    if (!parent_) return "";
    return join(parent_->path(), name_in_parent_);
}

// ---------------------------------------------------------------------------------------------------------------
// State

TensorMap Module::state_dict() const {
    TensorMap out;
    std::function<void(const Module&, const std::string&)> visit = [&](const Module& m, const std::string& prefix) {
        for (const auto& [name, p] : m.parameters_)
            if (p.defined()) out[join(prefix, name)] = p.detach();
        for (const auto& [name, b] : m.buffers_) {
            const bool persistent =
                std::find(m.non_persistent_.begin(), m.non_persistent_.end(), name) == m.non_persistent_.end();
            if (b.defined() && persistent) out[join(prefix, name)] = b.detach();
        }
        for (const auto& [name, c] : m.children_) visit(*c, join(prefix, name));
    };
    visit(*this, "");
    return out;
}

void Module::load_state_dict(const TensorMap& state, bool strict) {
    const TensorMap mine = state_dict();
    std::vector<std::string> missing, unexpected, mismatched;
    for (const auto& [key, t] : mine) {
        auto it = state.find(key);
        if (it == state.end()) {
            missing.push_back(key);
        } else if (it->second.shape() != t.shape()) {
            mismatched.push_back(
                fmt::format("{}: file {} vs model {}", key, shape_str(it->second.shape()), shape_str(t.shape())));
        }
    }
    for (const auto& [key, t] : state)
        if (!mine.count(key)) unexpected.push_back(key);

    if (!mismatched.empty() || (strict && (!missing.empty() || !unexpected.empty()))) {
        auto list = [](const std::vector<std::string>& v) {
            const size_t shown = std::min<size_t>(v.size(), 20);
            std::string s = fmt::format("{}", fmt::join(v.begin(), v.begin() + static_cast<ptrdiff_t>(shown), ", "));
            if (v.size() > shown) s += fmt::format(", ... ({} more)", v.size() - shown);
            return s;
        };
        throw ValueError(fmt::format(
            "load_state_dict ({}): {} missing [{}], {} unexpected [{}], {} shape mismatch [{}]", type_name_,
            missing.size(), list(missing), unexpected.size(), list(unexpected), mismatched.size(), list(mismatched)));
    }
    autograd::NoGradGuard no_grad;
    for (const auto& [key, t] : mine) {
        auto it = state.find(key);
        if (it != state.end()) const_cast<Tensor&>(t).copy_(it->second);  // t shares storage with the module's tensor
    }
}

void Module::train(bool on) {
    apply([on](Module& m) { m.training_ = on; });
}

void Module::zero_grad(bool set_to_none) {
    for (auto& p : parameters()) {
        Tensor g = p.grad();
        if (!g.defined()) continue;
        if (set_to_none) {
            p.set_grad(Tensor());
        } else {
            autograd::NoGradGuard no_grad;
            g.zero_();
        }
    }
}

namespace {

// Points `slot`'s TensorImpl at `moved`'s storage and geometry, so every handle on the tensor sees the change.
void rebind(Tensor& slot, const Tensor& moved) {
    TensorImpl& impl = *slot.impl();
    const TensorImpl& src = *moved.impl();
    impl.storage = src.storage;
    impl.shape = src.shape;
    impl.strides = src.strides;
    impl.offset = src.offset;
    impl.dtype = src.dtype;
    impl.grad = nullptr;
}

}  // namespace

void Module::adopt_shapes(const TensorMap& state) {
    autograd::NoGradGuard no_grad;
    for (auto& [path, m] : named_modules()) {
        const std::string prefix = path.empty() ? "" : path + ".";
        for (auto* list : {&m->parameters_, &m->buffers_}) {
            for (auto& [name, t] : *list) {
                const auto it = state.find(prefix + name);
                if (t.defined() && it != state.end() && it->second.shape() != t.shape())
                    rebind(t, zeros(it->second.shape(), {.dtype = t.dtype(), .device = t.device()}));
            }
        }
        m->sync_widths();
    }
}

void Module::to(Device device) {
    autograd::NoGradGuard no_grad;
    apply([device](Module& m) {
        for (auto& [name, t] : m.parameters_)
            if (t.defined() && t.device() != device) rebind(t, t.to(device));
        for (auto& [name, t] : m.buffers_)
            if (t.defined() && t.device() != device) rebind(t, t.to(device));
    });
}

void Module::to(DType dtype) {
    if (!is_floating(dtype))
        throw TypeError(detail::concat("Module.to: expects a floating dtype, got ", dtype_name(dtype)));
    autograd::NoGradGuard no_grad;
    apply([dtype](Module& m) {
        for (auto& [name, t] : m.parameters_)
            if (t.defined() && is_floating(t.dtype()) && t.dtype() != dtype) rebind(t, t.to(dtype).contiguous());
        for (auto& [name, t] : m.buffers_)
            if (t.defined() && is_floating(t.dtype()) && t.dtype() != dtype) rebind(t, t.to(dtype).contiguous());
    });
}

int64_t Module::num_parameters(bool trainable_only) const {
    int64_t n = 0;
    for (const auto& p : parameters())
        if (!trainable_only || p.requires_grad()) n += p.numel();
    return n;
}

std::string Module::repr() const {
    if (children_.empty()) return fmt::format("{}({})", type_name_, extra_repr());
    std::string s = fmt::format("{}(", type_name_);
    if (const auto extra = extra_repr(); !extra.empty()) s += "\n  " + extra;
    for (const auto& [name, c] : children_) {
        std::string child = c->repr();
        std::string indented;
        for (char ch : child) {
            indented += ch;
            if (ch == '\n') indented += "  ";
        }
        s += fmt::format("\n  ({}): {}", name, indented);
    }
    return s + "\n)";
}

// ---------------------------------------------------------------------------------------------------------------
// Forward hooks

namespace {

struct HookRegistry {
    std::map<int, std::shared_ptr<ForwardHook>> hooks;
    int next = 0;
};

HookRegistry& registry() {
    static HookRegistry r;
    return r;
}

}  // namespace

int add_forward_hook(std::shared_ptr<ForwardHook> hook) {
    auto& r = registry();
    r.hooks[r.next] = std::move(hook);
    return r.next++;
}

void remove_forward_hook(int handle) { registry().hooks.erase(handle); }

bool has_forward_hooks() { return !registry().hooks.empty(); }

CallScope::CallScope(Module& module, const std::vector<Tensor>& inputs)
    : module_(&module), active_(!registry().hooks.empty()) {
    if (!active_) return;
    inputs_ = inputs;
    for (auto& [id, hook] : registry().hooks) hook->enter(*module_, inputs_);
}

const Tensor& CallScope::finish(const Tensor& output) {
    if (active_)
        for (auto& [id, hook] : registry().hooks) hook->exit(*module_, inputs_, {output});
    return output;
}

const std::vector<Tensor>& CallScope::finish(const std::vector<Tensor>& outputs) {
    if (active_)
        for (auto& [id, hook] : registry().hooks) hook->exit(*module_, inputs_, outputs);
    return outputs;
}

}  // namespace nabla::nn
