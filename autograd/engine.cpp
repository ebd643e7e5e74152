// autograd/engine.cpp — recording on the tape and running it backwards.
//
// backward(root): collect the nodes reachable from root.grad_fn, count for each node how many reachable nodes feed
// gradient into it, then run nodes in reverse tape order (highest sequence number first) once all their consumers
// have contributed. Gradients for one node are summed before it runs; gradients reaching a leaf are accumulated
// into leaf.grad. Without retain_graph each node drops its backward function after running, so a second backward
// through it is an error, as in PyTorch.
#include <atomic>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/factory.h"
#include "core/trace.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace nabla::autograd {

namespace {
thread_local bool t_grad_enabled = true;
std::atomic<uint64_t> g_sequence{0};
}  // namespace

bool is_grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool enabled) { t_grad_enabled = enabled; }

bool needs_grad(const std::vector<Tensor>& inputs) {
    if (!t_grad_enabled) return false;
    for (const Tensor& t : inputs)
        if (t.defined() && t.requires_grad()) return true;
    return false;
}

void record(std::string_view name, const std::vector<Tensor>& inputs, const Tensor& output, BackwardFn backward) {
    if (!needs_grad(inputs)) return;
    auto node = std::make_shared<Node>();
    node->name = std::string(name);
    node->sequence_nr = g_sequence++;
    trace::note_sequence(node->sequence_nr);  // links the forward op's trace scope to this node
    node->backward = std::move(backward);
    node->output_shape = output.shape();
    node->inputs.reserve(inputs.size());
    node->input_shapes.reserve(inputs.size());
    node->input_dtypes.reserve(inputs.size());
    for (const Tensor& t : inputs) {
        Edge e;
        if (t.defined() && t.requires_grad()) {
            if (t.grad_fn()) e.node = t.grad_fn();
            else e.leaf = t.impl_ptr();
        }
        node->inputs.push_back(std::move(e));
        node->input_shapes.push_back(t.defined() ? t.shape() : Shape{});
        node->input_dtypes.push_back(t.defined() ? t.dtype() : kFloat32);
    }
    TensorImpl* out = output.impl();
    out->requires_grad = true;
    out->grad_fn = std::move(node);
}

const Tensor& SavedTensor::get() const {
    if (tensor_.defined() && tensor_.version() != version_)
        throw Error(detail::concat("one of the tensors needed for gradient computation has been modified by an in-place "
                                   "operation: tensor ", tensor_.shape(), " is at version ", tensor_.version(),
                                   "; expected version ", version_));
    return tensor_;
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
    if (grad.shape() == shape) return grad;
    const int64_t lead = grad.dim() - static_cast<int64_t>(shape.size());
    NB_CHECK(lead >= 0, "sum_to: gradient ", grad.shape(), " has fewer dims than ", shape);
    Shape dims;
    for (int64_t d = 0; d < grad.dim(); ++d)
        if (d < lead || (shape[d - lead] == 1 && grad.size(d) != 1)) dims.push_back(d);
    Tensor r = dims.empty() ? grad : sum(grad, dims, /*keepdim=*/true);
    return r.view(shape);
}

namespace {

// Takes `g` by value: callers move their handle in, so that "nobody else holds it" can be checked below.
void accumulate_into_leaf(TensorImpl& leaf, Tensor g) {
    if (!leaf.grad) {
        // Keep the incoming tensor when nobody else holds it or its storage; otherwise copy, so that an in-place
        // change of .grad (zero_grad, an optimizer) never writes into another tensor: add's backward hands one
        // tensor to both inputs, and the seed belongs to the caller.
        // A broadcast or strided gradient (the backward of sum is an expanded view) is made dense first.
        const bool owned = g.impl_ptr().use_count() == 1 && g.storage().use_count() == 1;
        leaf.grad = (owned && g.is_contiguous() ? g : g.detach().clone()).impl_ptr();
        leaf.grad->requires_grad = false;
        leaf.grad->grad_fn = nullptr;
        return;
    }
    Tensor(leaf.grad).add_(g);
}

}  // namespace

