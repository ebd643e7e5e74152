// nn/init.h — parameter initialisation (torch.nn.init), with PyTorch's names, defaults and formulas.
//   nn::init::kaiming_uniform_(conv->weight, std::sqrt(5.0));      // what Conv2d and Linear do by default
//   nn::init::normal_(head->weight, 0.0, 0.01, &my_generator);
// Every function fills the tensor in place under NoGradGuard (so it works on parameters that require grad), draws
// from `gen` (nabla::default_generator() when null) and returns the tensor handle. The streams differ from torch's:
// compare distributions, not values, with PyTorch.
//
// Fans of a weight [out, in, k1, k2, ...] (Linear [out, in], Conv2d [out, in/groups, kh, kw], ConvTranspose2d
// [in, out/groups, kh, kw]): fan_in = size(1) * receptive field, fan_out = size(0) * receptive field.
//   kaiming: std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a); uniform bound = sqrt(3) * std
//   xavier:  std = gain * sqrt(2 / (fan_in + fan_out));                      uniform bound = sqrt(3) * std
#pragma once
#include <optional>
#include <string>

#include "core/generator.h"
#include "core/tensor.h"

namespace nabla::nn::init {

enum class FanMode { FanIn, FanOut };  // torch's mode='fan_in' / 'fan_out'

struct Fans {
    int64_t fan_in = 0, fan_out = 0;
};

// The recommended gain for a nonlinearity: linear, conv1d/2d/3d, conv_transpose1d/2d/3d and sigmoid 1; tanh 5/3;
// relu sqrt(2); leaky_relu sqrt(2 / (1 + slope^2)) with slope = param (default 0.01); selu 3/4. Anything else is a
// ValueError.
double calculate_gain(const std::string& nonlinearity, std::optional<double> param = std::nullopt);

// torch.nn.init._calculate_fan_in_and_fan_out (see the top of this file); a ValueError for fewer than 2 dims.
Fans _calculate_fan_in_and_fan_out(const Tensor& tensor);

Tensor uniform_(Tensor tensor, double a = 0.0, double b = 1.0, Generator* gen = nullptr);      // U(a, b)
Tensor normal_(Tensor tensor, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);  // N(mean, std^2)
// N(mean, std^2) restricted to [a, b] (absolute bounds, as torch), by rejection.
Tensor trunc_normal_(Tensor tensor, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0,
                     Generator* gen = nullptr);
Tensor constant_(Tensor tensor, double value);
Tensor zeros_(Tensor tensor);
Tensor ones_(Tensor tensor);

// He et al. 2015; `a` is the negative slope of the leaky_relu that follows (only used with nonlinearity
// "leaky_relu"). A tensor with no elements is returned unchanged, as torch (which warns).
Tensor kaiming_uniform_(Tensor tensor, double a = 0.0, FanMode mode = FanMode::FanIn,
                        const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);
Tensor kaiming_normal_(Tensor tensor, double a = 0.0, FanMode mode = FanMode::FanIn,
                       const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);
// Glorot & Bengio 2010.
Tensor xavier_uniform_(Tensor tensor, double gain = 1.0, Generator* gen = nullptr);
Tensor xavier_normal_(Tensor tensor, double gain = 1.0, Generator* gen = nullptr);

// The reset_parameters of torch's Linear and _ConvNd (Conv2d, ConvTranspose2d): weight kaiming_uniform_(a=sqrt(5)),
// which is U(±1/sqrt(fan_in)), and bias (if defined) U(±1/sqrt(fan_in)); fan_in from the weight.
void reset_weight_and_bias_(Tensor weight, Tensor bias, Generator* gen = nullptr);

}  // namespace nabla::nn::init
