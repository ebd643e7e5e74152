// tests/nn/test_ema.cpp — nn/optim/ema.h (ultralytics' ModelEMA): the decay ramp and the averages by hand on a tiny
// module with a parameter, a child's float64 parameter and float and int64 buffers; copy_to; state_dict through a
// safetensors file; and the errors.

#include <cmath>
#include <filesystem>

#include "nn/optim/ema.h"
#include "support/support.h"

namespace {

using Catch::Matchers::Contains;
using namespace nabla::optim;

struct Head : nn::Module {
    Tensor bias;
    explicit Head(double b) : Module("Head") { bias = register_parameter("bias", t64({b})); }
};

// weight [2, 2] float32, running_mean [2] float32, num_batches_tracked int64, head.bias [1] float64.
struct Tiny : nn::Module {
    Tensor weight, running_mean, num_batches_tracked;
    std::shared_ptr<Head> head;
    Tiny(std::vector<float> w, std::vector<float> mean, int64_t batches, double bias, Shape weight_shape = {2, 2})
        : Module("Tiny") {
        weight = register_parameter("weight", t32(w, weight_shape));
        running_mean = register_buffer("running_mean", t32(mean));
        num_batches_tracked = register_buffer("num_batches_tracked", full({}, double(batches), {.dtype = kInt64}));
        head = register_module("head", std::make_shared<Head>(bias));
    }
};

}  // namespace

TEST_CASE("ModelEMA: a clone of the model's state, then d * ema + (1 - d) * model with d ramping up",
          "[nn][optim][ema]") {
    Tiny model({1, 2, 3, 4}, {0.5f, -0.5f}, 3, 2.0);
    ModelEMA ema(model, 0.9, 2.0);
    REQUIRE(ema.updates() == 0);
    const TensorMap& s = ema.state();
    REQUIRE(s.size() == 4);
    REQUIRE_THAT(s.at("weight"), ClosesTo(t32({1, 2, 3, 4}, {2, 2}), 0.0, 0.0));
    REQUIRE_THAT(s.at("head.bias"), ClosesTo(t64({2.0}), 0.0, 0.0));
    REQUIRE(!s.at("weight").requires_grad());

    // d(x) = decay (1 - exp(-x / tau)): d(1) = 0.9 (1 - e^-0.5), d(2) = 0.9 (1 - e^-1)
    const double d1 = 0.35412240625862995, d2 = 0.5689085029457019;
    REQUIRE(ema.decay_at(1) == Approx(d1).epsilon(1e-15));
    REQUIRE(ema.decay_at(2) == Approx(d2).epsilon(1e-15));
    REQUIRE(ModelEMA(model).decay_at(1) == Approx(0.9999 * (1 - std::exp(-1.0 / 2000))).epsilon(1e-15));

    {
        NoGradGuard no_grad;
        model.weight.copy_(t32({5, 6, 7, 8}, {2, 2}));  // the model trains...
        model.running_mean.copy_(t32({1.5f, 0.5f}));
        model.num_batches_tracked.fill_(4);
        model.head->bias.fill_(-2.0);
    }
    REQUIRE_THAT(s.at("weight"), ClosesTo(t32({1, 2, 3, 4}, {2, 2}), 0.0, 0.0));  // a clone: unchanged
    ema.update(model);
    REQUIRE(ema.updates() == 1);
    auto avg = [](double e, double m, double d) { return d * e + (1 - d) * m; };
    REQUIRE_THAT(s.at("weight"),
                 ClosesTo(t64({avg(1, 5, d1), avg(2, 6, d1), avg(3, 7, d1), avg(4, 8, d1)}, {2, 2}), 1e-6));
    REQUIRE_THAT(s.at("running_mean"), ClosesTo(t64({avg(0.5, 1.5, d1), avg(-0.5, 0.5, d1)}), 1e-6));
    REQUIRE(s.at("num_batches_tracked").item<int64_t>() == 4);  // integers are copied
    REQUIRE(s.at("num_batches_tracked").dtype() == kInt64);
    REQUIRE_THAT(s.at("head.bias"), ClosesTo(t64({avg(2, -2, d1)}), 1e-15));
    REQUIRE(s.at("weight").dtype() == kFloat32);

    const double b1 = avg(2, -2, d1);
    ema.update(model);  // same model again: d(2)
    REQUIRE_THAT(s.at("head.bias"), ClosesTo(t64({avg(b1, -2, d2)}), 1e-15));
    REQUIRE(ema.updates() == 2);
}

