// tests/autograd/test_edge_cases.cpp — the corners of the tape against PyTorch 1.13: diamonds and reuse, leaf
// gradients that must not alias each other, retain_graph with accumulation, views of views, in-place changes seen
// through any view of a saved storage, set_grad/detach/requires_grad_ rules, seeds of another dtype, gradients of
// empty and 0-dim tensors, failed ops that must leave the graph as it was, and gradcheck's own corner cases.
#include "support/support.h"

TEST_CASE("autograd edge: a diamond and a tensor used by several ops get every contribution", "[autograd][edge]") {
    Tensor x = t64({1, 2, 3}).requires_grad_();
    Tensor a = x * 2.0, b = x.exp(), c = a * b;  // x -> a, b -> c: dc/dx = 2 e^x + 2x e^x
    Tensor y = (c + a + x.view({3, 1}).squeeze(1)).sum();
    y.backward();
    Tensor e = exp(t64({1, 2, 3}));
    REQUIRE_THAT(x.grad(), ClosesTo(2.0 * e + 2.0 * t64({1, 2, 3}) * e + 3.0, 1e-10));
    auto f = [](const std::vector<Tensor>& in) {
        Tensor h = in[0] * in[1];
        return (h * h.exp() + h.sum({0}, true) * in[0]).mean({1});
    };
    REQUIRE(gradcheck(f, {randn({3, 4}, {.dtype = kFloat64, .requires_grad = true}),
                          randn({1, 4}, {.dtype = kFloat64, .requires_grad = true})}));
}

TEST_CASE("autograd edge: leaves fed by one gradient tensor get separate .grad tensors", "[autograd][edge]") {
    // add's backward hands the same tensor to both inputs; each leaf must get its own copy, or accumulating into
    // one (a second backward, zero_grad, an optimizer) would change the other.
    Tensor x = t64({1, 2}).requires_grad_();
    Tensor y = t64({3, 4}).requires_grad_();
    Tensor loss = ((x + y) * 2.0).sum();
    loss.backward(Tensor(), /*retain_graph=*/true);
    REQUIRE(x.grad().storage() != y.grad().storage());
    loss.backward();
    REQUIRE_THAT(x.grad(), ClosesTo(t64({4, 4})));
    REQUIRE_THAT(y.grad(), ClosesTo(t64({4, 4})));
    {
        NoGradGuard ng;
        x.grad().zero_();
    }
    REQUIRE_THAT(y.grad(), ClosesTo(t64({4, 4})));
    // The same with a retained non-leaf gradient and the seed the caller passed.
    Tensor h = x * 1.0;
    h.retain_grad();
    Tensor seed = t64({1, 1});
    Tensor z = h + y;
    z.backward(seed);
    {
        NoGradGuard ng;
        h.grad().mul_(10.0);
    }
    REQUIRE_THAT(seed, ClosesTo(t64({1, 1})));
    REQUIRE_THAT(y.grad(), ClosesTo(t64({5, 5})));
}

TEST_CASE("autograd edge: retain_graph over two backward calls accumulates; without it one fails", "[autograd][edge]") {
    Tensor x = t64({1, -2, 3}).requires_grad_();
    Tensor y = (x * x).sum();
    y.backward(Tensor(), true);
    y.backward(Tensor(), true);
    REQUIRE_THAT(x.grad(), ClosesTo(t64({4, -8, 12})));
    y.backward();
    REQUIRE_THAT(x.grad(), ClosesTo(t64({6, -12, 18})));
    REQUIRE_THROWS_WITH(y.backward(), Catch::Contains("second time"));
    REQUIRE_THAT(x.grad(), ClosesTo(t64({6, -12, 18})));  // the failed call added nothing
}

