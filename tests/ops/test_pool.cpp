// tests/ops/test_pool.cpp — max_pool2d (with indices), avg_pool2d, adaptive_avg_pool2d: the output-size rule,
// hand-checked values, PyTorch golden values (forward, indices and input gradient; tests/fixtures/make_pool.py),
// gradcheck in float64, the cpu kernels against the reference ones (odd sizes, strided inputs, forward and
// backward), and the error messages. Longer than 250 lines because it covers four ops in all four layers.
#include <cmath>
#include <limits>

#include "ops/pool.h"
#include "support/support.h"

namespace {

using PoolFn = std::function<Tensor(const Tensor&)>;

struct MaxCase {
    std::string name;
    MaxPool2dOptions o;
};
struct AvgCase {
    std::string name;
    AvgPool2dOptions o;
};

// The cases of make_pool.py, with the same options.
const std::vector<MaxCase> kMaxCases = {
    {"max_k2s2_ceil", {.kernel_size = 2, .stride = 2, .ceil_mode = true}},
    {"max_k3s2p1", {.kernel_size = 3, .stride = 2, .padding = 1}},
    {"max_k3s2p1_ceil", {.kernel_size = 3, .stride = 2, .padding = 1, .ceil_mode = true}},
    {"max_k3s1p1_d2", {.kernel_size = 3, .stride = 1, .padding = 1, .dilation = 2}},
    {"max_k5s1p2", {.kernel_size = 5, .stride = 1, .padding = 2}},
    {"max_k3s2_k2s1_rect", {.kernel_size = {3, 2}, .stride = {2, 1}, .padding = {1, 0}}},
    {"max_k2s3p1_ceil", {.kernel_size = 2, .stride = 3, .padding = 1, .ceil_mode = true}},
    {"max_ties_k3s1p1", {.kernel_size = 3, .stride = 1, .padding = 1}},
    {"max_nan_k2s2_ceil", {.kernel_size = 2, .stride = 2, .ceil_mode = true}},
};
const std::vector<AvgCase> kAvgCases = {
    {"avg_k2s2", {.kernel_size = 2}},
    {"avg_k3s2p1_ceil_incl", {.kernel_size = 3, .stride = 2, .padding = 1, .ceil_mode = true}},
    {"avg_k3s2p1_ceil_excl",
     {.kernel_size = 3, .stride = 2, .padding = 1, .ceil_mode = true, .count_include_pad = false}},
    {"avg_k3s1p1_excl", {.kernel_size = 3, .stride = 1, .padding = 1, .count_include_pad = false}},
    {"avg_k2s2_ceil", {.kernel_size = 2, .stride = 2, .ceil_mode = true}},
    {"avg_k4s3p2_ceil_rect", {.kernel_size = {4, 5}, .stride = {3, 2}, .padding = {2, 1}, .ceil_mode = true}},
    {"avg_k2s3p1_ceil_incl", {.kernel_size = 2, .stride = 3, .padding = 1, .ceil_mode = true}},
};
const std::vector<std::pair<std::string, Int2>> kAdaptiveCases = {
    {"adaptive_7to3", 3},          {"adaptive_5to5", 5}, {"adaptive_6to4", 4},
    {"adaptive_7x5to3x2", {3, 2}}, {"adaptive_3to5", 5},
};

// y = f(x) and x's gradient for the upstream gradient gy (x keeps its strides).
struct ForwardBackward {
    Tensor y, gx;
};
ForwardBackward forward_backward(const PoolFn& f, const Tensor& x_in, const Tensor& gy) {
    Tensor x = x_in.detach().requires_grad_();
    Tensor y = f(x);
    y.backward(gy);
    return {y.detach(), x.grad()};
}

// ClosesTo fails on NaN == NaN (rtol * |NaN| is NaN), so NaN outputs are compared as a mask plus the rest.
void require_close_with_nans(const Tensor& actual, const Tensor& expected, double tol) {
    Tensor a = actual.to(kFloat64), e = expected.to(kFloat64);
    REQUIRE_THAT(ne(a, a).to(kFloat64), ClosesTo(ne(e, e).to(kFloat64), 0, 0));
    REQUIRE_THAT(where(eq(a, a), a, 0.0), ClosesTo(where(eq(e, e), e, 0.0), tol, tol));
}

// Checks y, the gradient and (for max) the indices of one fixture in float64 (reference kernels) and float32 (cpu).
void check_fixture(const std::string& name, const PoolFn& f, const std::function<Tensor(const Tensor&)>& indices = {}) {
    INFO(name);
    TensorMap g = load_fixture("pool/" + name);
    for (DType dt : {kFloat64, kFloat32}) {
        INFO(dtype_name(dt));
        const double tol = dt == kFloat64 ? 1e-12 : 1e-5;
        auto [y, gx] = forward_backward(f, g.at("x").to(dt), g.at("gy").to(dt));
        REQUIRE(y.dtype() == dt);
        require_close_with_nans(y, g.at("y"), tol);
        REQUIRE_THAT(gx, ClosesTo(g.at("gx"), tol, tol));
        if (indices) REQUIRE_THAT(indices(g.at("x").to(dt)), ClosesTo(g.at("idx"), 0, 0));
    }
}

}  // namespace

