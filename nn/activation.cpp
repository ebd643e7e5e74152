// nn/activation.cpp — the activation layers over ops/activation.h, and their print formats.
#include "nn/activation.h"

#include "nn/init.h"
#include "nn/repr.h"
#include "ops/activation.h"
#include "ops/factory.h"

namespace nabla::nn {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor ReLU6::forward(const Tensor& x) { return relu6(x); }
Tensor SiLU::forward(const Tensor& x) { return silu(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor Hardswish::forward(const Tensor& x) { return hardswish(x); }

Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, negative_slope); }
std::string LeakyReLU::extra_repr() const { return "negative_slope=" + py_float(negative_slope); }

PReLU::PReLU(int64_t num_parameters_, double init_) : Module("PReLU"), num_parameters(num_parameters_), init(init_) {
    NB_CHECK_VALUE(num_parameters > 0, "PReLU: num_parameters must be positive, got ", num_parameters);
    weight = register_parameter("weight", empty({num_parameters}));
    reset_parameters();
}

void PReLU::reset_parameters() { nn::init::constant_(weight, init); }

Tensor PReLU::forward(const Tensor& x) {
    NB_CHECK(num_parameters == 1 || (x.dim() >= 2 && x.size(1) == num_parameters),
             "PReLU(num_parameters=", num_parameters, "): expected input [N, ", num_parameters, ", *], got ",
             x.shape());
    return prelu(x, weight);
}

std::string PReLU::extra_repr() const { return fmt::format("num_parameters={}", num_parameters); }

}  // namespace nabla::nn
