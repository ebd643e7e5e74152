// nn/init.cpp — torch.nn.init (formulas at the top of nn/init.h). Values are drawn in float64 on the host and copied
// into the tensor (converting dtype and device), so one generator state gives the same values for every dtype.
#include "nn/init.h"

#include <cmath>
#include <vector>

#include "autograd/grad_mode.h"
#include "ops/elementwise.h"
#include "ops/factory.h"

namespace nabla::nn::init {

namespace {

Generator& generator(Generator* gen) { return gen ? *gen : default_generator(); }

// Copies `values` (any dtype, on the host) into `tensor` without recording anything.
Tensor fill_from(Tensor tensor, const Tensor& values) {
    NoGradGuard no_grad;
    tensor.copy_(values);
    return tensor;
}

Tensor host_values(const Tensor& tensor, bool normal, Generator* gen) {
    return normal ? randn(tensor.shape(), {.dtype = kFloat64}, &generator(gen))
                  : rand(tensor.shape(), {.dtype = kFloat64}, &generator(gen));
}

double kaiming_std(const Tensor& tensor, double a, FanMode mode, const std::string& nonlinearity, const char* fn) {
    const Fans fans = _calculate_fan_in_and_fan_out(tensor);
    const int64_t fan = mode == FanMode::FanIn ? fans.fan_in : fans.fan_out;
    NB_CHECK_VALUE(fan > 0, fn, ": the fan of tensor ", tensor.shape(), " is 0");
    return calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan));
}

double xavier_std(const Tensor& tensor, double gain, const char* fn) {
    const Fans fans = _calculate_fan_in_and_fan_out(tensor);
    NB_CHECK_VALUE(fans.fan_in + fans.fan_out > 0, fn, ": fan_in + fan_out of tensor ", tensor.shape(), " is 0");
    return gain * std::sqrt(2.0 / static_cast<double>(fans.fan_in + fans.fan_out));
}

}  // namespace

double calculate_gain(const std::string& nonlinearity, std::optional<double> param) {
    static const char* const unit_gain[] = {"linear",           "conv1d",           "conv2d",           "conv3d",
                                            "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid"};
    for (const char* name : unit_gain)
        if (nonlinearity == name) return 1.0;
    if (nonlinearity == "tanh") return 5.0 / 3.0;
    if (nonlinearity == "relu") return std::sqrt(2.0);
    if (nonlinearity == "leaky_relu") {
        const double slope = param.value_or(0.01);
        return std::sqrt(2.0 / (1.0 + slope * slope));
    }
    if (nonlinearity == "selu") return 3.0 / 4.0;
    throw ValueError(detail::concat("calculate_gain: unsupported nonlinearity '", nonlinearity, "'"));
}

Fans _calculate_fan_in_and_fan_out(const Tensor& tensor) {
    NB_CHECK_VALUE(tensor.dim() >= 2, "_calculate_fan_in_and_fan_out: fan in and fan out can not be computed for ",
                   "a tensor with fewer than 2 dimensions, got ", tensor.shape());
    int64_t receptive_field = 1;
    for (int64_t d = 2; d < tensor.dim(); ++d) receptive_field *= tensor.size(d);
    return {.fan_in = tensor.size(1) * receptive_field, .fan_out = tensor.size(0) * receptive_field};
}

Tensor uniform_(Tensor tensor, double a, double b, Generator* gen) {
    NB_CHECK_VALUE(a <= b, "uniform_: expects a <= b, got a=", a, " b=", b);
    return fill_from(tensor, host_values(tensor, false, gen) * (b - a) + a);
}

Tensor normal_(Tensor tensor, double mean, double std, Generator* gen) {
    NB_CHECK_VALUE(std >= 0, "normal_: expects std >= 0, got std=", std);
    return fill_from(tensor, host_values(tensor, true, gen) * std + mean);
}

Tensor trunc_normal_(Tensor tensor, double mean, double std, double a, double b, Generator* gen) {
    NB_CHECK_VALUE(std > 0 && a < b, "trunc_normal_: expects std > 0 and a < b, got std=", std, " a=", a, " b=", b);
    // Rejection needs 1 / P(a <= x <= b) draws per value on average: refuse intervals that make that hopeless.
    auto cdf = [](double z) { return 0.5 * (1.0 + std::erf(z / std::sqrt(2.0))); };
    const double accept = cdf((b - mean) / std) - cdf((a - mean) / std);
    NB_CHECK_VALUE(accept > 1e-4, "trunc_normal_: [", a, ", ", b, "] holds only ", accept, " of N(", mean, ", ", std,
                   "^2); move mean closer to the interval");
    Generator& g = generator(gen);
    std::vector<double> values(static_cast<size_t>(tensor.numel()));
    for (double& v : values) {
        do {
            v = mean + std * g.normal();
        } while (v < a || v > b);
    }
    return fill_from(tensor, from_vector(values, tensor.shape()));
}

Tensor constant_(Tensor tensor, double value) {
    NoGradGuard no_grad;
    tensor.fill_(value);
    return tensor;
}

Tensor zeros_(Tensor tensor) { return constant_(tensor, 0.0); }
Tensor ones_(Tensor tensor) { return constant_(tensor, 1.0); }

Tensor kaiming_uniform_(Tensor tensor, double a, FanMode mode, const std::string& nonlinearity, Generator* gen) {
    if (tensor.numel() == 0) return tensor;
    const double bound = std::sqrt(3.0) * kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_");
    return uniform_(tensor, -bound, bound, gen);
}

Tensor kaiming_normal_(Tensor tensor, double a, FanMode mode, const std::string& nonlinearity, Generator* gen) {
    if (tensor.numel() == 0) return tensor;
    return normal_(tensor, 0.0, kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_"), gen);
}

Tensor xavier_uniform_(Tensor tensor, double gain, Generator* gen) {
    const double bound = std::sqrt(3.0) * xavier_std(tensor, gain, "xavier_uniform_");
    return uniform_(tensor, -bound, bound, gen);
}

Tensor xavier_normal_(Tensor tensor, double gain, Generator* gen) {
    return normal_(tensor, 0.0, xavier_std(tensor, gain, "xavier_normal_"), gen);
}

void reset_weight_and_bias_(Tensor weight, Tensor bias, Generator* gen) {
    kaiming_uniform_(weight, std::sqrt(5.0), FanMode::FanIn, "leaky_relu", gen);
    if (!bias.defined()) return;
    const int64_t fan_in = _calculate_fan_in_and_fan_out(weight).fan_in;
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    uniform_(bias, -bound, bound, gen);
}

}  // namespace nabla::nn::init
