// nn/linear.h — torch.nn.Linear, Identity and Flatten.
//   nn::Linear fc(512, 10);        // x [*, 512] -> [*, 10];  weight [10, 512], bias [10] (absent when bias=false)
//   nn::Flatten flat;              // [N, C, H, W] -> [N, C*H*W]  (start_dim=1, end_dim=-1, as torch)
// Linear's default init is torch's: weight kaiming_uniform_(a=sqrt(5)) = U(±1/sqrt(in)), bias U(±1/sqrt(in)).
// macs(): Linear output numel * in_features (bias not counted); Identity and Flatten 0.
#pragma once
#include "nn/module.h"

namespace nabla::nn {

class Linear : public Module {
public:
    Linear(int64_t in_features, int64_t out_features, bool bias = true);  // a ValueError for negative sizes
    // A ShapeError naming Linear when the last dim of x is not in_features.
    Tensor forward(const Tensor& x) override;
    void reset_parameters();
    int64_t macs(const Shape& input, const Shape& output) const override;
    std::string extra_repr() const override;

    const int64_t in_features, out_features;
    Tensor weight, bias;
};

class Identity : public Module {  // returns its input (the same handle)
public:
    Identity() : Module("Identity") {}
    Tensor forward(const Tensor& x) override { return x; }
};

class Flatten : public Module {  // x.flatten(start_dim, end_dim): a view when x is contiguous
public:
    explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
        : Module("Flatten"), start_dim(start_dim), end_dim(end_dim) {}
    Tensor forward(const Tensor& x) override { return x.flatten(start_dim, end_dim); }
    std::string extra_repr() const override;

    const int64_t start_dim, end_dim;
};

}  // namespace nabla::nn
