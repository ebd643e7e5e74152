// autograd/tape.cpp — recording on the tape: grad mode, record() and SavedTensor (autograd/node.h explains the
// tape). This is the layer between core and ops: it makes nodes and never runs a kernel; running them backwards is
// autograd/engine.cpp, one layer up with the ops it calls.
#include <atomic>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/trace/trace.h"

namespace nabla::autograd {

namespace {
thread_local bool t_grad_enabled = true;
thread_local bool t_anomaly_enabled = false;
std::atomic<uint64_t> g_sequence{0};
}  // namespace

bool is_grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool enabled) { t_grad_enabled = enabled; }
bool is_anomaly_enabled() { return t_anomaly_enabled; }
void set_detect_anomaly(bool enabled) { t_anomaly_enabled = enabled; }

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
    node->trace_shapes = trace::note_sequence(node->sequence_nr);  // links the forward op's trace scope to this node
    node->backward = std::move(backward);
    node->output_shape = output.shape();
    node->inputs.reserve(inputs.size());
    node->input_shapes.reserve(inputs.size());
    node->input_dtypes.reserve(inputs.size());
    for (const Tensor& t : inputs) {
        Edge e;
        if (t.defined() && t.requires_grad()) {
            if (t.grad_fn())
                e.node = t.grad_fn();
            else
                e.leaf = t.impl_ptr();
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
        throw Error(
            detail::concat("one of the tensors needed for gradient computation has been modified by an in-place "
                           "operation: tensor ",
                           tensor_.shape(), " is at version ", tensor_.version(), "; expected version ", version_));
    return tensor_;
}

}  // namespace nabla::autograd

namespace nabla {

void Tensor::retain_grad() const {
    NB_CHECK_VALUE(requires_grad(), "retain_grad: tensor does not require grad");
    if (grad_fn()) grad_fn()->retained_output = impl_ptr();
}

}  // namespace nabla
