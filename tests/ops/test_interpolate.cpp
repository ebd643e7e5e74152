// tests/ops/test_interpolate.cpp — F.interpolate (nearest, bilinear, bicubic): the documented hand-checked rows
// (docs/ops_semantics.md §1-2), PyTorch golden values for the output and the input gradient
// (tests/fixtures/make_interp.py), gradcheck in float64, the cpu kernels against the reference, and error messages.
#include "backends/common/interpolate_math.h"
#include "ops/interpolate.h"
#include "support/support.h"

namespace {
using M = InterpolateMode;

// The interpolate cases of tests/fixtures/make_interp.py, with the same options.
const std::vector<std::pair<std::string, InterpolateOptions>>& golden_cases() {
    static const std::vector<std::pair<std::string, InterpolateOptions>> cases = {
        {"bilinear_up_size", {.size = Int2{9, 11}, .mode = M::Bilinear, .align_corners = false}},
        {"bilinear_up_size_ac", {.size = Int2{9, 11}, .mode = M::Bilinear, .align_corners = true}},
        {"bilinear_down_size", {.size = Int2{4, 6}, .mode = M::Bilinear, .align_corners = false}},
        {"bilinear_down_size_ac", {.size = Int2{4, 6}, .mode = M::Bilinear, .align_corners = true}},
        {"bilinear_scale_0.7", {.scale_factor = {{0.7, 0.7}}, .mode = M::Bilinear, .align_corners = false}},
        {"bilinear_scale_0.7_recompute",
         {.scale_factor = {{0.7, 0.7}}, .mode = M::Bilinear, .align_corners = false, .recompute_scale_factor = true}},
        {"bilinear_scale_1.7_ac", {.scale_factor = {{1.7, 1.7}}, .mode = M::Bilinear, .align_corners = true}},
        {"bilinear_scale_1.5x2.5", {.scale_factor = {{1.5, 2.5}}, .mode = M::Bilinear, .align_corners = false}},
        {"bicubic_up_size", {.size = Int2{9, 11}, .mode = M::Bicubic, .align_corners = false}},
        {"bicubic_up_size_ac", {.size = Int2{9, 11}, .mode = M::Bicubic, .align_corners = true}},
        {"bicubic_down_size", {.size = Int2{4, 6}, .mode = M::Bicubic, .align_corners = false}},
        {"bicubic_down_size_ac", {.size = Int2{4, 6}, .mode = M::Bicubic, .align_corners = true}},
        {"bicubic_scale_0.9_ac", {.scale_factor = {{0.9, 0.9}}, .mode = M::Bicubic, .align_corners = true}},
        {"bicubic_scale_0.8_ac", {.scale_factor = {{0.8, 0.8}}, .mode = M::Bicubic, .align_corners = true}},
        {"bicubic_scale_0.7_ac", {.scale_factor = {{0.7, 0.7}}, .mode = M::Bicubic, .align_corners = true}},
        {"bicubic_scale_0.7", {.scale_factor = {{0.7, 0.7}}, .mode = M::Bicubic, .align_corners = false}},
        {"bicubic_scale_0.7_recompute",
         {.scale_factor = {{0.7, 0.7}}, .mode = M::Bicubic, .align_corners = false, .recompute_scale_factor = true}},
        {"bicubic_scale_1.5x2.5", {.scale_factor = {{1.5, 2.5}}, .mode = M::Bicubic, .align_corners = false}},
        {"nearest_up_size", {.size = Int2{9, 11}, .mode = M::Nearest}},
        {"nearest_down_size", {.size = Int2{4, 6}, .mode = M::Nearest}},
        {"nearest_scale_0.7", {.scale_factor = {{0.7, 0.7}}, .mode = M::Nearest}},
        {"nearest_scale_1.7_recompute",
         {.scale_factor = {{1.7, 1.7}}, .mode = M::Nearest, .recompute_scale_factor = true}},
        {"nearest_scale_2", {.scale_factor = {{2.0, 2.0}}, .mode = M::Nearest}},
    };
    return cases;
}

// Input gradient of interpolate for the upstream gradient gy.
Tensor input_grad(const Tensor& x_in, const InterpolateOptions& o, const Tensor& gy) {
    Tensor x = x_in.detach().requires_grad_();
    interpolate(x, o).backward(gy);
    return x.grad();
}
}  // namespace

