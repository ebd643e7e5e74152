// tests/core/test_tensor.cpp — Tensor basics: factories, views share storage, strides, broadcasting, dtype promotion.
#include "support/support.h"

TEST_CASE("tensor: factories and metadata", "[core]") {
    Tensor z = zeros({2, 3});
    REQUIRE(z.shape() == Shape{2, 3});
    REQUIRE(z.strides() == Shape{3, 1});
    REQUIRE(z.dtype() == kFloat32);
    REQUIRE(z.sum().item<double>() == 0.0);
    REQUIRE(ones({4}, {.dtype = kFloat64}).sum().item<double>() == 4.0);
    REQUIRE_THAT(arange(5.0), ClosesTo(t64({0, 1, 2, 3, 4})));
    REQUIRE_THAT(linspace(0, 1, 5, {.dtype = kFloat64}), ClosesTo(t64({0, 0.25, 0.5, 0.75, 1.0})));
    REQUIRE(full({}, 7.5).item<double>() == 7.5);
}

TEST_CASE("tensor: views share storage and permute strides", "[core]") {
    Tensor x = arange(0.0, 24.0, 1.0, {.dtype = kFloat64}).view({2, 3, 4});
    Tensor p = x.permute({2, 0, 1});
    REQUIRE(p.shape() == Shape{4, 2, 3});
    REQUIRE(p.strides() == Shape{1, 12, 4});
    REQUIRE_FALSE(p.is_contiguous());
    REQUIRE(p.contiguous().is_contiguous());
    Tensor n = x.narrow(2, 1, 2);
    REQUIRE(n.storage() == x.storage());
    REQUIRE_THAT(n.select(0, 1).select(0, 2), ClosesTo(t64({21, 22})));
    REQUIRE_THAT(x.slice(2, 0, 4, 2).select(0, 0).select(0, 0), ClosesTo(t64({0, 2})));
    REQUIRE(x.unsqueeze(1).shape() == Shape{2, 1, 3, 4});
    REQUIRE(x.unsqueeze(1).squeeze().shape() == Shape{2, 3, 4});
    REQUIRE(x.flatten(1).shape() == Shape{2, 12});
    REQUIRE(x.reshape({-1, 4}).shape() == Shape{6, 4});
}

TEST_CASE("tensor: broadcasting and dtype promotion", "[core]") {
    Tensor a = t64({1, 2, 3}, {3, 1});
    Tensor b = t64({10, 20}, {1, 2});
    REQUIRE_THAT(a + b, ClosesTo(t64({11, 21, 12, 22, 13, 23}, {3, 2})));
    Tensor i = arange(3.0);  // int64
    Tensor f = ones({3});    // float32
    REQUIRE((i + f).dtype() == kFloat32);
    REQUIRE((i + f.to(kFloat64)).dtype() == kFloat64);
    REQUIRE(div(i, i + 1).dtype() == kFloat32);
    REQUIRE(gt(i, 0.5).dtype() == kBool);
    REQUIRE_THROWS_WITH(t64({1, 2, 3}) + t64({1, 2}),
                        Catch::Contains("add") && Catch::Contains("[3]") && Catch::Contains("[2]"));
}

TEST_CASE("tensor: in-place ops bump the version and refuse tensors that require grad", "[core]") {
    Tensor x = zeros({3}, {.dtype = kFloat64});
    auto v0 = x.version();
    x.add_(1.0);
    REQUIRE(x.version() == v0 + 1);
    REQUIRE(x.sum().item<double>() == 3.0);
    Tensor w = zeros({3}, {.dtype = kFloat64, .requires_grad = true});
    REQUIRE_THROWS_WITH(w.add_(1.0), Catch::Contains("in place"));
    {
        NoGradGuard ng;
        w.add_(2.0);
    }
    REQUIRE(w.sum().item<double>() == 6.0);
}

TEST_CASE("generator: seeded streams repeat, and a saved state resumes the stream exactly", "[core][rng]") {
    Generator a(42), b(42);
    REQUIRE_THAT(randn({5}, {}, &a), ClosesTo(randn({5}, {}, &b), 0, 0));
    Generator c(43);
    REQUIRE(abs(randn({5}, {}, &c) - randn({5}, {}, &a)).sum().item<double>() > 0.0);
    const std::string state = a.state();
    Tensor next = rand({4}, {}, &a);
    Generator d;
    d.set_state(state);
    REQUIRE_THAT(rand({4}, {}, &d), ClosesTo(next, 0, 0));
    Tensor r = randint(3, 7, {1000}, {}, &a);
    REQUIRE(amin(r).item<int64_t>() == 3);
    REQUIRE(amax(r).item<int64_t>() == 6);
    Tensor u = rand({20000}, {.dtype = kFloat64}, &a);
    REQUIRE(std::abs(u.mean().item<double>() - 0.5) < 0.01);
    Tensor n = randn({20000}, {.dtype = kFloat64}, &a);
    REQUIRE(std::abs(nabla::std(n).item<double>() - 1.0) < 0.02);
    REQUIRE_THAT(sort(randperm(6, &a)).values, ClosesTo(arange(6.0)));
}