void run_backward(const Tensor& root, Tensor seed, bool retain_graph) {
    trace::Scope trace_scope(trace::backward, "backward");
    NoGradGuard no_grad;
    if (!root.grad_fn()) {  // a leaf: its gradient is the seed
        accumulate_into_leaf(*root.impl(), std::move(seed));
        return;
    }
    // 1. Reachable nodes and how many gradient contributions each waits for.
    std::unordered_map<Node*, int> pending;
    std::vector<Node*> stack{root.grad_fn().get()};
    std::unordered_set<Node*> seen{stack.back()};
    while (!stack.empty()) {
        Node* n = stack.back();
        stack.pop_back();
        for (const Edge& e : n->inputs) {
            if (!e.node) continue;
            ++pending[e.node.get()];
            if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
        }
    }
    // 2. Run in reverse tape order.
    auto later_first = [](Node* a, Node* b) { return a->sequence_nr < b->sequence_nr; };
    std::priority_queue<Node*, std::vector<Node*>, decltype(later_first)> ready(later_first);
    std::unordered_map<Node*, Tensor> grads;
    grads[root.grad_fn().get()] = seed;
    ready.push(root.grad_fn().get());
    while (!ready.empty()) {
        Node* n = ready.top();
        ready.pop();
        Tensor g = std::move(grads[n]);
        grads.erase(n);
        Grads in_grads;
        if (g.defined()) {  // a node whose consumers sent no gradient only passes "nothing" on
            if (n->released)
                throw Error(detail::concat("backward of ", n->name, ": trying to backward through the graph a second ",
                                           "time; pass retain_graph=true to the first backward() to keep it"));
            if (auto out = n->retained_output.lock()) accumulate_into_leaf(*out, g);
            std::vector<bool> flags;
            for (const Edge& e : n->inputs) flags.push_back(e.needed());
            trace::BackwardScope trace_scope(n->name, n->sequence_nr);  // "<op>_backward", linked to the op
            try {
                in_grads = n->backward(g, NeedsGrad(flags));
            } catch (const Error& err) {
                throw Error(detail::concat("backward of ", n->name, ": ", err.what()));
            }
            if (!retain_graph) {
                n->backward = nullptr;
                n->released = true;
            }
            NB_CHECK(in_grads.size() <= n->inputs.size(), "backward of ", n->name, ": returned ", in_grads.size(),
                     " gradients for ", n->inputs.size(), " inputs");
        }
        g = Tensor();  // from here on, in_grads hold the only handles a backward function did not share
        for (size_t i = 0; i < n->inputs.size(); ++i) {
            const Edge& e = n->inputs[i];
            Tensor gi = i < in_grads.size() ? std::move(in_grads[i]) : Tensor();
            if (gi.defined() && e.needed()) {
                NB_CHECK(gi.shape() == n->input_shapes[i], "backward of ", n->name, ": gradient ", gi.shape(),
                         " for input ", i, " of shape ", n->input_shapes[i]);
                // As PyTorch's engine: a gradient has its input's dtype (a float64 seed for a float32 output).
                if (gi.dtype() != n->input_dtypes[i]) gi = gi.to(n->input_dtypes[i]);
            }
            if (e.leaf && gi.defined()) accumulate_into_leaf(*e.leaf, std::move(gi));
            if (!e.node) continue;
            Node* next = e.node.get();
            if (gi.defined()) {
                Tensor& acc = grads[next];
                acc = acc.defined() ? add(acc, gi) : gi;
            }
            if (--pending[next] == 0) ready.push(next);
        }
    }
}

}  // namespace nabla::autograd

// --- the autograd members of Tensor ---
namespace nabla {

Tensor& Tensor::requires_grad_(bool on) {
    checked();
    NB_CHECK_VALUE(!on || is_floating(dtype()), "requires_grad_: only floating-point tensors can require gradients, got ",
                   dtype_name(dtype()));
    NB_CHECK_VALUE(on || is_leaf(), "requires_grad_: can only change requires_grad of a leaf tensor");
    impl()->requires_grad = on;
    return *this;
}

Tensor Tensor::grad() const { return checked().grad ? Tensor(checked().grad) : Tensor(); }

void Tensor::set_grad(const Tensor& g) const {
    if (g.defined()) NB_CHECK(g.shape() == shape(), "set_grad: gradient ", g.shape(), " for a tensor of shape ", shape());
    if (g.defined() && g.dtype() != dtype())
        throw TypeError(detail::concat("set_grad: gradient of dtype ", dtype_name(g.dtype()), " for a tensor of dtype ",
                                       dtype_name(dtype())));
    impl()->grad = g.defined() ? g.impl_ptr() : nullptr;
}

void Tensor::retain_grad() const {
    NB_CHECK_VALUE(requires_grad(), "retain_grad: tensor does not require grad");
    if (grad_fn()) grad_fn()->retained_output = impl_ptr();
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
    NB_CHECK_VALUE(requires_grad(), "backward: tensor ", shape(), " does not require grad and has no grad_fn");
    Tensor seed = gradient;
    if (!seed.defined()) {
        NB_CHECK(numel() == 1, "backward: grad can be implicitly created only for scalar outputs, got ", shape());
        seed = ones(shape(), options());
    }
    NB_CHECK(seed.shape() == shape(), "backward: gradient ", seed.shape(), " does not match the tensor ", shape());
    autograd::run_backward(*this, seed.detach().to(dtype()), retain_graph);  // torch casts the seed, too
}

Tensor Tensor::detach() const { return make_view(*this, shape(), strides(), offset()); }

}  // namespace nabla
