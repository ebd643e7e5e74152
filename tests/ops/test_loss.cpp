// tests/ops/test_loss.cpp — the losses of ops/loss.h: PyTorch golden values (tests/fixtures/make_norm.py) for every
// reduction and the gradient of the mean, in float64 and float32; hand-checked values; gradcheck in float64 with
// weights, pos_weight, label smoothing and ignore_index; error messages naming the loss and both shapes.
#include <cmath>

#include "support/support.h"

namespace {

using LossFn = std::function<Tensor(const TensorMap& g, const Tensor& input, Reduction r)>;

Tensor in_dtype(const Tensor& t, DType dt) { return t.defined() && is_floating(t.dtype()) ? t.to(dt) : t; }

// Checks y_none, y_mean, y_sum and (if saved) d mean / d input of fixture norm/<name>, in float64 and float32.
void check_loss_fixture(const std::string& name, const LossFn& f) {
    const TensorMap g64 = load_fixture("norm/" + name);
    for (auto [dt, tol] : {std::pair{kFloat64, 1e-10}, std::pair{kFloat32, 2e-5}}) {
        INFO(name << " in " << dtype_name(dt));
        TensorMap g;
        for (const auto& [k, v] : g64) g[k] = in_dtype(v, dt);
        REQUIRE_THAT(f(g, g.at("input"), Reduction::None), ClosesTo(g64.at("y_none"), tol, tol));
        REQUIRE_THAT(f(g, g.at("input"), Reduction::Mean), ClosesTo(g64.at("y_mean"), tol, tol));
        REQUIRE_THAT(f(g, g.at("input"), Reduction::Sum), ClosesTo(g64.at("y_sum"), tol, tol));
        if (!g64.count("g_input")) continue;
        Tensor x = g.at("input").detach().clone().requires_grad_();
        f(g, x, Reduction::Mean).backward();
        REQUIRE_THAT(x.grad(), ClosesTo(g64.at("g_input"), tol, tol));
    }
}

}  // namespace

TEST_CASE("losses: PyTorch golden values for every reduction", "[ops][loss]") {
    using M = const TensorMap&;
    check_loss_fixture("l1_loss", [](M g, const Tensor& x, Reduction r) { return l1_loss(x, g.at("target"), r); });
    check_loss_fixture("mse_loss", [](M g, const Tensor& x, Reduction r) { return mse_loss(x, g.at("target"), r); });
    check_loss_fixture("smooth_l1_loss",
                       [](M g, const Tensor& x, Reduction r) { return smooth_l1_loss(x, g.at("target"), r); });
    check_loss_fixture("smooth_l1_loss_b05",
                       [](M g, const Tensor& x, Reduction r) { return smooth_l1_loss(x, g.at("target"), r, 0.5); });
    auto bce = [](const TensorMap& g, const Tensor& x, Reduction r) {
        return binary_cross_entropy(x, g.at("target"), g.count("weight") ? g.at("weight") : Tensor(), r);
    };
    check_loss_fixture("bce", bce);
    check_loss_fixture("bce_weight", bce);
    check_loss_fixture("bce_saturated", bce);  // 0 and 1 (and 1e-50) as input: each log clamped at -100
    auto bce_logits = [](const TensorMap& g, const Tensor& x, Reduction r) {
        return binary_cross_entropy_with_logits(x, g.at("target"), g.count("weight") ? g.at("weight") : Tensor(),
                                                g.count("pos_weight") ? g.at("pos_weight") : Tensor(), r);
    };
    check_loss_fixture("bce_logits", bce_logits);
    check_loss_fixture("bce_logits_weight_posweight", bce_logits);
}

TEST_CASE("cross_entropy and nll_loss: PyTorch golden values", "[ops][loss]") {
    auto ce = [](int64_t ignore_index, double smoothing) {
        return [=](const TensorMap& g, const Tensor& x, Reduction r) {
            Tensor w = g.count("weight") ? g.at("weight") : Tensor();
            return cross_entropy(x, g.at("target"), w, ignore_index, r, smoothing);
        };
    };
    check_loss_fixture("ce", ce(-100, 0.0));
    check_loss_fixture("ce_weight_ignore", ce(-100, 0.0));  // a target -100 is skipped, the mean is Σ w[t] l / Σ w[t]
    check_loss_fixture("ce_smooth", ce(-100, 0.1));
    check_loss_fixture("ce_weight_smooth", ce(1, 0.2));           // ignore_index inside the classes
    check_loss_fixture("ce_4d_weight_smooth", ce(-100, 0.15));    // [N, C, H, W] logits, [N, H, W] targets
    check_loss_fixture("ce_probs_weight_smooth", ce(-100, 0.1));  // class probabilities as target
    check_loss_fixture("nll_weight_ignore", [](const TensorMap& g, const Tensor& x, Reduction r) {
        return nll_loss(x, g.at("target"), g.at("weight"), 3, r);
    });
}

