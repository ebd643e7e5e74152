// nn/optim/adam.h — Adam and AdamW (torch.optim.Adam, torch.optim.AdamW; the single-tensor implementations of
// torch 1.13). Per parameter, with t its step count:
//   Adam:  g = g + weight_decay * p                  (L2 regularisation through the gradient)
//   AdamW: p = p * (1 - lr * weight_decay)           (decoupled weight decay, Loshchilov & Hutter 2019)
//   m = beta1 * m + (1 - beta1) * g                  v = beta2 * v + (1 - beta2) * g * g
//   v_hat = max(v_max, v) with amsgrad (kept in max_exp_avg_sq), else v
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)
// (g = -g first with maximize.) One fused kernel per parameter: Backend::adam_step, math in
// backends/common/optim_math.h.
#pragma once
#include "nn/optim/optimizer.h"

namespace nabla::optim {

struct AdamOptions {
    double lr = 1e-3;
    std::array<double, 2> betas = {0.9, 0.999};
    double eps = 1e-8, weight_decay = 0;
    bool amsgrad = false, maximize = false;
};

struct AdamWOptions {  // as AdamOptions, with AdamW's default weight_decay
    double lr = 1e-3;
    std::array<double, 2> betas = {0.9, 0.999};
    double eps = 1e-8, weight_decay = 1e-2;
    bool amsgrad = false, maximize = false;
};

class Adam : public Optimizer {
public:
    Adam(std::vector<Tensor> params, AdamOptions options = {});
    Adam(std::vector<ParamGroup> groups, AdamOptions options = {});

    std::string_view name() const override { return decoupled_ ? "AdamW" : "Adam"; }
    void step() override;
    bool has_betas() const override { return true; }
    const AdamOptions& defaults() const { return defaults_; }

protected:
    Adam(std::vector<ParamGroup> groups, AdamOptions options, bool decoupled_weight_decay);
    void init_group(ParamGroup& group) const override;
    void group_fields(StateIO& io, ParamGroup& group) const override;
    std::vector<std::string> state_names() const override {
        return {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    }

private:
    AdamOptions defaults_;
    bool decoupled_;  // AdamW
};

class AdamW : public Adam {
public:
    AdamW(std::vector<Tensor> params, AdamWOptions options = {});
    AdamW(std::vector<ParamGroup> groups, AdamWOptions options = {});
};

}  // namespace nabla::optim
