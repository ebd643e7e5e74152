// autograd/engine.cpp — running the tape backwards (recording on it is autograd/tape.cpp).
//
// backward(root): collect the nodes reachable from root.grad_fn, count for each node how many reachable nodes feed
// gradient into it, then run nodes in reverse tape order (highest sequence number first) once all their consumers
// have contributed. Gradients for one node are summed before it runs; gradients reaching a leaf are accumulated
// into leaf.grad. Without retain_graph each node drops its backward function after running, so a second backward
// through it is an error, as in PyTorch.
// In anomaly mode (DetectAnomalyGuard) every gradient a node returns is checked, and the first NaN or infinity
// stops the backward with an AnomalyError naming the node, the input and its shape, as torch's detect_anomaly does
// ("Function 'LogBackward0' returned nan values in its 0th output").
// With BackwardHooks installed (autograd/hooks.h), the engine also counts how many edges of the graph lead to each
// leaf, and calls leaf_ready once the last of them has delivered; finished() once every node has run.
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "autograd/hooks.h"
#include "autograd/node.h"
#include "core/trace/trace.h"
#include "ops/elementwise.h"
#include "ops/factory.h"
#include "ops/reduce.h"

namespace nabla::autograd {

namespace {

// Takes `g` by value: callers move their handle in, so that "nobody else holds it" can be checked below.
void accumulate_into_leaf(TensorImpl& leaf, Tensor g) {
    if (!leaf.grad) {
        // Keep the incoming tensor when nobody else holds it or its storage; otherwise copy, so that an in-place
        // change of .grad (zero_grad, an optimizer) never writes into another tensor: add's backward hands one
        // tensor to both inputs, and the seed belongs to the caller.
        // A broadcast or strided gradient (the backward of sum is an expanded view) is made dense first. A
        // channels-last gradient of a channels-last leaf is kept as it is (torch's AccumulateGrad keeps the leaf's
        // layout too).
        const bool owned = g.impl_ptr().use_count() == 1 && g.storage().use_count() == 1;
        const MemoryFormat format =
            g.suggest_memory_format() == MemoryFormat::ChannelsLast && g.strides() == leaf.strides
                ? MemoryFormat::ChannelsLast
                : MemoryFormat::Contiguous;
        leaf.grad = (owned && g.is_contiguous(format) ? g : g.detach().clone(format)).impl_ptr();
        leaf.grad->requires_grad = false;
        leaf.grad->grad_fn = nullptr;
        return;
    }
    Tensor(leaf.grad).add_(g);
}

// The anomaly-mode check of the gradients node `n` returned.
void check_finite(const Node& n, const Grads& grads) {
    for (size_t i = 0; i < grads.size(); ++i)
        if (grads[i].defined() && !all_finite(grads[i]))
            throw AnomalyError(detail::concat("backward of ", n.name, " (output ", n.output_shape,
                                              ") returned non-finite values in its gradient for input ", i, " ",
                                              grads[i].shape()));
}

thread_local const BackwardHooks* t_hooks = nullptr;

}  // namespace

BackwardHooksGuard::BackwardHooksGuard(const BackwardHooks& hooks) : previous_(t_hooks) { t_hooks = &hooks; }
BackwardHooksGuard::~BackwardHooksGuard() { t_hooks = previous_; }
const BackwardHooks* current_backward_hooks() { return t_hooks; }

void run_backward(const Tensor& root, Tensor seed, bool retain_graph) {
    trace::Scope trace_scope(trace::backward, "backward");
    NoGradGuard no_grad;
    const BackwardHooks* hooks = t_hooks;
    if (!root.grad_fn()) {  // a leaf: its gradient is the seed
        accumulate_into_leaf(*root.impl(), std::move(seed));
        if (hooks && hooks->leaf_ready) hooks->leaf_ready(*root.impl());
        if (hooks && hooks->finished) hooks->finished();
        return;
    }
    // 1. Reachable nodes and how many gradient contributions each waits for (leaves too, when hooks want them).
    std::unordered_map<Node*, int> pending;
    std::unordered_map<TensorImpl*, int> leaf_pending;
    const bool track_leaves = hooks && hooks->leaf_ready;
    std::vector<Node*> stack{root.grad_fn().get()};
    std::unordered_set<Node*> seen{stack.back()};
    while (!stack.empty()) {
        Node* n = stack.back();
        stack.pop_back();
        for (const Edge& e : n->inputs) {
            if (e.leaf && track_leaves) ++leaf_pending[e.leaf.get()];
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
            trace::BackwardScope trace_scope(n->name, n->sequence_nr,
                                             n->trace_shapes);  // "<op>_backward", linked to the op
            try {
                in_grads = n->backward(g, NeedsGrad(flags));
            } catch (const Error& err) {
                throw Error(detail::concat("backward of ", n->name, ": ", err.what()));
            }
            if (is_anomaly_enabled()) check_finite(*n, in_grads);
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
            if (e.leaf && track_leaves && --leaf_pending[e.leaf.get()] == 0) hooks->leaf_ready(*e.leaf);
            if (!e.node) continue;
            Node* next = e.node.get();
            if (gi.defined()) {
                Tensor& acc = grads[next];
                acc = acc.defined() ? add(acc, gi) : gi;
            }
            if (--pending[next] == 0) ready.push(next);
        }
    }
    if (hooks && hooks->finished) hooks->finished();
}

}  // namespace nabla::autograd

// --- Tensor::backward ---
namespace nabla {

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

}  // namespace nabla