TEST_CASE("autograd edge: backward through views of views", "[autograd][edge]") {
    auto g = [](const std::vector<Tensor>& in) {
        Tensor v = in[0].view({2, 3, 4}).permute({2, 0, 1}).slice(0, 1, 4, 2).select(-1, -1);  // [2, 2]
        Tensor w = in[0].t().unsqueeze(0).expand({3, -1, -1}).narrow(2, 1, 2).flatten(0, 1);   // [18, 2]
        return v.reshape({4}).unsqueeze(1) * w.sum({0}, true).squeeze(0).slice(0, 0, 2).sum();
    };
    REQUIRE(gradcheck(g, {randn({6, 4}, {.dtype = kFloat64, .requires_grad = true})}));
    Tensor x = ones({2, 3}, {.dtype = kFloat64, .requires_grad = true});
    x.t().slice(0, 0, 3, 2).select(1, -1).sum().backward();  // x[-1, ::2]
    REQUIRE_THAT(x.grad(), ClosesTo(t64({0, 0, 0, 1, 0, 1}, {2, 3})));
}

TEST_CASE("autograd edge: an in-place change is seen through any view of a saved storage", "[autograd][edge]") {
    Tensor w = t64({1, 2}).requires_grad_();
    SECTION("the base changes after a view of it was saved") {
        Tensor base = t64({1, 2, 3, 4});
        Tensor y = (base.slice(0, 0, 2) * w).sum();  // saves the view
        base.add_(1.0);
        REQUIRE_THROWS_WITH(y.backward(), Catch::Contains("modified by an in-place operation"));
    }
    SECTION("a view changes after its base was saved") {
        Tensor base = t64({1, 2});
        Tensor y = (base * w).sum();
        base.view({2, 1}).select(0, 1).fill_(5.0);
        REQUIRE_THROWS_WITH(y.backward(), Catch::Contains("modified by an in-place operation"));
    }
    SECTION("a detached alias changes") {
        Tensor h = w * 3.0;
        Tensor y = h.exp().sum();  // saves exp's output
        Tensor alias = h.exp().detach();
        alias.zero_();  // a different storage: no error
        y.backward();
        REQUIRE_THAT(w.grad(), ClosesTo(3.0 * exp(t64({3, 6}))));
    }
    SECTION("the where condition changes") {
        Tensor cond = gt(t64({1, -1}), 0.0);
        Tensor y = where(cond, w, 0.0).sum();
        cond.fill_(1.0);
        REQUIRE_THROWS_WITH(y.backward(), Catch::Contains("modified by an in-place operation"));
    }
}

TEST_CASE("autograd edge: in-place ops refuse operands that require grad in grad mode", "[autograd][edge]") {
    Tensor w = t64({1, 2}).requires_grad_();
    Tensor buf = zeros({2}, {.dtype = kFloat64});
    REQUIRE_THROWS_WITH(buf.add_(w), Catch::Contains("requires grad"));  // torch would record it; we cannot
    REQUIRE_THROWS_WITH(buf.mul_(w * 2.0), Catch::Contains("requires grad"));
    REQUIRE_THROWS_WITH(buf.sub_(w, 0.5), Catch::Contains("requires grad"));
    REQUIRE_THAT(buf, ClosesTo(t64({0, 0})));  // nothing was written
    buf.add_(w.detach());
    {
        NoGradGuard ng;
        buf.add_(w, 2.0);  // an optimizer's update
    }
    REQUIRE_THAT(buf, ClosesTo(t64({3, 6})));
}