TEST_CASE("pool: output size rule of ceil_mode", "[ops][pool]") {
    // k = s = 2: ceil(in / 2); floor without ceil_mode
    REQUIRE(pool_output_size(9, 2, 2, 0, 1, true) == 5);
    REQUIRE(pool_output_size(11, 2, 2, 0, 1, true) == 6);
    REQUIRE(pool_output_size(1, 2, 2, 0, 1, true) == 1);
    REQUIRE(pool_output_size(9, 2, 2, 0, 1, false) == 4);
    // the last window would start at 6 >= in + p = 6: dropped (PyTorch gives 2, not 3)
    REQUIRE(pool_output_size(5, 2, 3, 1, 1, true) == 2);
    REQUIRE(pool_output_size(8, 3, 2, 1, 1, false) == 4);
    REQUIRE(pool_output_size(7, 3, 1, 1, 2, false) == 5);  // dilation 2: effective kernel 5
    REQUIRE(max_pool2d(zeros({2, 3, 288, 287}), {.kernel_size = 2, .stride = 2, .ceil_mode = true}).shape() ==
            Shape{2, 3, 144, 144});
}

TEST_CASE("max_pool2d: hand-checked values, indices, ties, NaN, 3-D input", "[ops][pool]") {
    for (Kernels k : {Kernels::fast, Kernels::reference}) {
        with_kernels(k, [] {
            Tensor x = arange(16).to(kFloat32).view({1, 1, 4, 4});
            auto [y, idx] = max_pool2d_with_indices(x, {.kernel_size = 2});
            REQUIRE_THAT(y, ClosesTo(t32({5, 7, 13, 15}, {1, 1, 2, 2})));
            REQUIRE_THAT(idx, ClosesTo(t64({5, 7, 13, 15}, {1, 1, 2, 2}), 0, 0));
            REQUIRE(idx.dtype() == kInt64);
            // 5x5 with ceil_mode: the clipped right/bottom windows see only the last column/row
            Tensor x5 = arange(25).to(kFloat32).view({1, 1, 5, 5});
            REQUIRE_THAT(max_pool2d(x5, {.kernel_size = 2, .stride = 2, .ceil_mode = true}),
                         ClosesTo(t32({6, 8, 9, 16, 18, 19, 21, 23, 24}, {1, 1, 3, 3})));
            // ties: the first maximum in row-major window order wins
            auto tied = max_pool2d_with_indices(ones({1, 1, 4, 4}), {.kernel_size = 2});
            REQUIRE_THAT(tied.indices, ClosesTo(t64({0, 2, 8, 10}, {1, 1, 2, 2}), 0, 0));
            // NaN propagates and takes the index
            Tensor xn = t32({1, NAN, 3, 4}, {1, 1, 2, 2});
            auto rn = max_pool2d_with_indices(xn, {.kernel_size = 2});
            REQUIRE(std::isnan(rn.values.item<float>()));
            REQUIRE(rn.indices.item<int64_t>() == 1);
            // 3-D [C, H, W] behaves as a batch of one
            Tensor x3 = randn({3, 7, 6});
            Tensor y3 = max_pool2d(x3, {.kernel_size = 3, .stride = 2, .padding = 1});
            REQUIRE(y3.shape() == Shape{3, 4, 3});
            REQUIRE_THAT(
                y3,
                ClosesTo(max_pool2d(x3.unsqueeze(0), {.kernel_size = 3, .stride = 2, .padding = 1}).squeeze(0), 0, 0));
            return 0;
        });
    }
}

