// nn/optim/ema.h — ModelEMA: an exponential moving average of a model's weights (ultralytics' ModelEMA in
// utils/torch_utils.py, used by YOLOv5 and its kin; PyTorch's closest is torch.optim.swa_utils.AveragedModel).
//
// After each optimizer step, update() moves every floating entry of the model's state_dict (parameters and buffers
// such as BatchNorm's running statistics) towards the model:
//   updates += 1;   d = decay * (1 - exp(-updates / tau));   ema = d * ema + (1 - d) * model
// The ramp of d lets the average follow the fast early training (d is 0.0005 after the first update with the
// defaults, 0.63 * decay after tau updates). Integer entries (num_batches_tracked) are copied. The EMA keeps its own
// TensorMap of cloned tensors, so no second module is needed; copy_to() loads them into a model instance for
// evaluation or export. The update is one fused kernel per tensor (Backend::ema_update).
//
// state_dict(): "updates" (0-dim int64), "decay" and "tau" (0-dim float64), and every averaged tensor as
// "ema.<state-dict key>". load_state_dict checks that the keys and shapes are the EMA's and throws one ValueError
// listing every problem otherwise.
#pragma once
#include <cstdint>

#include "nn/module.h"
#include "nn/safetensors.h"

namespace nabla::optim {

class ModelEMA {
public:
    explicit ModelEMA(const nn::Module& model, double decay = 0.9999, double tau = 2000, int64_t updates = 0);

    // One averaging step towards `model`, which must have the state-dict keys and shapes the EMA was made from.
    void update(const nn::Module& model);
    // ultralytics' ema.decay(x): the weight d that the x-th update gives the average (decay_at(updates() + 1) is next).
    double decay_at(int64_t updates) const;
    int64_t updates() const { return updates_; }
    const TensorMap& state() const { return state_; }
    // Loads the averaged weights into `target` (another instance of the model: Module::load_state_dict, strict).
    void copy_to(nn::Module& target) const;
    // Moves the averaged tensors to `device`, as Module::to: an EMA beside its model updates without copies (fit()
    // moves it with the model to --device). An EMA on another device than the model works too, each update then
    // copying the model's tensors over.
    void to(Device device);

    TensorMap state_dict() const;
    void load_state_dict(const TensorMap& state_dict);

private:
    TensorMap state_;  // the averaged state_dict, cloned from the model
    double decay_, tau_;
    int64_t updates_;
};

}  // namespace nabla::optim