TEST_CASE("autograd edge: set_grad, detach and requires_grad_ rules", "[autograd][edge]") {
    Tensor x = t32({1, 2}).requires_grad_();
    REQUIRE_THROWS_AS(x.set_grad(t32({1, 2, 3})), ShapeError);
    REQUIRE_THROWS_AS(x.set_grad(t64({1, 2})), TypeError);  // torch: assigned grad has data of a different type
    x.set_grad(t32({5, 5}));
    (x * 2.0).sum().backward();
    REQUIRE_THAT(x.grad(), ClosesTo(t64({7, 7})));
    x.set_grad(Tensor());
    REQUIRE_FALSE(x.grad().defined());

    REQUIRE_THROWS_AS(from_vector<int64_t>({1}).requires_grad_(), ValueError);
    REQUIRE_THROWS_AS(from_vector<uint8_t>({1}).to(kBool).requires_grad_(), ValueError);
    REQUIRE_NOTHROW(from_vector<int64_t>({1}).requires_grad_(false));
    Tensor h = x * 2.0;
    REQUIRE_THROWS_AS(h.requires_grad_(false), ValueError);
    REQUIRE_THROWS_AS(Tensor().grad(), Error);
    REQUIRE_THROWS_AS(Tensor().requires_grad_(), Error);

    Tensor d = x.detach();
    REQUIRE(d.storage() == x.storage());
    REQUIRE_FALSE(d.requires_grad());
    REQUIRE(d.is_leaf());
    const uint64_t v = x.version();
    d.add_(1.0);  // the detached alias is a plain tensor: it may change in place, and the change is x's too
    REQUIRE(x.version() == v + 1);
    REQUIRE_THAT(x, ClosesTo(t64({2, 3})));
    Tensor saved_user = x * x;  // saves x
    d.add_(1.0);
    REQUIRE_THROWS_WITH(saved_user.sum().backward(), Catch::Contains("in-place"));
}

TEST_CASE("autograd edge: backward seeds, non-scalar outputs and gradient dtypes", "[autograd][edge]") {
    Tensor x = t32({1, 2, 3}).requires_grad_();
    Tensor y = x * 2.0;
    REQUIRE_THROWS_WITH(y.backward(), Catch::Contains("scalar"));  // no implicit gradient for [3]
    REQUIRE_THROWS_AS(y.backward(ones({2})), ShapeError);
    y.backward(ones({3}, {.dtype = kFloat64}), true);  // torch casts the seed: x.grad stays float32
    REQUIRE(x.grad().dtype() == kFloat32);
    REQUIRE_THAT(x.grad(), ClosesTo(t64({2, 2, 2})));
    REQUIRE_THROWS_WITH(t32({1}).backward(), Catch::Contains("does not require grad"));
    // a float32 leaf mixed with float64 tensors gets a float32 gradient
    Tensor z = x.to(kFloat64) * t64({1, 2, 3});
    z.sum().backward();
    REQUIRE(x.grad().dtype() == kFloat32);
    REQUIRE_THAT(x.grad(), ClosesTo(t64({3, 4, 5})));
    // the 0-dim rule: a float64 0-dim factor keeps the result float32, and both gradients keep their dtypes
    Tensor s = scalar_tensor(3.0, {.dtype = kFloat64, .requires_grad = true});
    Tensor p = x * s;
    REQUIRE(p.dtype() == kFloat32);
    p.sum().backward();
    REQUIRE(s.grad().dtype() == kFloat64);
    REQUIRE(s.grad().dim() == 0);
    REQUIRE(s.grad().item<double>() == 6.0);
}

TEST_CASE("autograd edge: gradients of 0-dim and empty tensors", "[autograd][edge]") {
    Tensor s = scalar_tensor(2.0, {.dtype = kFloat64, .requires_grad = true});
    (sum(s, {0}) * s).backward();  // d(s^2)/ds
    REQUIRE(s.grad().item<double>() == 4.0);
    s.backward();  // backward of a leaf seeds its own gradient
    REQUIRE(s.grad().item<double>() == 5.0);
    REQUIRE(
        gradcheck([](const std::vector<Tensor>& in) { return in[0].unsqueeze(0).expand({3}) * in[0].view({1}); }, {s}));
    Tensor e = zeros({0, 3}, {.dtype = kFloat64, .requires_grad = true});
    Tensor m = mean(e, {0});  // [nan, nan, nan]
    m.sum().backward();
    REQUIRE(e.grad().shape() == Shape{0, 3});
    Tensor f = zeros({0, 3}, {.dtype = kFloat64, .requires_grad = true});
    amax(f, {1}).sum().backward();
    REQUIRE(f.grad().shape() == Shape{0, 3});
    Tensor g = zeros({2, 0}, {.dtype = kFloat64, .requires_grad = true});
    (g.sum() + 1.0).backward();
    REQUIRE(g.grad().shape() == Shape{2, 0});
}