TEST_CASE("avg_pool2d and adaptive_avg_pool2d: hand-checked values", "[ops][pool]") {
    for (Kernels k : {Kernels::fast, Kernels::reference}) {
        with_kernels(k, [] {
            Tensor x = arange(16).to(kFloat32).view({1, 1, 4, 4});
            REQUIRE_THAT(avg_pool2d(x, {.kernel_size = 2}), ClosesTo(t32({2.5, 4.5, 10.5, 12.5}, {1, 1, 2, 2})));
            // k3 s2 p1 on ones: the corner window holds 4 inputs in 9 cells
            Tensor o = ones({1, 1, 4, 4});
            REQUIRE_THAT(avg_pool2d(o, {.kernel_size = 3, .stride = 2, .padding = 1}),
                         ClosesTo(t32({4.f / 9, 6.f / 9, 6.f / 9, 1}, {1, 1, 2, 2})));
            REQUIRE_THAT(avg_pool2d(o, {.kernel_size = 3, .stride = 2, .padding = 1, .count_include_pad = false}),
                         ClosesTo(ones({1, 1, 2, 2})));
            // ceil_mode windows sticking out past the (zero) padding are divided by their clipped size only
            REQUIRE_THAT(avg_pool2d(ones({1, 1, 3, 3}), {.kernel_size = 2, .stride = 2, .ceil_mode = true}),
                         ClosesTo(ones({1, 1, 2, 2})));
            // adaptive 5 -> 3: windows [0,2), [1,4), [3,5)
            Tensor r = arange(5).to(kFloat32).view({1, 1, 1, 5});
            REQUIRE_THAT(adaptive_avg_pool2d(r, {1, 3}), ClosesTo(t32({0.5, 2, 3.5}, {1, 1, 1, 3})));
            REQUIRE_THAT(adaptive_avg_pool2d(x, 1), ClosesTo(t32({7.5}, {1, 1, 1, 1})));
            REQUIRE(adaptive_avg_pool2d(randn({2, 5, 7}), {3, 2}).shape() == Shape{2, 3, 2});
            REQUIRE(avg_pool2d(randn({2, 5, 7}), {.kernel_size = 2}).shape() == Shape{2, 2, 3});
            return 0;
        });
    }
}

TEST_CASE("max_pool2d: PyTorch golden values, indices and gradients", "[ops][pool][fixture]") {
    for (const auto& c : kMaxCases) {
        const MaxPool2dOptions o = c.o;
        check_fixture(
            c.name, [o](const Tensor& x) { return max_pool2d(x, o); },
            [o](const Tensor& x) { return max_pool2d_with_indices(x, o).indices; });
    }
}

TEST_CASE("avg_pool2d: PyTorch golden values and gradients", "[ops][pool][fixture]") {
    for (const auto& c : kAvgCases) {
        const AvgPool2dOptions o = c.o;
        check_fixture(c.name, [o](const Tensor& x) { return avg_pool2d(x, o); });
    }
}

TEST_CASE("adaptive_avg_pool2d: PyTorch golden values and gradients", "[ops][pool][fixture]") {
    for (const auto& [name, size] : kAdaptiveCases) {
        const Int2 s = size;
        check_fixture(name, [s](const Tensor& x) { return adaptive_avg_pool2d(x, s); });
    }
}

TEST_CASE("pool: gradcheck in float64", "[ops][pool][gradcheck]") {
    // max pooling needs distinct values (no ties), so x is a scaled random permutation
    Tensor xm = (randperm(2 * 2 * 7 * 6).to(kFloat64) * 0.1).view({2, 2, 7, 6}).requires_grad_();
    for (const auto& c : kMaxCases) {
        INFO(c.name);
        const MaxPool2dOptions o = c.o;
        REQUIRE(gradcheck([o](const std::vector<Tensor>& in) { return max_pool2d(in[0], o); }, {xm}));
    }
    Tensor x = randn({2, 2, 7, 6}, {.dtype = kFloat64}).requires_grad_();
    for (const auto& c : kAvgCases) {
        INFO(c.name);
        const AvgPool2dOptions o = c.o;
        REQUIRE(gradcheck([o](const std::vector<Tensor>& in) { return avg_pool2d(in[0], o); }, {x}));
    }
    for (const auto& [name, size] : kAdaptiveCases) {
        INFO(name);
        const Int2 s = size;
        REQUIRE(gradcheck([s](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], s); }, {x}));
    }
    Tensor x3 = randn({2, 5, 4}, {.dtype = kFloat64}).requires_grad_();  // 3-D input goes through unsqueeze/view
    REQUIRE(gradcheck(
        [](const std::vector<Tensor>& in) { return avg_pool2d(in[0], {.kernel_size = 2, .ceil_mode = true}); }, {x3}));
}

