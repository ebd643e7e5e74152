// tests/ops/test_pad.cpp — F.pad in modes constant, reflect and replicate: the documented [0..4] reflect-by-3 example
// (docs/ops_semantics.md §4) and other hand-checked values, PyTorch golden values for output and input gradient on
// 2-D, 4-D and 5-D inputs (tests/fixtures/make_index.py), gradcheck in float64, the default backend against the
// reference on non-contiguous float32 inputs, and the error messages.
#include "ops/pad.h"
#include "support/support.h"

namespace {
Tensor input_grad(const Tensor& x_in, const Shape& pads, PadMode mode, double value, const Tensor& gy) {
    Tensor x = x_in.detach().requires_grad_();
    pad(x, pads, mode, value).backward(gy);
    return x.grad();
}

struct Case {
    Shape pads;
    double value;
};
// The cases of make_index.py, in its order (x0, x1, ... in index/pad_<mode>).
const std::vector<std::tuple<std::string, PadMode, std::vector<Case>>>& golden_cases() {
    static const std::vector<std::tuple<std::string, PadMode, std::vector<Case>>> cases = {
        {"constant", PadMode::Constant, {{{1, 2, 2, 0}, 0.5}, {{-1, 2, 1, -1}, -1.0}}},
        {"reflect", PadMode::Reflect, {{{2, 1}, 0.0}, {{1, 2, 3, 1}, 0.0}, {{1, 1, 2, 0, 1, 2}, 0.0}}},
        {"replicate", PadMode::Replicate, {{{2, 3}, 0.0}, {{2, 1, 0, 3}, 0.0}}},
    };
    return cases;
}
}  // namespace