TEST_CASE("losses: hand-checked values", "[ops][loss]") {
    Tensor x = t64({1, 2, 3}), t = t64({1, 0, 5});
    REQUIRE(l1_loss(x, t).item<double>() == Approx(4.0 / 3));
    REQUIRE(mse_loss(x, t, Reduction::Sum).item<double>() == Approx(8.0));
    REQUIRE_THAT(smooth_l1_loss(t64({0.5, -3}), t64({0, 0}), Reduction::None), ClosesTo(t64({0.125, 2.5})));
    REQUIRE_THAT(smooth_l1_loss(t64({0.5, -3}), t64({0, 0}), Reduction::None, 0.0), ClosesTo(t64({0.5, 3})));  // = l1
    REQUIRE(binary_cross_entropy_with_logits(t64({0, 0}), t64({1, 0})).item<double>() == Approx(std::log(2.0)));
    REQUIRE(binary_cross_entropy(t64({0.5}), t64({1})).item<double>() == Approx(std::log(2.0)));
    REQUIRE(cross_entropy(zeros({2, 5}, {.dtype = kFloat64}), from_vector<int64_t>({0, 4})).item<double>() ==
            Approx(std::log(5.0)));
    // one sample without a batch dim: [C] input, [] target
    Tensor one_target = scalar_tensor(2, {.dtype = kInt64});
    REQUIRE(nll_loss(t64({-1, -2, -3}), one_target, {}, -100, Reduction::None).item<double>() == 3.0);
    // BCE-with-logits gradient is (σ(z) - t) / n, finite at saturated logits
    Tensor z = t64({-60, 0, 60}).requires_grad_();
    binary_cross_entropy_with_logits(z, t64({1, 1, 0})).backward();
    REQUIRE_THAT(z.grad(), ClosesTo(t64({-1.0 / 3, -0.5 / 3, 1.0 / 3}), 1e-12));
    // saturated BCE keeps PyTorch's forward (100) with a finite gradient (PyTorch's is ±1e12 there; see ops/loss.cpp)
    Tensor p = t64({0, 1, 0.5}).requires_grad_();
    Tensor l = binary_cross_entropy(p, t64({1, 0, 1}), {}, Reduction::Sum);
    REQUIRE(l.item<double>() == Approx(200 + std::log(2.0)));
    l.backward();
    Tensor gp = p.grad();
    for (int64_t i = 0; i < 3; ++i) REQUIRE(std::isfinite(gp.select(0, i).item<double>()));
    REQUIRE(gp.select(0, 2).item<double>() == Approx(-2.0));
}

TEST_CASE("losses: gradcheck with weights, pos_weight, smoothing and ignore_index", "[ops][loss][gradcheck]") {
    Generator gen(5);
    auto f64 = [&](const Shape& s) { return randn(s, {.dtype = kFloat64}, &gen); };
    // targets, weights and pos_weight get gradients too (PyTorch's composite forms give them)
    Tensor x = f64({3, 4}).requires_grad_(), t = f64({3, 4}).requires_grad_();
    Tensor p = (rand({3, 4}, {.dtype = kFloat64}, &gen) * 0.8 + 0.1).requires_grad_();
    Tensor tb = rand({3, 4}, {.dtype = kFloat64}, &gen).requires_grad_();
    Tensor w = (rand({4}, {.dtype = kFloat64}, &gen) + 0.5).requires_grad_();
    Tensor pw = (rand({4}, {.dtype = kFloat64}, &gen) * 2 + 0.5).requires_grad_();
    for (Reduction r : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
        INFO("reduction " << static_cast<int>(r));
        auto check = [&](auto f, const std::vector<Tensor>& in) {
            return gradcheck([&](const std::vector<Tensor>& v) { return f(v); }, in);
        };
        REQUIRE(check([&](const auto& v) { return l1_loss(v[0], v[1], r); }, {x, t}));
        REQUIRE(check([&](const auto& v) { return mse_loss(v[0], v[1], r); }, {x, t}));
        REQUIRE(check([&](const auto& v) { return smooth_l1_loss(v[0], v[1], r, 0.7); }, {x, t}));
        REQUIRE(check([&](const auto& v) { return binary_cross_entropy(v[0], v[1], v[2], r); }, {p, tb, w}));
        REQUIRE(check([&](const auto& v) { return binary_cross_entropy_with_logits(v[0], v[1], v[2], v[3], r); },
                      {x, tb, w, pw}));

        Tensor logits = f64({5, 4}).requires_grad_();
        Tensor target = from_vector<int64_t>({0, 3, -100, 3, 2});
        REQUIRE(check([&](const auto& v) { return cross_entropy(v[0], target, v[1], -100, r, 0.0); }, {logits, w}));
        REQUIRE(check([&](const auto& v) { return cross_entropy(v[0], target, v[1], -100, r, 0.3); }, {logits, w}));
        Tensor target_in_range = from_vector<int64_t>({0, 3, 1, 3, 2});  // ignore_index 3 is one of the classes
        REQUIRE(check([&](const auto& v) { return cross_entropy(v[0], target_in_range, {}, 3, r, 0.1); }, {logits}));
        REQUIRE(check([&](const auto& v) { return nll_loss(v[0], target, v[1], -100, r); }, {logits, w}));
        Tensor logits4 = f64({2, 3, 2, 2}).requires_grad_();
        Tensor target4 = from_vector<int64_t>({0, 2, 1, 1, 2, -100, 0, 1}, {2, 2, 2});
        REQUIRE(check([&](const auto& v) { return cross_entropy(v[0], target4, {}, -100, r, 0.2); }, {logits4}));
    }
}