TEST_CASE("pool: cpu kernels equal the reference on odd sizes and strided inputs", "[ops][pool][backend]") {
    STATIC_REQUIRE(cpu_implements<&CpuBackend::max_pool2d>);
    STATIC_REQUIRE(cpu_implements<&CpuBackend::max_pool2d_backward>);
    STATIC_REQUIRE(cpu_implements<&CpuBackend::avg_pool2d>);
    STATIC_REQUIRE(cpu_implements<&CpuBackend::avg_pool2d_backward>);
    const auto devices =
        fast_devices(cuda_implements<&CudaBackend::max_pool2d> && cuda_implements<&CudaBackend::max_pool2d_backward> &&
                     cuda_implements<&CudaBackend::avg_pool2d> && cuda_implements<&CudaBackend::avg_pool2d_backward>);
    std::vector<std::pair<std::string, PoolFn>> fns;
    for (const auto& c : kMaxCases) fns.push_back({c.name, [o = c.o](const Tensor& x) { return max_pool2d(x, o); }});
    for (const auto& c : kAvgCases) fns.push_back({c.name, [o = c.o](const Tensor& x) { return avg_pool2d(x, o); }});
    fns.push_back({"max_k2s2_ceil_u2net",
                   [](const Tensor& x) { return max_pool2d(x, {.kernel_size = 2, .stride = 2, .ceil_mode = true}); }});
    fns.push_back({"max_k5s1p2_sppf",
                   [](const Tensor& x) { return max_pool2d(x, {.kernel_size = 5, .stride = 1, .padding = 2}); }});
    fns.push_back(
        {"max_k3s3_d2", [](const Tensor& x) { return max_pool2d(x, {.kernel_size = 3, .stride = 3, .dilation = 2}); }});
    // adaptive_avg_pool2d is not here: the cpu backend shares the reference kernel (the goldens above test it).
    STATIC_REQUIRE_FALSE(cpu_implements<&CpuBackend::adaptive_avg_pool2d>);
    Tensor x = randn({2, 3, 37, 29});
    Tensor xi = randint(0, 4, {2, 3, 37, 29}).to(kFloat32);  // many ties: both kernels must pick the same index
    for (const auto& [name, f] : fns) {
        INFO(name);
        for (const Tensor& in : {x, noncontiguous(x), xi}) {
            Tensor gy = randn(f(in).shape());
            auto ref = with_kernels(Kernels::reference, [&] { return forward_backward(f, in, gy); });
            for (Device d : devices) {
                INFO("device " << d.str());
                auto fast = forward_backward(f, to_device(in, d), gy.to(d));
                REQUIRE_THAT(fast.y, ClosesTo(ref.y, 1e-6, 1e-5));
                REQUIRE_THAT(fast.gx, ClosesTo(ref.gx, 1e-5, 1e-5));
            }
        }
    }
    Tensor xn = noncontiguous(x);
    for (const auto& c : kMaxCases) {
        INFO(c.name);
        Tensor ref = with_kernels(Kernels::reference, [&] { return max_pool2d_with_indices(xi, c.o).indices; });
        Tensor ref_n = with_kernels(Kernels::reference, [&] { return max_pool2d_with_indices(xn, c.o).indices; });
        for (Device d : devices) {
            INFO("device " << d.str());
            REQUIRE_THAT(max_pool2d_with_indices(xi.to(d), c.o).indices, ClosesTo(ref, 0, 0));
            REQUIRE_THAT(max_pool2d_with_indices(to_device(xn, d), c.o).indices, ClosesTo(ref_n, 0, 0));
        }
    }
    // a dilated window that misses the input entirely: -inf, index -1, no gradient (PyTorch leaves the index undefined)
    for (Kernels k : {Kernels::fast, Kernels::reference}) {
        auto r = with_kernels(k, [] {
            return forward_backward(
                [](const Tensor& t) {
                    return max_pool2d(t, {.kernel_size = 2, .stride = 1, .padding = 1, .dilation = 3});
                },
                ones({1, 1, 2, 8}), ones({1, 1, 1, 7}));
        });
        REQUIRE(r.y.shape() == Shape{1, 1, 1, 7});
        REQUIRE(eq(r.y, -std::numeric_limits<double>::infinity()).to(kFloat64).sum().item<double>() == 7);
        REQUIRE_THAT(r.gx, ClosesTo(zeros({1, 1, 2, 8}), 0, 0));
    }
}

