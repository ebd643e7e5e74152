// nn/anomaly.cpp — NonFiniteWatch: a forward hook that checks each module's outputs with all_finite.
#include "nn/anomaly.h"

#include "ops/reduce.h"

namespace nabla::nn {

struct NonFiniteWatch::Hook : ForwardHook {
    std::optional<std::string> first;
    void exit(Module& m, const std::vector<Tensor>&, const std::vector<Tensor>& outputs) override {
        if (first) return;
        for (size_t k = 0; k < outputs.size(); ++k) {
            if (!outputs[k].defined() || all_finite(outputs[k])) continue;
            const std::string path = m.path();
            first = detail::concat(path.empty() ? "the model" : path, " (", m.type_name(), "): output ", k, " ",
                                   outputs[k].shape());
            return;
        }
    }
};

NonFiniteWatch::NonFiniteWatch() : hook_(std::make_shared<Hook>()), handle_(add_forward_hook(hook_)) {}
NonFiniteWatch::~NonFiniteWatch() { remove_forward_hook(handle_); }
const std::optional<std::string>& NonFiniteWatch::first() const { return hook_->first; }

}  // namespace nabla::nn
