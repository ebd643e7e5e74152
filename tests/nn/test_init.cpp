// tests/nn/test_init.cpp — nn/init.h (torch.nn.init): gains and fans against torch's formulas, the distributions of
// the fills on large tensors (bounds exact, mean and std within a few standard errors), generators, and the default
// init of the layers (torch's reset_parameters).
#include <cmath>

#include "nn/nn.h"
#include "support/support.h"

using namespace nabla::nn;  // NOLINT

namespace {

struct Stats {
    double mean, std, min, max;
};

Stats stats(const Tensor& t) {
    Tensor d = t.detach().to(kFloat64);
    return {d.mean().item<double>(), nabla::std(d).item<double>(), min(d).item<double>(), max(d).item<double>()};
}

// A uniform fill on [-bound, bound]: inside the bounds, reaching close to both, std bound/sqrt(3).
void check_uniform(const Tensor& t, double bound) {
    const Stats s = stats(t);
    REQUIRE(s.max <= bound * (1 + 1e-6));
    REQUIRE(s.min >= -bound * (1 + 1e-6));
    REQUIRE(s.max > 0.999 * bound);
    REQUIRE(s.min < -0.999 * bound);
    REQUIRE(s.std == Approx(bound / std::sqrt(3.0)).epsilon(0.01));
    REQUIRE(std::abs(s.mean) < 0.01 * s.std);
}

void check_normal(const Tensor& t, double mean, double std) {
    const Stats s = stats(t);
    REQUIRE(s.std == Approx(std).epsilon(0.01));
    REQUIRE(std::abs(s.mean - mean) < 0.01 * std);
    REQUIRE(s.max - mean > 4 * std);  // 300k normal draws reach past 4 sigma on both sides
    REQUIRE(mean - s.min > 4 * std);
}

}  // namespace

TEST_CASE("init: calculate_gain as torch", "[nn][init]") {
    REQUIRE(init::calculate_gain("linear") == 1.0);
    REQUIRE(init::calculate_gain("conv2d") == 1.0);
    REQUIRE(init::calculate_gain("conv_transpose2d") == 1.0);
    REQUIRE(init::calculate_gain("sigmoid") == 1.0);
    REQUIRE(init::calculate_gain("tanh") == Approx(5.0 / 3.0));
    REQUIRE(init::calculate_gain("relu") == Approx(std::sqrt(2.0)));
    REQUIRE(init::calculate_gain("leaky_relu") == Approx(std::sqrt(2.0 / (1 + 0.01 * 0.01))));
    REQUIRE(init::calculate_gain("leaky_relu", 0.2) == Approx(std::sqrt(2.0 / 1.04)));
    REQUIRE(init::calculate_gain("leaky_relu", std::sqrt(5.0)) == Approx(std::sqrt(1.0 / 3.0)));
    REQUIRE(init::calculate_gain("selu") == 0.75);
    REQUIRE_THROWS_WITH(init::calculate_gain("gelu"), "calculate_gain: unsupported nonlinearity 'gelu'");
}

TEST_CASE("init: fan_in and fan_out of Linear, Conv2d and ConvTranspose2d weights", "[nn][init]") {
    auto fans = init::_calculate_fan_in_and_fan_out(empty({64, 3, 7, 7}));  // Conv2d(3, 64, 7)
    REQUIRE(fans.fan_in == 3 * 49);
    REQUIRE(fans.fan_out == 64 * 49);
    fans = init::_calculate_fan_in_and_fan_out(empty({10, 20}));  // Linear(20, 10)
    REQUIRE(fans.fan_in == 20);
    REQUIRE(fans.fan_out == 10);
    fans = init::_calculate_fan_in_and_fan_out(ConvTranspose2d(8, 8, 2, {.groups = 2}).weight);  // [8, 4, 2, 2]
    REQUIRE(fans.fan_in == 16);
    REQUIRE(fans.fan_out == 32);
    REQUIRE_THROWS_AS(init::_calculate_fan_in_and_fan_out(empty({5})), ValueError);
    REQUIRE_THROWS_WITH(init::kaiming_uniform_(empty({5})),
                        Catch::Matchers::Contains("fewer than 2 dimensions, got [5]"));
}

TEST_CASE("init: kaiming and xavier fills follow their formulas", "[nn][init]") {
    Generator gen(11);
    Tensor w = empty({256, 128, 3, 3});  // fan_in 1152, fan_out 2304, 295k values
    const double fan_in = 128 * 9, fan_out = 256 * 9;

    init::kaiming_uniform_(w, 0.0, init::FanMode::FanIn, "relu", &gen);
    check_uniform(w, std::sqrt(3.0) * std::sqrt(2.0) / std::sqrt(fan_in));
    init::kaiming_uniform_(w, std::sqrt(5.0), init::FanMode::FanIn, "leaky_relu", &gen);  // the layers' default
    check_uniform(w, 1.0 / std::sqrt(fan_in));
    init::kaiming_normal_(w, 0.0, init::FanMode::FanOut, "relu", &gen);
    check_normal(w, 0.0, std::sqrt(2.0) / std::sqrt(fan_out));
    init::kaiming_normal_(w, 0.1, init::FanMode::FanIn, "leaky_relu", &gen);
    check_normal(w, 0.0, std::sqrt(2.0 / 1.01) / std::sqrt(fan_in));
    init::xavier_uniform_(w, 2.0, &gen);
    check_uniform(w, 2.0 * std::sqrt(6.0 / (fan_in + fan_out)));
    init::xavier_normal_(w, 1.0, &gen);
    check_normal(w, 0.0, std::sqrt(2.0 / (fan_in + fan_out)));

    Tensor none = empty({0, 3});
    REQUIRE(init::kaiming_uniform_(none).numel() == 0);  // nothing to fill, no error (torch warns)
}

