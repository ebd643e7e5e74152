// nn/activation.h — the activation layers of torch.nn: ReLU, ReLU6, SiLU, Sigmoid, Tanh, LeakyReLU, Hardswish, PReLU.
// Each calls its function of ops/activation.h (where the math and the gradients are); any shape in, same shape out.
// torch's `inplace=True` is not offered: it only saves memory in eager PyTorch, and an in-place op would break the
// tape's saved tensors here; the results are the same without it.
// PReLU has a learnable weight [num_parameters] (1, or the channel count C = dim 1 of the input), init 0.25.
// macs(): 0 (no weight multiply-accumulates).
#pragma once
#include "nn/module.h"

namespace nabla::nn {

class ReLU : public Module {
public:
    ReLU() : Module("ReLU") {}
    Tensor forward(const Tensor& x) override;
};

class ReLU6 : public Module {  // min(max(x, 0), 6)
public:
    ReLU6() : Module("ReLU6") {}
    Tensor forward(const Tensor& x) override;
};

class SiLU : public Module {  // x * sigmoid(x), YOLOv5's activation
public:
    SiLU() : Module("SiLU") {}
    Tensor forward(const Tensor& x) override;
};

class Sigmoid : public Module {
public:
    Sigmoid() : Module("Sigmoid") {}
    Tensor forward(const Tensor& x) override;
};

class Tanh : public Module {
public:
    Tanh() : Module("Tanh") {}
    Tensor forward(const Tensor& x) override;
};

class LeakyReLU : public Module {  // x for x >= 0, negative_slope * x below
public:
    explicit LeakyReLU(double negative_slope = 0.01) : Module("LeakyReLU"), negative_slope(negative_slope) {}
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    const double negative_slope;
};

class Hardswish : public Module {  // x * relu6(x + 3) / 6
public:
    Hardswish() : Module("Hardswish") {}
    Tensor forward(const Tensor& x) override;
};

class PReLU : public Module {  // LeakyReLU with a learned slope per channel (or one for all)
public:
    explicit PReLU(int64_t num_parameters = 1, double init = 0.25);  // a ValueError for num_parameters < 1
    Tensor forward(const Tensor& x) override;
    void reset_parameters();  // weight = init
    std::string extra_repr() const override;

    const int64_t num_parameters;
    const double init;
    Tensor weight;  // [num_parameters]
};

}  // namespace nabla::nn
