// tests/ops/test_sort.cpp — sort (stable), argsort and topk: hand-checked values (ties keep their order, NaN sorts
// last), PyTorch golden values for values, indices and the input gradient (tests/fixtures/make_index.py), gradcheck
// in float64, the default backend against the reference on non-contiguous float32 inputs, and the error messages.
#include <limits>

#include "ops/sort.h"
#include "support/support.h"

namespace {
Tensor i64(const std::vector<int64_t>& v) { return from_vector(v); }
}  // namespace

TEST_CASE("sort/argsort/topk: known values, stable ties, NaN last", "[ops][sort]") {
    Tensor x = t64({2, 1, 2, 0, 1});
    auto asc = sort(x);
    REQUIRE_THAT(asc.values, ClosesTo(t64({0, 1, 1, 2, 2}), 0, 0));
    REQUIRE_THAT(asc.indices, ClosesTo(i64({3, 1, 4, 0, 2}), 0, 0));  // equal values in their original order
    REQUIRE_THAT(sort(x, 0, true).indices, ClosesTo(i64({0, 2, 1, 4, 3}), 0, 0));
    REQUIRE_THAT(argsort(x, -1, true), ClosesTo(i64({0, 2, 1, 4, 3}), 0, 0));
    const double nan = std::numeric_limits<double>::quiet_NaN();
    REQUIRE_THAT(sort(t64({nan, 1, -1})).indices, ClosesTo(i64({2, 1, 0}), 0, 0));
    REQUIRE_THAT(sort(t64({1, nan, -1}), 0, true).indices, ClosesTo(i64({1, 0, 2}), 0, 0));
    REQUIRE_THAT(sort(i64({3, -1, 2})).values, ClosesTo(i64({-1, 2, 3}), 0, 0));  // integers sort too
    auto top = topk(t64({4, 9, 1, 7}, {2, 2}), 1, 0, false);
    REQUIRE_THAT(top.values, ClosesTo(t64({1, 7}, {1, 2}), 0, 0));
    REQUIRE_THAT(top.indices, ClosesTo(i64({1, 1}).view({1, 2}), 0, 0));
    REQUIRE(topk(t64({1, 2, 3}), 0).values.shape() == Shape{0});
}

TEST_CASE("sort/topk: PyTorch golden values and gradients", "[ops][sort][golden]") {
    auto s = load_fixture("index/sort");  // integer-valued with many ties: torch.sort(stable=True)
    const Tensor& x = s.at("x");
    REQUIRE_THAT(sort(x, 1).values, ClosesTo(s.at("asc_v"), 0, 0));
    REQUIRE_THAT(sort(x, 1).indices, ClosesTo(s.at("asc_i"), 0, 0));
    REQUIRE_THAT(sort(x, 1, true).values, ClosesTo(s.at("desc_v"), 0, 0));
    REQUIRE_THAT(sort(x, 1, true).indices, ClosesTo(s.at("desc_i"), 0, 0));
    REQUIRE_THAT(sort(x, 0).values, ClosesTo(s.at("dim0_v"), 0, 0));
    REQUIRE_THAT(sort(x, 0).indices, ClosesTo(s.at("dim0_i"), 0, 0));
    REQUIRE_THAT(argsort(x.to(kFloat32), 0), ClosesTo(s.at("dim0_i"), 0, 0));
    REQUIRE_THAT(input_grad([](const Tensor& t) { return sort(t, 1).values; }, x, s.at("gy")),
                 ClosesTo(s.at("gx"), 0, 0));

    auto k = load_fixture("index/topk");  // distinct values
    const Tensor& y = k.at("x");
    REQUIRE_THAT(topk(y, 3, 1).values, ClosesTo(k.at("big_v"), 0, 0));
    REQUIRE_THAT(topk(y, 3, 1).indices, ClosesTo(k.at("big_i"), 0, 0));
    REQUIRE_THAT(topk(y, 3, 1, false).values, ClosesTo(k.at("small_v"), 0, 0));
    REQUIRE_THAT(topk(y, 3, 1, false).indices, ClosesTo(k.at("small_i"), 0, 0));
    REQUIRE_THAT(topk(y, 2, 0).values, ClosesTo(k.at("col_v"), 0, 0));
    REQUIRE_THAT(topk(y, 2, 0).indices, ClosesTo(k.at("col_i"), 0, 0));
    REQUIRE_THAT(input_grad([](const Tensor& t) { return topk(t, 3, 1).values; }, y, k.at("gy")),
                 ClosesTo(k.at("gx"), 0, 0));
    REQUIRE_THAT(input_grad([](const Tensor& t) { return topk(t, 3, 1, false).values; }, y, k.at("gy_s")),
                 ClosesTo(k.at("gx_s"), 0, 0));
}

