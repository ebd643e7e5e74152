// nn/module.h — Module, the base of every layer and model (torch.nn.Module).
//
// A Module owns named parameters, buffers and child modules, in registration order. Their dotted names
// ("stage1.rebnconvin.conv_s1.weight") are the keys of state_dict(), exactly as PyTorch spells them, so weights move
// between the two frameworks by name. Parameters and buffers are Tensor handles: a layer keeps its own handle
// (`weight`) and the module keeps another on the same tensor, and load_state_dict/to() change that tensor in place
// so both stay valid.
//
//   struct Block : Module {
//       std::shared_ptr<Conv2d> conv;
//       std::shared_ptr<BatchNorm2d> bn;
//       Block() : Module("Block") {
//           conv = register_module("conv", std::make_shared<Conv2d>(3, 64, 3, Conv2dArgs{.padding = 1}));
//           bn = register_module("bn", std::make_shared<BatchNorm2d>(64));
//       }
//       Tensor forward(const Tensor& x) override { return relu((*bn)((*conv)(x))); }
//   };
//
// Calling a module, `(*m)(x)`, runs forward() inside a CallScope: the forward hooks that summary() and the tracer use
// see every module call with its state-dict path. A module with another signature (several inputs, several
// outputs) opens a CallScope itself.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "nn/safetensors.h"

namespace nabla::nn {

class Module;
using ModulePtr = std::shared_ptr<Module>;
template <class T>
using Named = std::vector<std::pair<std::string, T>>;

class Module {
public:
    explicit Module(std::string type_name = "Module") : type_name_(std::move(type_name)) {}
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    // --- forward ---
    // The one-input, one-output forward of most layers. The default throws: models with other signatures define
    // their own methods (and may override forward_outputs).
    virtual Tensor forward(const Tensor& x);
    // Every output, in the model's order (`nabla forward` writes them as out0, out1, ...). Default: {forward(x)}.
    virtual std::vector<Tensor> forward_outputs(const Tensor& x) { return {forward(x)}; }
    Tensor operator()(const Tensor& x);                 // forward(x) inside a CallScope
    std::vector<Tensor> call_outputs(const Tensor& x);  // forward_outputs(x) inside a CallScope

    // --- registration: the name must be new and contain no '.'; returns the registered object ---
    Tensor& register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
    Tensor& register_buffer(const std::string& name, Tensor tensor, bool persistent = true);
    template <class M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
        add_child(name, module);
        return module;
    }
    // Swaps the child registered under `name` for another (pruning builds a thinner layer and puts it in place).
    void replace_module(const std::string& name, ModulePtr module);

    // --- traversal; names are dotted paths relative to this module ---
    Named<Tensor> named_parameters(bool recurse = true) const;
    std::vector<Tensor> parameters(bool recurse = true) const;
    Named<Tensor> named_buffers(bool recurse = true) const;  // persistent and not
    std::vector<Tensor> buffers(bool recurse = true) const;
    Named<ModulePtr> named_children() const { return children_; }
    // This module (with name "" unless a prefix is given) and every descendant, depth first in registration order.
    Named<Module*> named_modules(const std::string& prefix = "");
    ModulePtr child(const std::string& name) const;      // nullptr if none
    Module* find(const std::string& dotted_path);        // nullptr if none; "" is this module
    void apply(const std::function<void(Module&)>& fn);  // depth first, children before the module (as torch)

    // --- state ---
    // Parameters and persistent buffers, detached, sharing storage with the module (clone to keep a snapshot).
    TensorMap state_dict() const;
    // Copies every tensor of `state` into the module's tensors (dtype converted, device kept). With strict, any
    // missing or unexpected key is an error; a shape mismatch is always one. One error lists every problem.
    void load_state_dict(const TensorMap& state, bool strict = true);
    // Pruning (nn/prune.h): every parameter and buffer that `state` holds with another shape takes that shape (new
    // zeros, changed in place so that every handle on it sees it), and each module then updates its widths from
    // its tensors (sync_widths). load_state_dict(state) fills them afterwards.
    void adopt_shapes(const TensorMap& state);
    // Sets a layer's width attributes (in_channels, num_features, ...) from its tensors after adopt_shapes; layers
    // whose tensors carry no width have nothing to do.
    virtual void sync_widths() {}

    void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }
    void zero_grad(bool set_to_none = true);
    void to(Device device);
    void to(DType dtype);  // floating parameters and buffers only, as torch's module.to(dtype)
    int64_t num_parameters(bool trainable_only = false) const;

    // --- identity ---
    const std::string& type_name() const { return type_name_; }
    // The state-dict path of this module below its root ("stage1.rebnconvin"; "" for a root), through the parents
    // that registered it.
    std::string path() const;
    // Multiply-accumulates of one call with these input and output shapes, for summary(); 0 by default.
    virtual int64_t macs(const Shape& /*input*/, const Shape& /*output*/) const { return 0; }
    // The text inside the parentheses of repr(), as torch's extra_repr ("3, 64, kernel_size=(3, 3), ...").
    virtual std::string extra_repr() const { return ""; }
    std::string repr() const;  // torch's print(model)

protected:
    void add_child(const std::string& name, ModulePtr module);
    void set_type_name(std::string name) { type_name_ = std::move(name); }  // a layer that changes kind in place
    void check_new_name(const std::string& name, const char* what) const;

private:
    std::string type_name_;
    bool training_ = true;
    Named<Tensor> parameters_;
    Named<Tensor> buffers_;
    std::vector<std::string> non_persistent_;
    Named<ModulePtr> children_;
    const Module* parent_ = nullptr;  // the module that registered this one first (it owns this one)
    std::string name_in_parent_;
};

// --- forward hooks (summary, tracer) ---
// Observers of every module call in this process: `enter` before forward runs, `exit` after (not when it throws).
struct ForwardHook {
    virtual ~ForwardHook() = default;
    virtual void enter(Module& /*module*/, const std::vector<Tensor>& /*inputs*/) {}
    virtual void exit(Module& /*module*/, const std::vector<Tensor>& /*inputs*/,
                      const std::vector<Tensor>& /*outputs*/) {}
};
// Returns a handle for remove_forward_hook. Adding and removing are not thread-safe with running forwards.
int add_forward_hook(std::shared_ptr<ForwardHook> hook);
void remove_forward_hook(int handle);
bool has_forward_hooks();  // any registered (fused layers then run unfused: see bn_act in nn/normalization.h)

// Brackets one call of a module: announces it to the hooks when constructed and its outputs when finish() is
// called. Costs one branch when no hook is installed.
class CallScope {
public:
    CallScope(Module& module, const std::vector<Tensor>& inputs);
    const Tensor& finish(const Tensor& output);
    const std::vector<Tensor>& finish(const std::vector<Tensor>& outputs);
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;

private:
    Module* module_;
    std::vector<Tensor> inputs_;  // kept only while a hook is installed
    bool active_;
};

}  // namespace nabla::nn