TEST_CASE("autograd edge: a failed op leaves its inputs and the graph as they were", "[autograd][edge]") {
    Tensor x = t64({1, 2, 3}).requires_grad_();
    Tensor h = x * 2.0;
    const auto fn = h.grad_fn();
    REQUIRE_THROWS(h + t64({1, 2}));
    REQUIRE_THROWS(h.view({2, 2}));
    REQUIRE_THROWS(h.select(0, 5));
    REQUIRE_THROWS(sum(h, {3}));
    REQUIRE(h.grad_fn() == fn);
    REQUIRE_THROWS(h.add_(1.0));  // in place on a tensor that requires grad
    REQUIRE(h.grad_fn() == fn);
    h.sum().backward();
    REQUIRE_THAT(x.grad(), ClosesTo(t64({2, 2, 2})));
}

TEST_CASE("autograd edge: norm and reductions at their special points", "[autograd][edge]") {
    Tensor x = t64({1, -3, 2}).requires_grad_();
    REQUIRE(norm(x, INFINITY).item<double>() == 3.0);  // torch: max |x|
    REQUIRE(norm(x, -INFINITY).item<double>() == 1.0);
    REQUIRE(norm(x, 0.0).item<double>() == 3.0);  // the number of non-zeros
    REQUIRE(norm(t64({0, 2, 0}), 0.0).item<double>() == 1.0);
    REQUIRE(norm(zeros({0}), INFINITY).item<double>() == 0.0);  // torch: tensor(0.)
    REQUIRE_THAT(norm(zeros({0, 3}), INFINITY, {0}), ClosesTo(t64({0, 0, 0})));
    norm(x, INFINITY).backward();
    REQUIRE_THAT(x.grad(), ClosesTo(t64({0, -1, 0})));
    REQUIRE(gradcheck([](const std::vector<Tensor>& in) { return norm(in[0], INFINITY, {1}); },
                      {t64({1, -3, 2, 0.5, 4, -2}, {2, 3}).requires_grad_()}));
}

TEST_CASE("autograd edge: gradcheck with constant, undefined and unused inputs", "[autograd][gradcheck][edge]") {
    Tensor x = randn({3}, {.dtype = kFloat64, .requires_grad = true});
    Tensor c = randn({3}, {.dtype = kFloat32});  // a constant of another dtype
    Tensor idx = from_vector<int64_t>({2, 0});
    Tensor unused = randn({2}, {.dtype = kFloat64, .requires_grad = true});
    auto f = [](const std::vector<Tensor>& in) {
        REQUIRE_FALSE(in[2].defined());
        return index_select(in[0] * in[1].to(kFloat64), 0, in[3]);
    };
    REQUIRE(gradcheck(f, {x, c, Tensor(), idx, unused}));
    // An output that depends on no input: every gradient is zero, as the numerical one must be.
    REQUIRE(gradcheck([](const std::vector<Tensor>&) { return ones({2}, {.dtype = kFloat64}); }, {x}));
    // ... but an output that does depend on an input it does not record is caught.
    auto untracked = [](const std::vector<Tensor>& in) { return in[0].detach() * 2.0; };
    REQUIRE_THROWS_AS(gradcheck(untracked, {x}), GradcheckError);
    auto doubled = [](const std::vector<Tensor>& in) { return in[0] * 2.0; };
    REQUIRE_THROWS_AS(gradcheck(doubled, {x.to(kFloat32)}), ValueError);  // gradcheck needs float64
    REQUIRE_FALSE(x.grad().defined());                                    // gradcheck works on private copies
}