TEST_CASE("pool: errors name the op and the shapes", "[ops][pool][errors]") {
    using Catch::Matchers::Contains;
    REQUIRE_THROWS_WITH(max_pool2d(randn({3, 4}), {.kernel_size = 2}), Contains("max_pool2d") && Contains("[3, 4]"));
    REQUIRE_THROWS_AS(max_pool2d(randn({3, 4}), {.kernel_size = 2}), ShapeError);
    REQUIRE_THROWS_WITH(
        max_pool2d(randn({1, 1, 2, 2}), {.kernel_size = 3}),
        Contains("max_pool2d") && Contains("[1, 1, 2, 2]") && Contains("kernel_size (3, 3)") && Contains("too small"));
    REQUIRE_THROWS_WITH(avg_pool2d(randn({1, 1, 5, 2}), {.kernel_size = {2, 3}}),
                        Contains("avg_pool2d") && Contains("[1, 1, 5, 2]") && Contains("kernel_size (2, 3)"));
    REQUIRE_THROWS_WITH(max_pool2d(randn({1, 1, 8, 8}), {.kernel_size = 3, .padding = 2}),
                        Contains("max_pool2d") && Contains("padding (2, 2)") && Contains("half of kernel_size (3, 3)"));
    REQUIRE_THROWS_AS(avg_pool2d(randn({1, 1, 8, 8}), {.kernel_size = 2, .stride = -1}), ValueError);
    REQUIRE_THROWS_AS(max_pool2d(randn({1, 1, 8, 8}), {.kernel_size = 2, .dilation = 0}), ValueError);
    REQUIRE_THROWS_WITH(adaptive_avg_pool2d(randn({2, 3, 4, 5, 6}), 2),
                        Contains("adaptive_avg_pool2d") && Contains("[2, 3, 4, 5, 6]"));
    REQUIRE_THROWS_WITH(adaptive_avg_pool2d(randn({1, 2, 4, 4}), {-1, 2}),
                        Contains("adaptive_avg_pool2d") && Contains("(-1, 2)") && Contains("[1, 2, 4, 4]"));
    REQUIRE_THROWS_AS(avg_pool2d(zeros({1, 1, 4, 4}, {.dtype = kInt64}), {.kernel_size = 2}), ValueError);
}

TEST_CASE("pooling keeps a channels-last input's layout, with the same values and gradients", "[ops][pool]") {
    // the cpu backend runs max_pool2d on channels-last maps natively (rows of C), the reference through copies
    Generator gen(21);
    const Tensor x = randn({2, 5, 9, 8}, {}, &gen);
    x.narrow(1, 2, 1).narrow(2, 3, 1).fill_(std::nan(""));  // NaNs win, as in the NCHW kernels
    const Tensor gy_full = randn({2, 5, 9, 8}, {}, &gen);
    for (const auto& [name, f] : std::vector<std::pair<std::string, PoolFn>>{
             {"max_pool2d",
              [](const Tensor& t) { return max_pool2d(t, {.kernel_size = 3, .stride = 2, .padding = 1}); }},
             {"max_pool2d dilation 2, ceil_mode",
              [](const Tensor& t) {
                  return max_pool2d(t, {.kernel_size = 3, .stride = 2, .padding = 1, .dilation = 2, .ceil_mode = true});
              }},
             {"avg_pool2d", [](const Tensor& t) { return avg_pool2d(t, {.kernel_size = 2, .stride = 2}); }}}) {
        for (Kernels k : {Kernels::fast, Kernels::reference}) {
            INFO(name << (k == Kernels::reference ? " (reference)" : ""));
            with_kernels(k, [&] {
                const Tensor a = x.detach().requires_grad_();
                const Tensor b = x.contiguous(MemoryFormat::ChannelsLast).requires_grad_();
                const Tensor ya = f(a), yb = f(b);
                CHECK(yb.suggest_memory_format() == MemoryFormat::ChannelsLast);
                REQUIRE_THAT(yb, ClosesTo(ya));
                const Tensor gy = gy_full.narrow(2, 0, ya.size(2)).narrow(3, 0, ya.size(3)).contiguous();
                ya.backward(gy);
                yb.backward(gy);
                REQUIRE_THAT(b.grad(), ClosesTo(a.grad()));
                return 0;
            });
        }
    }
    for (Kernels k : {Kernels::fast, Kernels::reference}) {  // the indices: the same flat h*W+w per plane
        with_kernels(k, [&] {
            const auto a = max_pool2d_with_indices(x, {.kernel_size = 2, .stride = 1});
            const auto b =
                max_pool2d_with_indices(x.contiguous(MemoryFormat::ChannelsLast), {.kernel_size = 2, .stride = 1});
            CHECK(b.indices.suggest_memory_format() == MemoryFormat::ChannelsLast);
            REQUIRE_THAT(b.indices.to(kFloat64), ClosesTo(a.indices.to(kFloat64), 0, 0));
            return 0;
        });
    }
}