TEST_CASE("tensor: printing, item and dtype conversion", "[core]") {
    Tensor x = t64({1.5, -2, 3}, {3});
    REQUIRE(fmt::format("{}", x) == "tensor([1.5000, -2.0000, 3.0000], dtype=float64)");
    REQUIRE(fmt::format("{}", arange(4.0).view({2, 2})) == "tensor([[0, 1],\n        [2, 3]])");
    REQUIRE(x.select(0, 2).item<double>() == 3.0);
    REQUIRE_THROWS_WITH(x.item<double>(), Catch::Contains("item") && Catch::Contains("[3]"));
    REQUIRE_THAT(x.to(kInt64), ClosesTo(t64({1, -2, 3})));
    REQUIRE(x.to(kInt64).dtype() == kInt64);
    REQUIRE(gt(x, 0.0).to(kFloat32).sum().item<float>() == 2.0f);
    REQUIRE_THROWS_WITH(x.view({2, 2}), Catch::Contains("view") && Catch::Contains("[2, 2]"));
    REQUIRE_THROWS_WITH(x.transpose(0, 0).view({-1, -1}), Catch::Contains("one dimension"));
    Tensor p = arange(6.0).view({2, 3}).t();
    REQUIRE_THROWS_WITH(p.view({6}), Catch::Contains("reshape()"));
    REQUIRE(p.reshape({6}).shape() == Shape{6});
}

TEST_CASE("tensor: cpu strided copies equal the reference walk", "[core][backend]") {
    Tensor x = randn({2, 3, 4, 5, 6});
    const std::vector<Shape> perms = {{0, 1, 3, 4, 2}, {4, 3, 2, 1, 0}, {0, 2, 1, 4, 3}, {1, 0, 2, 3, 4}};
    for (const Shape& p : perms) {
        Tensor v = x.permute(p);
        REQUIRE_THAT(v.contiguous(), ClosesTo(with_kernels(Kernels::reference, [&] { return v.contiguous(); }), 0, 0));
    }
    Tensor s = x.slice(4, 1, 6, 2).select(1, 2);  // strided in two dims
    REQUIRE_THAT(s.contiguous(), ClosesTo(with_kernels(Kernels::reference, [&] { return s.contiguous(); }), 0, 0));
    Tensor i = arange(24.0).view({2, 3, 4}).transpose(0, 2);  // int64
    REQUIRE_THAT(i.contiguous(), ClosesTo(with_kernels(Kernels::reference, [&] { return i.contiguous(); }), 0, 0));
    Tensor e = zeros({3, 4});
    e.t().copy_(ones({4, 3}) * 2.0);
    REQUIRE(e.sum().item<double>() == 24.0);
}

TEST_CASE("tensor: channels-last memory format (strides, suggest_memory_format, contiguous and its gradient)",
          "[core]") {
    const auto cl = MemoryFormat::ChannelsLast;
    Tensor x = arange(0.0, 24.0, 1.0, {.dtype = kFloat64}).view({1, 2, 3, 4});
    REQUIRE(x.suggest_memory_format() == MemoryFormat::Contiguous);
    REQUIRE_FALSE(x.is_contiguous(cl));
    Tensor y = x.contiguous(cl);
    REQUIRE(y.strides() == Shape{24, 1, 8, 2});  // torch: x.contiguous(memory_format=torch.channels_last).stride()
    REQUIRE(y.is_contiguous(cl));
    REQUIRE_FALSE(y.is_contiguous());
    REQUIRE(y.suggest_memory_format() == cl);
    REQUIRE_THAT(y, ClosesTo(x));              // the same values, element by element
    REQUIRE(y.data_ptr<double>()[1] == 12.0);  // x[0, 1, 0, 0] right after x[0, 0, 0, 0] in memory
    REQUIRE(y.contiguous(cl).is_same(y));
    REQUIRE(y.contiguous().is_contiguous());
    // a single channel (or a 1x1 image) is both layouts at once, and suggests the plain one
    Tensor one = zeros({2, 1, 3, 3});
    REQUIRE(one.is_contiguous(cl));
    REQUIRE(one.suggest_memory_format() == MemoryFormat::Contiguous);
    REQUIRE(zeros({2, 3}).suggest_memory_format() == MemoryFormat::Contiguous);
    // a channel slice of a channels-last tensor is not dense but still runs channels-last; a broadcast is neither
    Tensor slice = zeros({2, 8, 3, 3}).contiguous(cl).narrow(1, 2, 4);
    REQUIRE_FALSE(slice.is_contiguous(cl));
    REQUIRE(slice.suggest_memory_format() == cl);
    REQUIRE(zeros({1, 8, 1, 1}).expand({2, 8, 3, 3}).suggest_memory_format() == MemoryFormat::Contiguous);
    REQUIRE(zeros({2, 8, 3, 3}).narrow(1, 2, 4).suggest_memory_format() == MemoryFormat::Contiguous);
    REQUIRE_THROWS_WITH(zeros({2, 3}).contiguous(cl), Catch::Matchers::Contains("4-D"));
    // the copy carries the gradient through
    Tensor leaf = randn({2, 3, 2, 2}, {.dtype = kFloat64, .requires_grad = true});
    (leaf.contiguous(cl) * 2.0).sum().backward();
    REQUIRE_THAT(leaf.grad(), ClosesTo(full({2, 3, 2, 2}, 2.0, {.dtype = kFloat64})));
}
