// nn/linear.cpp — Linear (F.linear with torch's default init), and Flatten's print format.
#include "nn/linear.h"

#include "nn/init.h"
#include "nn/repr.h"
#include "ops/factory.h"
#include "ops/matmul.h"

namespace nabla::nn {

Linear::Linear(int64_t in_features_, int64_t out_features_, bool with_bias)
    : Module("Linear"), in_features(in_features_), out_features(out_features_) {
    NB_CHECK_VALUE(in_features >= 0 && out_features >= 0, "Linear: in_features and out_features must be ",
                   "non-negative, got ", in_features, " and ", out_features);
    weight = register_parameter("weight", empty({out_features, in_features}));
    bias = register_parameter("bias", with_bias ? empty({out_features}) : Tensor());
    reset_parameters();
}

void Linear::reset_parameters() { init::reset_weight_and_bias_(weight, bias); }

Tensor Linear::forward(const Tensor& x) {
    NB_CHECK(x.dim() >= 1 && x.size(-1) == in_features, "Linear(in_features=", in_features,
             ", out_features=", out_features, "): expected input [*, ", in_features, "], got ", x.shape());
    return linear(x, weight, bias);
}

int64_t Linear::macs(const Shape& input, const Shape& output) const { return numel_of(output) * in_features; }

std::string Linear::extra_repr() const {
    return fmt::format("in_features={}, out_features={}, bias={}", in_features, out_features, py_bool(bias.defined()));
}

std::string Flatten::extra_repr() const { return fmt::format("start_dim={}, end_dim={}", start_dim, end_dim); }

}  // namespace nabla::nn