TEST_CASE("losses: errors name the loss and both shapes", "[ops][loss][errors]") {
    Tensor a = randn({2, 3}), b = randn({3, 2});
    REQUIRE_THROWS_WITH(l1_loss(a, b), "l1_loss: target [3, 2] must have the same shape as input [2, 3]");
    REQUIRE_THROWS_WITH(mse_loss(a, b), "mse_loss: target [3, 2] must have the same shape as input [2, 3]");
    REQUIRE_THROWS_WITH(smooth_l1_loss(a, b), "smooth_l1_loss: target [3, 2] must have the same shape as input [2, 3]");
    REQUIRE_THROWS_WITH(binary_cross_entropy(rand({2, 3}), rand({2, 1})),
                        "binary_cross_entropy: target [2, 1] must have the same shape as input [2, 3]");
    REQUIRE_THROWS_WITH(binary_cross_entropy_with_logits(a, b),
                        "binary_cross_entropy_with_logits: target [3, 2] must have the same shape as input [2, 3]");
    REQUIRE_THROWS_WITH(binary_cross_entropy_with_logits(a, a, {}, ones({2})),
                        "binary_cross_entropy_with_logits: pos_weight [2] does not broadcast to input [2, 3]");
    REQUIRE_THROWS_AS(binary_cross_entropy(a * 3.0, rand({2, 3})), ValueError);  // input outside [0, 1]
    Tensor logits = randn({4, 5});
    REQUIRE_THROWS_WITH(cross_entropy(logits, from_vector<int64_t>({0, 1, 2})),
                        "cross_entropy: expected target [4] for input [4, 5], got target [3]");
    REQUIRE_THROWS_WITH(nll_loss(logits, from_vector<int64_t>({0, 1, 7, 2})),
                        "nll_loss: target 7 is out of bounds for 5 classes (input [4, 5], ignore_index -100)");
    REQUIRE_THROWS_WITH(cross_entropy(logits, from_vector<int64_t>({0, 1, 2, 3}), ones({4})),
                        "cross_entropy: weight [4] must have one entry per class of input [4, 5]");
    REQUIRE_THROWS_AS(cross_entropy(logits, zeros({4})), ShapeError);  // float target must be probabilities [4, 5]
    REQUIRE_THROWS_AS(nll_loss(logits, zeros({4})), TypeError);        // class indices must be int64
}

TEST_CASE("loss: the fused binary_cross_entropy_with_logits kernels equal the reference, with and without pos_weight",
          "[ops][loss][backend]") {
    STATIC_REQUIRE(cpu_implements<&CpuBackend::bce_with_logits>);
    STATIC_REQUIRE(cpu_implements<&CpuBackend::bce_with_logits_backward>);
    // (the loss is the mean of the fused kernel's output: a reduce)
    const auto devices =
        fast_devices(cuda_implements<&CudaBackend::bce_with_logits> &&
                     cuda_implements<&CudaBackend::bce_with_logits_backward> && cuda_implements<&CudaBackend::reduce>);
    Tensor x = randn({4, 1, 37, 41}) * 6.0;  // logits far into both tails
    Tensor t = gt(rand(x.shape()), 0.5).to(kFloat32);
    for (const Tensor& pw : {Tensor(), full({1}, 2.5)}) {
        INFO((pw.defined() ? "pos_weight 2.5" : "no pos_weight"));
        auto run = [&](Device d) {
            Tensor xi = x.to(d).detach().requires_grad_();
            Tensor l = binary_cross_entropy_with_logits(xi, t.to(d), Tensor(), to_device(pw, d));
            l.backward();
            return std::pair{l.detach(), xi.grad()};
        };
        auto [l_ref, g_ref] = with_kernels(Kernels::reference, [&] { return run(kCPU); });
        for (Device d : devices) {
            INFO("device " << d.str());
            auto [l, g] = run(d);
            REQUIRE_THAT(l, ClosesTo(l_ref, 1e-6, 1e-5));
            REQUIRE_THAT(g, ClosesTo(g_ref, 1e-9, 1e-5));
            // and against float64, the composed formula's precision
            Tensor x64 = x.to(kFloat64).requires_grad_();
            Tensor l64 =
                binary_cross_entropy_with_logits(x64, t.to(kFloat64), Tensor(), pw.defined() ? pw.to(kFloat64) : pw);
            REQUIRE_THAT(l, ClosesTo(l64, 1e-6, 1e-5));
        }
    }
}
