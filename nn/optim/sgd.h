// nn/optim/sgd.h — stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay
// (torch.optim.SGD, the single-tensor implementation of torch 1.13):
//   d = g + weight_decay * p                               (d = -g first with maximize)
//   buf = d on the first step, else momentum * buf + (1 - dampening) * d
//   d = d + momentum * buf with nesterov, else d = buf     (when momentum != 0)
//   p = p - lr * d
// The update runs as one fused kernel per parameter (Backend::sgd_step, math in backends/common/optim_math.h).
#pragma once
#include <optional>

#include "nn/optim/optimizer.h"

namespace nabla::optim {

struct SGDOptions {
    std::optional<double> lr;  // required, as torch's `lr=required`
    double momentum = 0, dampening = 0, weight_decay = 0;
    bool nesterov = false, maximize = false;
};

class SGD : public Optimizer {
public:
    SGD(std::vector<Tensor> params, SGDOptions options);
    SGD(std::vector<ParamGroup> groups, SGDOptions options);

    std::string_view name() const override { return "SGD"; }
    void step() override;
    bool has_momentum() const override { return true; }
    const SGDOptions& defaults() const { return defaults_; }

protected:
    void init_group(ParamGroup& group) const override;
    void group_fields(StateIO& io, ParamGroup& group) const override;
    std::vector<std::string> state_names() const override { return {"momentum_buffer"}; }

private:
    SGDOptions defaults_;
};

}  // namespace nabla::optim
