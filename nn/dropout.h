// nn/dropout.h — torch.nn.Dropout: in training, zeroes each element with probability p and scales the survivors by
// 1 / (1 - p), so the expected value is unchanged; in eval, the identity (the same handle).
//   nn::Dropout drop(0.3);
// The mask is drawn with nabla::rand from the global generator (so manual_seed makes it reproducible; the values
// differ from torch's), and applied as x * mask with mask = (u < 1 - p) / (1 - p): the gradient is gy * mask, from
// the mul op. p = 1 gives zeros. `inplace` is not offered (see nn/activation.h). macs(): 0.
#pragma once
#include "nn/module.h"

namespace nabla::nn {

class Dropout : public Module {
public:
    explicit Dropout(double p = 0.5);  // a ValueError naming Dropout for p outside [0, 1]
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    const double p;
};

}  // namespace nabla::nn