TEST_CASE("interpolate: the spec's 1-D reference rows", "[ops][interpolate]") {
    for (DType dt : {kFloat64, kFloat32}) {  // float64 runs the reference kernels, float32 the cpu ones
        INFO(dtype_name(dt));
        Tensor row7 = t64({0, 1, 4, 9, 16, 25, 3}, {1, 1, 1, 7}).to(dt);
        REQUIRE_THAT(interpolate(row7, {.size = Int2{1, 5}, .mode = M::Bicubic, .align_corners = true}),
                     ClosesTo(t64({0, 2.125, 9, 23.21875, 3}, {1, 1, 1, 5}), 1e-5));
        REQUIRE_THAT(interpolate(row7, {.size = Int2{1, 5}, .mode = M::Bicubic, .align_corners = false}),
                     ClosesTo(t64({0.104, 2.368, 9, 21.832, 7.088}, {1, 1, 1, 5}), 1e-5));
        // the same row as a column: the H axis follows the same rule
        REQUIRE_THAT(
            interpolate(row7.view({1, 1, 7, 1}), {.size = Int2{5, 1}, .mode = M::Bicubic, .align_corners = true}),
            ClosesTo(t64({0, 2.125, 9, 23.21875, 3}, {1, 1, 5, 1}), 1e-5));
        Tensor row5 = t64({0, 1, 4, 9, 2}, {1, 1, 1, 5}).to(dt);
        REQUIRE_THAT(interpolate(row5, {.size = Int2{1, 9}, .mode = M::Bilinear}),
                     ClosesTo(t64({0, 1. / 3, 8. / 9, 7. / 3, 4, 61. / 9, 74. / 9, 13. / 3, 2}, {1, 1, 1, 9}), 1e-5));
        // nearest, PyTorch 1.13's floor(d / 0.7) rule: [0..9] -> 7 picks 0, 1, 2, 4, 5, 7, 8
        Tensor ramp = arange(10.0, {.dtype = dt}).view({1, 1, 1, 10});
        REQUIRE_THAT(interpolate(ramp, {.scale_factor = {{1.0, 0.7}}, .mode = M::Nearest}),
                     ClosesTo(t64({0, 1, 2, 4, 5, 7, 8}, {1, 1, 1, 7})));
        // bilinear copies an axis whose size does not change, even when the scale factor is not 1 (PyTorch)
        REQUIRE_THAT(interpolate(ramp, {.scale_factor = {{1.0, 1.05}}, .mode = M::Bilinear}), ClosesTo(ramp));
    }
    // Keys weights at t = 0.5, and they sum to 1 anywhere
    const CubicTaps<double> c = cubic_taps<double>(1.0, 2, 10, /*align_corners=*/false);  // x = 2, t = 0
    REQUIRE(c.w[1] == 1.0);
    const CubicTaps<double> h = cubic_taps<double>(1.0, 2, 10, /*align_corners=*/true);
    REQUIRE(h.idx[0] == 1);
    const CubicTaps<double> half = cubic_taps<double>(0.5, 1, 10, /*align_corners=*/true);  // x = 0.5
    REQUIRE_THAT(t64({half.w[0], half.w[1], half.w[2], half.w[3]}),
                 ClosesTo(t64({-0.09375, 0.59375, 0.59375, -0.09375}), 1e-12));
    const CubicTaps<double> edge = cubic_taps<double>(0.3, 0, 10, /*align_corners=*/false);  // x < 0: taps clamp to 0
    REQUIRE((edge.idx[0] == 0 && edge.idx[1] == 0 && edge.idx[2] == 0 && edge.idx[3] == 1));
    REQUIRE(edge.w[0] + edge.w[1] + edge.w[2] + edge.w[3] == Approx(1.0));
}