TEST_CASE("sort/topk: gradcheck in float64", "[ops][sort][gradcheck]") {
    Generator gen(5);
    // distinct values: the order does not change under the finite-difference steps
    Tensor x = randn({3, 6, 4}, {.dtype = kFloat64}, &gen).requires_grad_();
    auto check = [&](auto f) { return gradcheck([&](const std::vector<Tensor>& in) { return f(in[0]); }, {x}); };
    REQUIRE(check([](const Tensor& t) { return sort(t, 1).values; }));
    REQUIRE(check([](const Tensor& t) { return sort(t, -1, true).values; }));
    REQUIRE(check([](const Tensor& t) { return topk(t, 2, 1).values; }));
    REQUIRE(check([](const Tensor& t) { return topk(t, 3, 0, false).values; }));
}

TEST_CASE("sort/topk: a non-contiguous input gives what its contiguous copy gives (kernels shared with the reference)",
          "[ops][sort][backend]") {
    // The cpu backend inherits these kernels from the reference: there is no second implementation to compare.
    // When one is added, turn this into a parity test (cpu_implements says so at compile time).
    STATIC_REQUIRE_FALSE(cpu_implements<&CpuBackend::sort>);
    STATIC_REQUIRE_FALSE(cpu_implements<&CpuBackend::topk>);
    const auto devices = fast_devices(cuda_implements<&CudaBackend::sort> && cuda_implements<&CudaBackend::topk>);
    Tensor x = noncontiguous(randn({7, 13}));
    for (int64_t dim : {0, 1}) {
        INFO("dim " << dim);
        auto ref = with_kernels(Kernels::reference, [&] { return sort(x.contiguous(), dim, true); });
        auto tref = with_kernels(Kernels::reference, [&] { return topk(x.contiguous(), 5, dim, false); });
        for (Device d : devices) {
            INFO("device " << d.str());
            auto got = sort(to_device(x, d), dim, true);
            REQUIRE_THAT(got.values, ClosesTo(ref.values, 0, 0));
            REQUIRE_THAT(got.indices, ClosesTo(ref.indices, 0, 0));
            auto tgot = topk(to_device(x, d), 5, dim, false);
            REQUIRE_THAT(tgot.values, ClosesTo(tref.values, 0, 0));
            REQUIRE_THAT(tgot.indices, ClosesTo(tref.indices, 0, 0));
        }
    }
}

TEST_CASE("sort: a tensor large enough for the parallel loop equals its rows sorted one by one",
          "[ops][sort][backend]") {
    Tensor x = randn({40, 500});  // above the kernel's threshold for OpenMP
    auto all = sort(x, 1);
    for (int64_t r : {0, 17, 39}) {
        auto one = sort(x.narrow(0, r, 1), 1);
        REQUIRE_THAT(all.values.narrow(0, r, 1), ClosesTo(one.values, 0, 0));
        REQUIRE_THAT(all.indices.narrow(0, r, 1), ClosesTo(one.indices, 0, 0));
    }
}

TEST_CASE("sort/topk: errors name the op, k and the shape", "[ops][sort][errors]") {
    using Catch::Contains;
    Tensor x = zeros({3, 4});
    REQUIRE_THROWS_AS(topk(x, 5, 1), IndexError);
    REQUIRE_THROWS_WITH(topk(x, 5, 1),
                        Contains("topk") && Contains("k = 5") && Contains("size 4") && Contains("[3, 4]"));
    REQUIRE_THROWS_WITH(topk(x, -1, 0), Contains("topk") && Contains("k = -1"));
    REQUIRE_THROWS_WITH(sort(x, 2), Contains("sort"));
}