TEST_CASE("ModelEMA: starting from a given updates count", "[nn][optim][ema]") {
    Tiny model({0, 0, 0, 0}, {0, 0}, 0, 1.0), target({0, 0, 0, 0}, {0, 0}, 0, 1.0);
    ModelEMA ema(model, 0.5, 1.0, 10);
    {
        NoGradGuard no_grad;
        model.head->bias.fill_(0.0);
    }
    ema.update(model);  // d(11) = 0.5 (1 - e^-11)
    REQUIRE(ema.updates() == 11);
    REQUIRE(ema.state().at("head.bias").item<double>() == Approx(0.5 * (1 - std::exp(-11.0))).epsilon(1e-14));
}

TEST_CASE("ModelEMA: copy_to loads the averaged weights into another instance", "[nn][optim][ema]") {
    Tiny model({1, 2, 3, 4}, {1, 1}, 2, 1.0), other({9, 9, 9, 9}, {9, 9}, 9, 9.0);
    ModelEMA ema(model, 0.5, 1.0);
    {
        NoGradGuard no_grad;
        model.weight.fill_(0.0);
    }
    ema.update(model);
    ema.copy_to(other);
    for (const auto& [key, t] : ema.state()) REQUIRE_THAT(other.state_dict().at(key), ClosesTo(t, 0.0, 0.0));
    const double d = 0.5 * (1 - std::exp(-1.0));  // the model's weight went to 0: the EMA keeps d * [1, 2, 3, 4]
    REQUIRE_THAT(other.weight, ClosesTo(t64({d, 2 * d, 3 * d, 4 * d}, {2, 2}), 1e-6));
    REQUIRE(other.num_batches_tracked.item<int64_t>() == 2);
}

TEST_CASE("ModelEMA: state_dict through a safetensors file, with updates", "[nn][optim][ema][io]") {
    TempDir dir;
    Tiny model({1, 2, 3, 4}, {0.5f, -0.5f}, 3, 2.0);
    ModelEMA a(model, 0.8, 3.0);
    for (int s = 0; s < 3; ++s) {
        {
            NoGradGuard no_grad;
            model.weight.add_(1.0);
        }
        a.update(model);
    }
    const TensorMap sd = a.state_dict();
    REQUIRE(sd.at("updates").item<int64_t>() == 3);
    REQUIRE(sd.at("decay").item<double>() == 0.8);
    REQUIRE(sd.at("tau").item<double>() == 3.0);
    REQUIRE(sd.count("ema.weight"));
    REQUIRE(sd.count("ema.head.bias"));
    save_safetensors(dir.file("ema.safetensors"), sd);

    Tiny fresh({0, 0, 0, 0}, {0, 0}, 0, 0.0);
    ModelEMA b(fresh);  // other decay, tau and weights: all replaced by the file
    b.load_state_dict(load_safetensors(dir.file("ema.safetensors")));
    REQUIRE(b.updates() == 3);
    REQUIRE(b.decay_at(4) == a.decay_at(4));
    a.update(model);
    b.update(model);
    for (const auto& [key, t] : a.state()) REQUIRE_THAT(b.state().at(key), ClosesTo(t, 0.0, 0.0));
}

TEST_CASE("ModelEMA: errors name the problem", "[nn][optim][ema]") {
    Tiny model({1, 2, 3, 4}, {0, 0}, 0, 1.0);
    REQUIRE_THROWS_WITH(ModelEMA(model, 1.5), Contains("ModelEMA: decay must be in [0, 1], got 1.5"));
    REQUIRE_THROWS_WITH(ModelEMA(model, 0.9, 0.0), Contains("ModelEMA: tau must be positive, got 0"));
    ModelEMA ema(model);
    Tiny wide({1, 2, 3, 4, 5, 6}, {0, 0}, 0, 1.0, {3, 2});
    REQUIRE_THROWS_WITH(
        ema.update(wide),
        Contains("ModelEMA.update: the model's state differs from the EMA's: weight: [3, 2] vs EMA [2, 2]"));
    REQUIRE(ema.updates() == 0);  // nothing counted or averaged

    Head head(1.0);
    REQUIRE_THROWS_WITH(ema.update(head), Contains("missing weight") && Contains("unexpected bias"));

    TensorMap bad = ema.state_dict();
    bad.erase("updates");
    bad["ema.running_mean"] = zeros({5});
    REQUIRE_THROWS_WITH(ema.load_state_dict(bad), Contains("ModelEMA.load_state_dict: missing updates") &&
                                                      Contains("ema.running_mean: [5] vs EMA [2]"));
}