TEST_CASE("interpolate: PyTorch golden values, output and input gradient", "[ops][interpolate][golden]") {
    for (const auto& [name, o] : golden_cases()) {
        INFO(name);
        auto g = load_fixture("interp/" + name);
        const Tensor &x = g.at("x"), &gy = g.at("gy");
        REQUIRE_THAT(interpolate(x, o), ClosesTo(g.at("y"), 1e-10, 1e-10));  // float64: reference kernels
        REQUIRE_THAT(input_grad(x, o, gy), ClosesTo(g.at("gx"), 1e-10, 1e-10));
        const Tensor x32 = x.to(kFloat32), gy32 = gy.to(kFloat32);  // float32: cpu kernels
        REQUIRE_THAT(interpolate(x32, o), ClosesTo(g.at("y"), 1e-5, 1e-5));
        REQUIRE_THAT(input_grad(x32, o, gy32), ClosesTo(g.at("gx"), 1e-5, 1e-5));
    }
}

TEST_CASE("interpolate: gradcheck in float64", "[ops][interpolate][gradcheck]") {
    Tensor x = randn({2, 2, 4, 5}, {.dtype = kFloat64, .requires_grad = true});
    const std::vector<InterpolateOptions> cases = {
        {.size = Int2{7, 3}, .mode = M::Nearest},
        {.scale_factor = {{0.7, 1.6}}, .mode = M::Nearest},
        {.size = Int2{7, 3}, .mode = M::Bilinear},
        {.size = Int2{3, 8}, .mode = M::Bilinear, .align_corners = true},
        {.scale_factor = {{1.5, 0.7}}, .mode = M::Bilinear},
        {.size = Int2{7, 3}, .mode = M::Bicubic},
        {.size = Int2{3, 8}, .mode = M::Bicubic, .align_corners = true},
        {.scale_factor = {{0.8, 0.9}}, .mode = M::Bicubic, .align_corners = true},
        {.scale_factor = {{1.05, 1.7}}, .mode = M::Bicubic},  // H: 4 -> 4 with ratio 1/1.05, interpolated
        {.size = Int2{1, 1}, .mode = M::Bicubic, .align_corners = true},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        INFO("case " << i);
        REQUIRE(gradcheck([&](const std::vector<Tensor>& in) { return interpolate(in[0], cases[i]); }, {x}));
    }
}

TEST_CASE("interpolate: cpu kernels equal the reference on odd sizes and strided inputs",
          "[ops][interpolate][backend]") {
    STATIC_REQUIRE(cpu_implements<&CpuBackend::upsample>);
    STATIC_REQUIRE(cpu_implements<&CpuBackend::upsample_backward>);
    const auto devices =
        fast_devices(cuda_implements<&CudaBackend::upsample> && cuda_implements<&CudaBackend::upsample_backward>);
    Tensor x = randn({2, 3, 17, 13});
    Tensor xs = noncontiguous(x);
    const std::vector<InterpolateOptions> cases = {
        {.size = Int2{31, 9}, .mode = M::Nearest},
        {.scale_factor = {{0.7, 1.3}}, .mode = M::Nearest},
        {.size = Int2{31, 9}, .mode = M::Bilinear},
        {.size = Int2{9, 31}, .mode = M::Bilinear, .align_corners = true},
        {.size = Int2{17, 26}, .mode = M::Bilinear},
        {.size = Int2{31, 9}, .mode = M::Bicubic},
        {.size = Int2{9, 31}, .mode = M::Bicubic, .align_corners = true},
        {.scale_factor = {{0.7, 0.7}}, .mode = M::Bicubic, .align_corners = true},
        {.scale_factor = {{0.9, 0.8}}, .mode = M::Bicubic, .align_corners = false},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        INFO("case " << i);
        const auto& o = cases[i];
        Tensor ref = with_kernels(Kernels::reference, [&] { return interpolate(x, o); });
        Tensor gy = noncontiguous(randn(ref.shape()));
        Tensor gref = with_kernels(Kernels::reference, [&] { return input_grad(x, o, gy); });
        for (Device d : devices) {
            INFO("device " << d.str());
            REQUIRE_THAT(interpolate(x.to(d), o), ClosesTo(ref, 1e-5, 1e-5));
            REQUIRE_THAT(interpolate(to_device(xs, d), o), ClosesTo(ref, 1e-5, 1e-5));
            REQUIRE_THAT(input_grad(to_device(xs, d), o, to_device(gy, d)), ClosesTo(gref, 1e-5, 1e-5));
        }
    }
}

