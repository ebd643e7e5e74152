// autograd/node.h — the tape: what an op records so that backward() can run it in reverse.
//
// An op that has an input requiring grad (and runs in grad mode) calls record(): it creates a Node holding the
// backward function and one Edge per input, and makes the node the output's grad_fn. Nodes carry an increasing
// sequence number, so the tape order is the creation order; backward() walks the nodes reachable from the root
// in reverse tape order (autograd/engine.cpp). Each node has exactly one output: ops with several outputs
// (split, max with indices) are views or have outputs that need no gradient.
//
// A backward function gets the output's gradient and which inputs need one, and returns one gradient per input
// (an undefined Tensor where none is needed). It runs with grad mode off. Tensors it needs are captured as
// SavedTensor, which remembers the version at record time and refuses to hand out a tensor changed in place since.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nabla::autograd {

using Grads = std::vector<Tensor>;

class NeedsGrad {
public:
    explicit NeedsGrad(std::vector<bool> flags) : flags_(std::move(flags)) {}
    bool operator[](size_t i) const { return flags_[i]; }
    size_t size() const { return flags_.size(); }

private:
    std::vector<bool> flags_;
};

using BackwardFn = std::function<Grads(const Tensor& grad_output, const NeedsGrad& needs)>;

struct Node;

// Where an input's gradient goes: the node that made it, or the leaf tensor that accumulates it, or nowhere.
struct Edge {
    std::shared_ptr<Node> node;
    std::shared_ptr<TensorImpl> leaf;
    bool needed() const { return node || leaf; }
};

struct Node {
    std::string name;
    uint64_t sequence_nr = 0;
    std::vector<Edge> inputs;
    std::vector<Shape> input_shapes;  // for the shape check of returned gradients
    std::vector<DType> input_dtypes;  // returned gradients are cast to these
    BackwardFn backward;
    Shape output_shape;
    std::weak_ptr<TensorImpl> retained_output;  // set by Tensor::retain_grad on a non-leaf
    bool released = false;                      // backward ran without retain_graph
    const char* trace_shapes = nullptr;         // the forward op's traced input shapes, shown on its backward row
};

// Records `output = name(inputs...)` if grad mode is on and some input requires grad; otherwise does nothing.
void record(std::string_view name, const std::vector<Tensor>& inputs, const Tensor& output, BackwardFn backward);

// True when record() would record for these inputs: lets an op skip work that only backward needs.
bool needs_grad(const std::vector<Tensor>& inputs);

class SavedTensor {
public:
    SavedTensor() = default;
    explicit SavedTensor(const Tensor& t)
        : tensor_(t.defined() ? t.detach() : Tensor()), version_(t.defined() ? t.version() : 0) {}
    const Tensor& get() const;  // throws if the tensor was modified in place after it was saved
    bool defined() const { return tensor_.defined(); }

private:
    Tensor tensor_;
    uint64_t version_ = 0;
};

inline SavedTensor save(const Tensor& t) { return SavedTensor(t); }

}  // namespace nabla::autograd
