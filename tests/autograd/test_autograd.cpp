// tests/autograd/test_autograd.cpp — the tape: accumulation, broadcasting gradients, retain_graph, version checks,
// NoGradGuard, detach, gradcheck itself (it must fail on a wrong gradient), anomaly mode and all_finite.
#include "support/support.h"

TEST_CASE("autograd: gradients accumulate into leaves", "[autograd]") {
    Tensor x = t64({1, 2, 3}).requires_grad_();
    Tensor y = (x * x).sum();  // dy/dx = 2x
    y.backward();
    REQUIRE_THAT(x.grad(), ClosesTo(t64({2, 4, 6})));
    (x * 3.0).sum().backward();  // accumulates: 2x + 3
    REQUIRE_THAT(x.grad(), ClosesTo(t64({5, 7, 9})));
}

TEST_CASE("autograd: a tensor used twice gets both contributions; broadcast gradients are summed", "[autograd]") {
    Tensor a = t64({1, 2, 3}, {3, 1}).requires_grad_();
    Tensor b = t64({10, 20}, {1, 2}).requires_grad_();
    Tensor y = (a * b + a).sum();
    y.backward();
    REQUIRE_THAT(a.grad(),
                 ClosesTo(t64({32, 32, 32}, {3, 1})));  // sum_j b_j = 30, plus 1 per column of the broadcast a
    REQUIRE_THAT(b.grad(), ClosesTo(t64({6, 6}, {1, 2})));
}

TEST_CASE("autograd: backward twice needs retain_graph", "[autograd]") {
    Tensor x = t64({1, 2}).requires_grad_();
    Tensor y = (x.exp()).sum();
    y.backward(Tensor(), /*retain_graph=*/true);
    y.backward();
    REQUIRE_THAT(x.grad(), ClosesTo(mul(exp(t64({1, 2})), 2.0)));
    REQUIRE_THROWS_WITH(y.backward(), Catch::Contains("second time"));
}

TEST_CASE("autograd: modifying a saved tensor in place is an error at backward", "[autograd]") {
    Tensor x = t64({1, 2}).requires_grad_();
    Tensor h = x * 2.0;
    Tensor y = h.exp();  // saves its output
    {
        NoGradGuard ng;
        y.mul_(2.0);
    }
    REQUIRE_THROWS_WITH(y.sum().backward(),
                        Catch::Contains("modified by an in-place operation") && Catch::Contains("exp"));
}

TEST_CASE("autograd: NoGradGuard and detach stop the tape", "[autograd]") {
    Tensor x = t64({1, 2}).requires_grad_();
    {
        NoGradGuard ng;
        REQUIRE_FALSE((x * 2.0).requires_grad());
    }
    REQUIRE_FALSE(x.detach().requires_grad());
    REQUIRE((x * 2.0).requires_grad());
    Tensor y = (x * x.detach()).sum();  // the detached factor is a constant
    y.backward();
    REQUIRE_THAT(x.grad(), ClosesTo(t64({1, 2})));
}

TEST_CASE("autograd: retain_grad keeps a non-leaf gradient", "[autograd]") {
    Tensor x = t64({1, 2}).requires_grad_();
    Tensor h = x * 3.0;
    h.retain_grad();
    (h * h).sum().backward();
    REQUIRE_THAT(h.grad(), ClosesTo(t64({6, 12})));
}

TEST_CASE("autograd: gradcheck passes true gradients and reports a wrong one", "[autograd][gradcheck]") {
    Tensor x = randn({3, 4}, {.dtype = kFloat64, .requires_grad = true});
    REQUIRE(gradcheck([](const std::vector<Tensor>& in) { return (in[0] * in[0]).sum({1}); }, {x}));
    // A function whose backward lies: forward x*x but gradient taken through a detached factor (gives x, not 2x).
    auto wrong = [](const std::vector<Tensor>& in) { return in[0] * in[0].detach(); };
    REQUIRE_THROWS_AS(gradcheck(wrong, {x}), GradcheckError);
    REQUIRE_THROWS_WITH(gradcheck(wrong, {x}), Catch::Contains("input 0") && Catch::Contains("element"));
}

TEST_CASE("all_finite: false for a NaN or an infinity anywhere, true otherwise and for integers",
          "[autograd][anomaly]") {
    REQUIRE(all_finite(t32({1, -2, 3e38f})));
    REQUIRE(all_finite(t32({})));
    REQUIRE_FALSE(all_finite(t32({1, NAN, 3})));
    REQUIRE_FALSE(all_finite(t64({1, -INFINITY})));
    REQUIRE_FALSE(all_finite(t32({0, 0, 0, 0, 0, INFINITY}, {2, 3}).transpose(0, 1)));  // a strided view
    REQUIRE(all_finite(arange(5.0, {.dtype = kInt64})));
}

TEST_CASE("autograd: anomaly mode names the node whose backward returned a non-finite gradient",
          "[autograd][anomaly]") {
    // sqrt at 0: a finite forward, an infinite gradient 1 / (2 sqrt(0)); exp after it stays finite.
    auto run = [] {
        Tensor x = t64({0, 1, 4}).requires_grad_();
        (x.sqrt().exp()).sum().backward();
        return x.grad();
    };
    REQUIRE_FALSE(all_finite(run()));  // without anomaly mode the infinity reaches x.grad silently
    DetectAnomalyGuard anomaly;
    REQUIRE(autograd::is_anomaly_enabled());
    REQUIRE_THROWS_AS(run(), AnomalyError);
    REQUIRE_THROWS_WITH(run(),
                        "backward of sqrt (output [3]) returned non-finite values in its gradient for input 0 [3]");
}

TEST_CASE("autograd: DetectAnomalyGuard restores the previous mode", "[autograd][anomaly]") {
    REQUIRE_FALSE(autograd::is_anomaly_enabled());
    {
        DetectAnomalyGuard outer;
        { DetectAnomalyGuard inner; }
        REQUIRE(autograd::is_anomaly_enabled());
    }
    REQUIRE_FALSE(autograd::is_anomaly_enabled());
}