TEST_CASE("pad: known values", "[ops][pad]") {
    Tensor x = arange(5.0, {.dtype = kFloat64}).view({1, 5});
    // docs/ops_semantics.md §4: the edge is not repeated
    REQUIRE_THAT(pad(x, {3, 3}, PadMode::Reflect), ClosesTo(t64({3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1}, {1, 11}), 0, 0));
    REQUIRE_THAT(pad(x, {2, 1}, PadMode::Replicate), ClosesTo(t64({0, 0, 0, 1, 2, 3, 4, 4}, {1, 8}), 0, 0));
    REQUIRE_THAT(pad(x, {1, -2}, PadMode::Constant, 9.0), ClosesTo(t64({9, 0, 1, 2}, {1, 4}), 0, 0));  // crop
    REQUIRE_THAT(pad(x, {-1, 2}, PadMode::Reflect), ClosesTo(t64({1, 2, 3, 4, 3, 2}, {1, 6}), 0, 0));
    // 2x2 image, one pixel on each side
    Tensor img = t64({1, 2, 3, 4}, {1, 1, 2, 2});
    REQUIRE_THAT(pad(img, {1, 1, 1, 1}, PadMode::Replicate),
                 ClosesTo(t64({1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, {1, 1, 4, 4}), 0, 0));
    REQUIRE_THAT(pad(img, {0, 0, 1, 0}), ClosesTo(t64({0, 0, 1, 2, 3, 4}, {1, 1, 3, 2}), 0, 0));
    // integer tensors pad too; the backward of reflect adds where one source is read twice
    REQUIRE_THAT(pad(from_vector(std::vector<int64_t>{5, 6}), {1, 0}, PadMode::Constant, 7.0),
                 ClosesTo(t64({7, 5, 6}), 0, 0));
    Tensor r = x.detach().requires_grad_();
    pad(r, {3, 3}, PadMode::Reflect).sum().backward();
    REQUIRE_THAT(r.grad(), ClosesTo(t64({1, 3, 3, 3, 1}, {1, 5}), 0, 0));
}

TEST_CASE("pad: PyTorch golden values and gradients in all three modes", "[ops][pad][golden]") {
    auto spec = load_fixture("index/pad_reflect_spec");
    REQUIRE_THAT(pad(arange(5.0, {.dtype = kFloat64}).view({1, 5}), {3, 3}, PadMode::Reflect),
                 ClosesTo(spec.at("y"), 0, 0));
    for (const auto& [name, mode, cases] : golden_cases()) {
        auto f = load_fixture("index/pad_" + name);
        for (size_t k = 0; k < cases.size(); ++k) {
            const std::string s = std::to_string(k);
            INFO(name << " case " << k);
            const Tensor& x = f.at("x" + s);
            REQUIRE_THAT(pad(x, cases[k].pads, mode, cases[k].value), ClosesTo(f.at("y" + s), 0, 0));
            REQUIRE_THAT(input_grad(x, cases[k].pads, mode, cases[k].value, f.at("gy" + s)),
                         ClosesTo(f.at("gx" + s), 1e-12));
            REQUIRE_THAT(pad(x.to(kFloat32), cases[k].pads, mode, cases[k].value), ClosesTo(f.at("y" + s), 1e-6));
        }
    }
}

TEST_CASE("pad: gradcheck in float64", "[ops][pad][gradcheck]") {
    Generator gen(11);
    Tensor x = randn({2, 3, 4, 5}, {.dtype = kFloat64}, &gen).requires_grad_();
    auto check = [&](Shape pads, PadMode mode) {
        return gradcheck([&](const std::vector<Tensor>& in) { return pad(in[0], pads, mode, 0.25); }, {x});
    };
    REQUIRE(check({1, 2, -1, 3}, PadMode::Constant));
    REQUIRE(check({1, 0, 2, 1, 1, 1, 0, 1}, PadMode::Constant));  // all four dims
    REQUIRE(check({3, 4}, PadMode::Reflect));
    REQUIRE(check({4, 4, 3, 3}, PadMode::Reflect));
    REQUIRE(check({1, 2, 3, 1, 2, 2}, PadMode::Reflect));
    REQUIRE(check({5, 1, 0, 7}, PadMode::Replicate));
    REQUIRE(check({1, 1, 1, 1, 1, 1}, PadMode::Replicate));
}

TEST_CASE("pad: a non-contiguous input gives what its contiguous copy gives (kernels shared with the reference)",
          "[ops][pad][backend]") {
    // The cpu backend inherits these kernels from the reference: there is no second implementation to compare.
    // When one is added, turn this into a parity test (cpu_implements says so at compile time).
    STATIC_REQUIRE_FALSE(cpu_implements<&CpuBackend::pad>);
    STATIC_REQUIRE_FALSE(cpu_implements<&CpuBackend::pad_backward>);
    const auto devices =
        fast_devices(cuda_implements<&CudaBackend::pad> && cuda_implements<&CudaBackend::pad_backward>);
    Tensor x = noncontiguous(randn({3, 7, 13}));
    REQUIRE_FALSE(x.is_contiguous());
    for (PadMode mode : {PadMode::Constant, PadMode::Reflect, PadMode::Replicate}) {
        for (const Shape& pads : {Shape{3, 5}, Shape{6, 1, 2, 4}, Shape{0, 2, 1, 1, 2, 0}}) {
            INFO(static_cast<int>(mode) << " " << shape_str(pads));
            Tensor ref = with_kernels(Kernels::reference, [&] { return pad(x.contiguous(), pads, mode, -0.5); });
            Tensor gy = noncontiguous(randn(ref.shape()));
            Tensor gref =
                with_kernels(Kernels::reference, [&] { return input_grad(x, pads, mode, -0.5, gy.contiguous()); });
            for (Device d : devices) {
                INFO("device " << d.str());
                REQUIRE_THAT(pad(to_device(x, d), pads, mode, -0.5), ClosesTo(ref, 0, 0));
                REQUIRE_THAT(input_grad(to_device(x, d), pads, mode, -0.5, to_device(gy, d)),
                             ClosesTo(gref, 1e-6, 1e-6));
            }
        }
    }
}

TEST_CASE("pad: a batch large enough for the parallel loop equals its images padded one by one",
          "[ops][pad][backend]") {
    Tensor x = randn({4, 4, 64, 64});  // padded: 69,696 elements, above the kernel's threshold for OpenMP
    Tensor y = pad(x, {1, 1, 1, 1}, PadMode::Reflect);
    for (int64_t n = 0; n < 4; ++n)
        REQUIRE_THAT(y.narrow(0, n, 1), ClosesTo(pad(x.narrow(0, n, 1), {1, 1, 1, 1}, PadMode::Reflect), 0, 0));
}

TEST_CASE("pad: errors name the op, the padding and the shape", "[ops][pad][errors]") {
    using Catch::Contains;
    Tensor x = zeros({1, 1, 3, 3});
    REQUIRE_THROWS_WITH(pad(x, {3, 3, 0, 0}, PadMode::Reflect), Contains("pad: reflect") && Contains("(3, 3)") &&
                                                                    Contains("size 3") && Contains("[1, 1, 3, 3]"));
    REQUIRE_THROWS_AS(pad(x, {1, 2, 3}), ValueError);
    REQUIRE_THROWS_WITH(pad(x, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}), Contains("pad") && Contains("[1, 1, 3, 3]"));
    REQUIRE_THROWS_WITH(pad(x, {1, 1, 1, 1, 1, 1, 1, 1}, PadMode::Replicate),
                        Contains("replicate") && Contains("1 to 3"));
    REQUIRE_THROWS_WITH(pad(x, {-2, -2}), Contains("pad") && Contains("negative") && Contains("[1, 1, 3, 3]"));
    REQUIRE_THROWS_WITH(pad(zeros({2, 0}), {1, 1}, PadMode::Replicate), Contains("replicate") && Contains("[2, 0]"));
}