TEST_CASE("interpolate: errors name the op and the shapes", "[ops][interpolate][errors]") {
    using Catch::Contains;
    Tensor x = randn({2, 3, 4, 5});
    REQUIRE_THROWS_WITH(interpolate(randn({2, 3, 4}), {.size = Int2{8, 8}}),
                        Contains("interpolate") && Contains("4-D") && Contains("[2, 3, 4]"));
    REQUIRE_THROWS_AS(interpolate(x, {.size = Int2{8, 8}, .scale_factor = {{2.0, 2.0}}}), ValueError);
    REQUIRE_THROWS_WITH(interpolate(x, {.size = Int2{8, 8}, .scale_factor = {{2.0, 2.0}}}),
                        Contains("only one of size or scale_factor"));
    REQUIRE_THROWS_WITH(interpolate(x, {}), Contains("either size or scale_factor"));
    REQUIRE_THROWS_WITH(interpolate(x, {.size = Int2{8, 8}, .mode = M::Nearest, .align_corners = false}),
                        Contains("align_corners") && Contains("nearest"));
    REQUIRE_THROWS_WITH(interpolate(x, {.size = Int2{8, 8}, .mode = M::Bilinear, .recompute_scale_factor = true}),
                        Contains("recompute_scale_factor"));
    REQUIRE_THROWS_AS(interpolate(x, {.size = Int2{0, 8}, .mode = M::Bilinear}), ShapeError);
    REQUIRE_THROWS_WITH(interpolate(x, {.size = Int2{0, 8}, .mode = M::Bilinear}),
                        Contains("interpolate") && Contains("[2, 3, 4, 5]") && Contains("[2, 3, 0, 8]"));
    REQUIRE_THROWS_WITH(interpolate(x, {.scale_factor = {{0.1, 1.0}}, .mode = M::Bicubic}), Contains("[2, 3, 0, 5]"));
    REQUIRE_THROWS_WITH(interpolate(x, {.scale_factor = {{-1.0, 1.0}}}), Contains("scale_factor"));
    REQUIRE_THROWS_AS(interpolate(randint(0, 5, {1, 1, 2, 2}), {.size = Int2{4, 4}}), ValueError);
}

TEST_CASE("interpolate keeps a channels-last input's layout, with the same values and gradients",
          "[ops][interpolate]") {
    // the cpu backend resamples channels-last maps natively (rows of C), the reference through copies
    Generator gen(22);
    const Tensor x = randn({2, 6, 5, 7}, {}, &gen);
    using M = InterpolateMode;
    const std::vector<InterpolateOptions> cases{{.scale_factor = std::array<double, 2>{2.0, 2.0}, .mode = M::Nearest},
                                                {.scale_factor = std::array<double, 2>{2.0, 2.0}, .mode = M::Bilinear},
                                                {.size = Int2{3, 11}, .mode = M::Nearest},  // down in H, up in W
                                                {.size = Int2{3, 11}, .mode = M::Bilinear, .align_corners = true},
                                                {.size = Int2{8, 4}, .mode = M::Bicubic}};
    for (size_t i = 0; i < cases.size(); ++i) {
        for (Kernels k : {Kernels::fast, Kernels::reference}) {
            INFO("case " << i << (k == Kernels::reference ? " (reference)" : ""));
            with_kernels(k, [&] {
                const Tensor a = x.detach().requires_grad_();
                const Tensor b = x.contiguous(MemoryFormat::ChannelsLast).requires_grad_();
                const Tensor ya = interpolate(a, cases[i]), yb = interpolate(b, cases[i]);
                CHECK(yb.suggest_memory_format() == MemoryFormat::ChannelsLast);
                REQUIRE_THAT(yb, ClosesTo(ya, 1e-6, 1e-6));
                const Tensor gy = randn(ya.shape(), {}, &gen);
                ya.backward(gy);
                yb.backward(gy);
                CHECK(b.grad().suggest_memory_format() == MemoryFormat::ChannelsLast);
                REQUIRE_THAT(b.grad(), ClosesTo(a.grad(), 1e-5, 1e-5));
                return 0;
            });
        }
    }
}