TEST_CASE("init: uniform_, normal_, trunc_normal_, constant_, zeros_, ones_", "[nn][init]") {
    Generator gen(3);
    Tensor t = empty({300000}, {.dtype = kFloat64});
    init::uniform_(t, -0.5, 1.5, &gen);
    const Stats u = stats(t);
    REQUIRE(u.min >= -0.5);
    REQUIRE(u.max < 1.5);
    REQUIRE(u.mean == Approx(0.5).margin(0.01));
    REQUIRE(u.std == Approx(2.0 / std::sqrt(12.0)).epsilon(0.01));
    init::normal_(t, 3.0, 0.5, &gen);
    check_normal(t, 3.0, 0.5);
    // N(1, 2^2) truncated to [-1, 3] = mean ± 1 std: std = 2 sqrt(1 - 2 phi(1) / (Phi(1) - Phi(-1))) = 1.0791
    init::trunc_normal_(t, 1.0, 2.0, -1.0, 3.0, &gen);
    const Stats tn = stats(t);
    REQUIRE(tn.min >= -1.0);
    REQUIRE(tn.max <= 3.0);
    REQUIRE(tn.min < -0.99);
    REQUIRE(tn.mean == Approx(1.0).margin(0.01));
    REQUIRE(tn.std == Approx(1.0791).epsilon(0.01));
    REQUIRE_THROWS_AS(init::trunc_normal_(t, 0.0, 1.0, 10.0, 11.0), ValueError);  // P < 1e-4: refused

    REQUIRE_THAT(init::constant_(t, 0.25), ClosesTo(full({300000}, 0.25, {.dtype = kFloat64}), 0, 0));
    REQUIRE_THAT(init::zeros_(t), ClosesTo(zeros({300000}, {.dtype = kFloat64}), 0, 0));
    REQUIRE_THAT(init::ones_(t), ClosesTo(ones({300000}, {.dtype = kFloat64}), 0, 0));
    REQUIRE(t.dtype() == kFloat64);
}

TEST_CASE("init: fills parameters in place without recording, from the given or the global generator", "[nn][init]") {
    Linear fc(4, 3);
    Tensor handle = fc.weight;
    init::normal_(fc.weight, 0.0, 1.0);
    REQUIRE(fc.weight.is_same(handle));  // in place: the module's tensor is the one filled
    REQUIRE(fc.weight.requires_grad());
    REQUIRE(fc.weight.is_leaf());
    REQUIRE(fc.named_parameters()[0].second.is_same(fc.weight));

    Generator a(42), b(42);
    Tensor x = empty({100}), y = empty({100});
    init::xavier_uniform_(x.view({10, 10}), 1.0, &a);
    init::xavier_uniform_(y.view({10, 10}), 1.0, &b);
    REQUIRE_THAT(x, ClosesTo(y, 0, 0));  // same seed, same values
    manual_seed(9);
    init::uniform_(x);
    manual_seed(9);
    init::uniform_(y);
    REQUIRE_THAT(x, ClosesTo(y, 0, 0));  // the default is the global generator
    init::uniform_(y);
    REQUIRE_FALSE(ClosesTo(x, 0, 0).match(y));  // which moved on
}

TEST_CASE("init: the layers' default init is torch's", "[nn][init]") {
    manual_seed(1);
    Conv2d conv(16, 32, 3);  // fan_in 144: weight and bias in ±1/12
    for (const Tensor& t : {conv.weight, conv.bias}) {
        const Stats s = stats(t);
        REQUIRE(s.max <= 1.0 / 12 * (1 + 1e-6));
        REQUIRE(s.min >= -1.0 / 12 * (1 + 1e-6));
    }
    REQUIRE(stats(conv.weight).max > 0.99 / 12);  // 4608 draws reach the bound
    REQUIRE(stats(conv.weight).std == Approx(1.0 / 12 / std::sqrt(3.0)).epsilon(0.05));
    REQUIRE(stats(conv.bias).std > 0);

    ConvTranspose2d up(8, 16, 3, {.groups = 2});  // weight [8, 8, 3, 3]: fan_in 72
    REQUIRE(stats(up.weight).max <= 1.0 / std::sqrt(72.0) * (1 + 1e-6));
    REQUIRE(stats(up.weight).max > 0.98 / std::sqrt(72.0));
    REQUIRE(stats(up.bias).max <= 1.0 / std::sqrt(72.0) * (1 + 1e-6));

    Linear fc(100, 50);  // ±0.1
    REQUIRE(stats(fc.weight).max <= 0.1 * (1 + 1e-6));
    REQUIRE(stats(fc.weight).max > 0.099);
    REQUIRE(stats(fc.weight).min >= -0.1 * (1 + 1e-6));
    REQUIRE(stats(fc.bias).max <= 0.1 * (1 + 1e-6));

    BatchNorm2d bn(4);
    REQUIRE_THAT(bn.weight, ClosesTo(ones({4}), 0, 0));
    REQUIRE_THAT(bn.bias, ClosesTo(zeros({4}), 0, 0));
    GroupNorm gn(2, 4);
    REQUIRE_THAT(gn.weight, ClosesTo(ones({4}), 0, 0));
    REQUIRE_THAT(gn.bias, ClosesTo(zeros({4}), 0, 0));
    REQUIRE_THAT(PReLU().weight, ClosesTo(full({1}, 0.25), 0, 0));

    manual_seed(1);
    Conv2d again(16, 32, 3);
    REQUIRE_THAT(again.weight, ClosesTo(conv.weight, 0, 0));  // reproducible from the global seed
}
