// tests/ops/test_conv.cpp — conv2d and conv_transpose2d: hand-checked values, PyTorch golden values with gradients
// (tests/fixtures/make_conv.py), gradcheck in float64 over stride/padding/dilation/groups/output_padding, the
// oneDNN kernels against the reference on odd sizes, blocked-layout channel counts and strided inputs, and the
// error messages. conv2d_act (the folded inference conv): equal to the activation of conv2d on both backends, and
// refused where a gradient would be needed.
#include "autograd/grad_mode.h"
#include "ops/activation.h"
#include "ops/conv.h"
#include "support/support.h"

namespace {

using Catch::Matchers::Contains;

using ConvFn = std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>;

// The options of each golden file; keep in step with CONV2D / CONV_TRANSPOSE2D in tests/fixtures/make_conv.py.
const std::vector<std::pair<std::string, Conv2dOptions>> kConv2dCases = {
    {"conv2d_s2_p1", {.stride = 2, .padding = 1}},
    {"conv2d_d2_p2_nobias", {.padding = 2, .dilation = 2}},
    {"conv2d_g2_rect", {.stride = {1, 2}, .padding = {1, 0}, .groups = 2}},
    {"conv2d_depthwise", {.stride = 2, .padding = 1, .groups = 4}},
};
const std::vector<std::pair<std::string, ConvTranspose2dOptions>> kConvTranspose2dCases = {
    {"conv_transpose2d_s2_p1_op1", {.stride = 2, .padding = 1, .output_padding = 1}},
    {"conv_transpose2d_d2_nobias", {.padding = 1, .dilation = 2}},
    {"conv_transpose2d_g2_rect", {.stride = {2, 1}, .padding = {0, 1}, .output_padding = {1, 0}, .groups = 2}},
    {"conv_transpose2d_s3_op2", {.stride = 3, .output_padding = 2}},
};

struct Run {
    Tensor y, gx, gw, gb;
};

// y = f(x, w, b), then backward with upstream gradient gy; the grads of the inputs that require grad.
Run run(const ConvFn& f, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy) {
    Tensor y = f(x, w, b);
    y.backward(gy);
    return {y, x.requires_grad() ? x.grad() : Tensor(), w.requires_grad() ? w.grad() : Tensor(),
            b.defined() && b.requires_grad() ? b.grad() : Tensor()};
}

Tensor leaf(const Tensor& t) { return t.defined() ? t.detach().clone().requires_grad_() : Tensor(); }

// Forward and all gradients against the fixture, in `dtype` (float64 runs the reference, float32 oneDNN).
void check_golden(const std::string& name, const ConvFn& f, DType dtype, double tol) {
    TensorMap g = load_fixture("conv/" + name);
    Tensor b = g.count("b") ? leaf(g.at("b").to(dtype)) : Tensor();
    Run r = run(f, leaf(g.at("x").to(dtype)), leaf(g.at("w").to(dtype)), b, g.at("gy").to(dtype));
    REQUIRE_THAT(r.y, ClosesTo(g.at("y"), tol, tol));
    REQUIRE_THAT(r.gx, ClosesTo(g.at("gx"), tol, tol));
    REQUIRE_THAT(r.gw, ClosesTo(g.at("gw"), tol, tol));
    if (b.defined()) REQUIRE_THAT(r.gb, ClosesTo(g.at("gb"), tol, tol));
}

// The fast kernels on each of `devices` against the reference on the CPU, forward and backward, in float32, with
// contiguous, strided and channels-last inputs (and upstream gradients).
enum class Layout { contiguous, strided, channels_last };
Tensor laid_out(const Tensor& t, Layout layout) {
    if (layout == Layout::strided) return noncontiguous(t);
    return layout == Layout::channels_last ? t.contiguous(MemoryFormat::ChannelsLast) : t;
}

// tol: absolute and relative; sums over many pixels (a weight gradient over 16k rows, values in the hundreds) differ
// by float32 rounding in the order of summation more than small problems do.
void check_backends(const ConvFn& f, const Shape& x_shape, const Shape& w_shape, int64_t c_out, bool bias,
                    const std::vector<Device>& devices, double tol = 2e-4) {
    Generator gen(3);
    Tensor x = randn(x_shape, {}, &gen), w = randn(w_shape, {}, &gen);
    Tensor b = bias ? randn({c_out}, {}, &gen) : Tensor();
    Tensor y_shape_probe = f(x, w, b);
    Tensor gy = randn(y_shape_probe.shape(), {}, &gen);
    Run ref = with_kernels(Kernels::reference, [&] { return run(f, leaf(x), leaf(w), leaf(b), gy); });
    for (Device d : devices) {
        INFO("device " << d.str());
        const Tensor xd = x.to(d), wd = w.to(d), gyd = gy.to(d);
        for (Layout layout : {Layout::contiguous, Layout::strided, Layout::channels_last}) {
            INFO("input layout " << static_cast<int>(layout) << " (0 contiguous, 1 strided, 2 channels-last)");
            Tensor xi = laid_out(xd, layout), wi = layout == Layout::strided ? noncontiguous(wd) : wd;
            if (layout != Layout::contiguous) REQUIRE_FALSE(xi.is_contiguous());
            Run fast = run(f, xi.detach().requires_grad_(), wi.detach().requires_grad_(), leaf(to_device(b, d)),
                           laid_out(gyd, layout));
            REQUIRE_THAT(fast.y, ClosesTo(ref.y, tol, tol));
            REQUIRE_THAT(fast.gx, ClosesTo(ref.gx, tol, tol));
            REQUIRE_THAT(fast.gw, ClosesTo(ref.gw, tol, tol));
            if (bias) REQUIRE_THAT(fast.gb, ClosesTo(ref.gb, tol, tol));
        }
    }
}

ConvFn conv_fn(Conv2dOptions o) {
    return [o](const Tensor& x, const Tensor& w, const Tensor& b) { return conv2d(x, w, b, o); };
}
ConvFn conv_transpose_fn(ConvTranspose2dOptions o) {
    return [o](const Tensor& x, const Tensor& w, const Tensor& b) { return conv_transpose2d(x, w, b, o); };
}

bool gradcheck_conv(const ConvFn& f, const Shape& x_shape, const Shape& w_shape, int64_t c_out, bool bias) {
    Generator gen(11);
    std::vector<Tensor> in = {randn(x_shape, {.dtype = kFloat64, .requires_grad = true}, &gen),
                              randn(w_shape, {.dtype = kFloat64, .requires_grad = true}, &gen)};
    if (bias) in.push_back(randn({c_out}, {.dtype = kFloat64, .requires_grad = true}, &gen));
    return gradcheck([&](const std::vector<Tensor>& t) { return f(t[0], t[1], t.size() > 2 ? t[2] : Tensor()); }, in);
}

}  // namespace

TEST_CASE("conv: hand-checked values on both backends", "[ops][conv]") {
    for (Kernels k : {Kernels::fast, Kernels::reference}) {
        INFO("kernels " << (k == Kernels::fast ? "fast" : "reference"));
        with_kernels(k, [] {
            // 2x2 box sums with stride 2 over 1..16 laid out 4x4, plus bias 1
            Tensor x = arange(1, 17, 1, {.dtype = kFloat32}).view({1, 1, 4, 4});
            Tensor y = conv2d(x, ones({1, 1, 2, 2}), t32({1}), {.stride = 2});
            REQUIRE_THAT(y, ClosesTo(t32({15, 23, 47, 55}, {1, 1, 2, 2})));
            REQUIRE_FALSE(y.requires_grad());
            // padding 1 with a 3x3 box: each corner of a 2x2 input of ones sees all four
            REQUIRE_THAT(conv2d(ones({1, 1, 2, 2}), ones({1, 1, 3, 3}), {}, {.padding = 1}),
                         ClosesTo(full({1, 1, 2, 2}, 4)));
            // stride 2 transposed conv with a 2x2 kernel of ones copies each pixel into a 2x2 block
            Tensor xt = t32({1, 2, 3, 4}, {1, 1, 2, 2});
            REQUIRE_THAT(conv_transpose2d(xt, ones({1, 1, 2, 2}), {}, {.stride = 2}),
                         ClosesTo(t32({1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, {1, 1, 4, 4})));
            // an empty batch gives an empty output, as in PyTorch
            REQUIRE(conv2d(zeros({0, 3, 5, 5}), zeros({4, 3, 3, 3}), {}, {.padding = 1}).shape() == Shape{0, 4, 5, 5});
            return 0;
        });
    }
}

TEST_CASE("conv2d: PyTorch golden values and gradients", "[ops][conv][golden]") {
    for (const auto& [name, o] : kConv2dCases) {
        INFO(name);
        check_golden(name, conv_fn(o), kFloat64, 1e-10);
        check_golden(name, conv_fn(o), kFloat32, 1e-4);
    }
}

TEST_CASE("conv_transpose2d: PyTorch golden values and gradients", "[ops][conv][golden]") {
    for (const auto& [name, o] : kConvTranspose2dCases) {
        INFO(name);
        check_golden(name, conv_transpose_fn(o), kFloat64, 1e-10);
        check_golden(name, conv_transpose_fn(o), kFloat32, 1e-4);
    }
}

TEST_CASE("conv2d: padding_mode reflect matches PyTorch", "[ops][conv][golden]") {
    const Conv2dOptions o{.padding = {2, 1}, .padding_mode = PaddingMode::Reflect};
    check_golden("conv2d_reflect_p2_1", conv_fn(o), kFloat64, 1e-10);
    check_golden("conv2d_reflect_p2_1", conv_fn(o), kFloat32, 1e-4);
}

TEST_CASE("conv2d: gradcheck", "[ops][conv][gradcheck]") {
    REQUIRE(gradcheck_conv(conv_fn({.stride = 2, .padding = 1, .groups = 2}), {2, 4, 7, 5}, {6, 2, 3, 3}, 6, true));
    REQUIRE(gradcheck_conv(conv_fn({.padding = {2, 1}, .dilation = {2, 1}}), {1, 3, 8, 7}, {2, 3, 3, 2}, 2, false));
    REQUIRE(
        gradcheck_conv(conv_fn({.stride = {2, 1}, .padding = 1, .groups = 3}), {1, 3, 6, 6}, {3, 1, 3, 3}, 3, true));
    REQUIRE(gradcheck_conv(conv_fn({.stride = 2}), {2, 3, 5, 4}, {4, 3, 1, 1}, 4, true));
    REQUIRE(
        gradcheck_conv(conv_fn({.stride = 3, .padding = {0, 2}, .dilation = 2}), {1, 2, 9, 8}, {2, 2, 2, 3}, 2, true));
}

TEST_CASE("conv_transpose2d: gradcheck", "[ops][conv][gradcheck]") {
    REQUIRE(gradcheck_conv(conv_transpose_fn({.stride = 2, .padding = 1, .output_padding = 1, .groups = 2}),
                           {2, 4, 4, 3}, {4, 3, 3, 3}, 6, true));
    REQUIRE(
        gradcheck_conv(conv_transpose_fn({.padding = {1, 0}, .dilation = 2}), {1, 3, 4, 5}, {3, 2, 3, 2}, 2, false));
    REQUIRE(gradcheck_conv(conv_transpose_fn({.stride = 3, .output_padding = 2}), {1, 2, 3, 3}, {2, 2, 3, 3}, 2, true));
    REQUIRE(
        gradcheck_conv(conv_transpose_fn({.output_padding = 1, .dilation = 2}), {1, 2, 4, 3}, {2, 3, 2, 2}, 3, true));
}

TEST_CASE("conv2d: oneDNN kernels equal the reference", "[ops][conv][backend]") {
    STATIC_REQUIRE(cpu_implements<&CpuBackend::conv2d>);
    STATIC_REQUIRE(cpu_implements<&CpuBackend::conv2d_backward>);
    const auto devices =
        fast_devices(cuda_implements<&CudaBackend::conv2d> && cuda_implements<&CudaBackend::conv2d_backward>);
    SECTION("odd sizes") { check_backends(conv_fn({.padding = 1}), {2, 3, 13, 11}, {5, 3, 3, 3}, 5, true, devices); }
    SECTION("stride 2, no bias") {
        check_backends(conv_fn({.stride = 2, .padding = 1}), {2, 3, 13, 11}, {5, 3, 3, 3}, 5, false, devices);
    }
    SECTION("dilation 2, rectangular") {
        check_backends(conv_fn({.padding = {2, 1}, .dilation = 2}), {1, 4, 13, 11}, {3, 4, 3, 2}, 3, true, devices);
    }
    SECTION("groups 3") {
        check_backends(conv_fn({.padding = 1, .groups = 3}), {2, 6, 9, 7}, {9, 2, 3, 3}, 9, true, devices);
    }
    SECTION("blocked layouts: 32 channels") {
        check_backends(conv_fn({.padding = 1}), {2, 32, 9, 7}, {32, 32, 3, 3}, 32, true, devices);
    }
    SECTION("depthwise, 32 channels") {
        check_backends(conv_fn({.stride = 2, .padding = 1, .groups = 32}), {2, 32, 11, 9}, {32, 1, 3, 3}, 32, true,
                       devices);
    }
    SECTION("7x7 stem, stride 2") {
        check_backends(conv_fn({.stride = 2, .padding = 3}), {1, 3, 19, 17}, {16, 3, 7, 7}, 16, true, devices);
    }
    SECTION("1x1") { check_backends(conv_fn({}), {2, 17, 5, 6}, {16, 17, 1, 1}, 16, true, devices); }
    // channels-last 1x1 convs over 16,384+ pixels run their backward as matrix products: both orders of the weight
    // gradient
    SECTION("1x1, many pixels, fewer outputs than inputs") {
        check_backends(conv_fn({}), {1, 12, 128, 130}, {8, 12, 1, 1}, 8, true, devices, 2e-3);
    }
    SECTION("1x1, many pixels, more outputs than inputs") {
        check_backends(conv_fn({}), {1, 8, 128, 130}, {12, 8, 1, 1}, 12, false, devices, 2e-3);
    }
}

TEST_CASE("conv2d_act: relu and silu applied by the conv kernel equal the activation of conv2d", "[ops][conv]") {
    Generator gen(21);
    NoGradGuard no_grad;
    struct Case {
        Shape x, w;
        Conv2dOptions o;
    };
    for (const Case& c : {Case{{2, 3, 9, 7}, {5, 3, 3, 3}, {.padding = 1}},
                          Case{{1, 32, 11, 9}, {32, 1, 3, 3}, {.stride = 2, .padding = 1, .groups = 32}},
                          Case{{2, 16, 6, 5}, {24, 16, 1, 1}, {}},
                          Case{{1, 4, 8, 8}, {6, 4, 3, 3}, {.padding = 1, .padding_mode = PaddingMode::Reflect}}}) {
        Tensor x = randn(c.x, {}, &gen), w = randn(c.w, {}, &gen) * 0.3, b = randn({c.w[0]}, {}, &gen);
        for (NormAct act : {NormAct::Relu, NormAct::Silu}) {
            for (MemoryFormat f : {MemoryFormat::Contiguous, MemoryFormat::ChannelsLast}) {
                INFO("x " << shape_str(c.x) << " act " << static_cast<int>(act) << " channels-last "
                          << (f == MemoryFormat::ChannelsLast));
                const Tensor xf = x.contiguous(f);
                auto plain = [&] {
                    const Tensor y = conv2d(xf, w, b, c.o);
                    return act == NormAct::Relu ? relu(y) : silu(y);
                };
                const Tensor expected = with_kernels(Kernels::reference, plain);
                const Tensor fused = conv2d_act(act, xf, w, b, c.o);  // oneDNN with its post-op
                REQUIRE_THAT(fused, ClosesTo(expected, 1e-4, 1e-4));
                if (c.o.padding_mode == PaddingMode::Zeros) CHECK(fused.suggest_memory_format() == f);  // pad copies
                const Tensor ref = with_kernels(Kernels::reference, [&] { return conv2d_act(act, xf, w, b, c.o); });
                REQUIRE_THAT(ref, ClosesTo(expected, 1e-6, 1e-6));
                // float64 goes to the reference kernels: the same function
                REQUIRE_THAT(conv2d_act(act, xf.to(kFloat64), w.to(kFloat64), b.to(kFloat64), c.o),
                             ClosesTo(expected.to(kFloat64), 1e-4, 1e-4));
            }
        }
        // relu clips: every output is >= 0, and the negative conv outputs became 0
        const Tensor y = conv2d_act(NormAct::Relu, x, w, b, c.o);
        CHECK(min(y).item<float>() >= 0.0f);
        CHECK(min(conv2d(x, w, b, c.o)).item<float>() < 0.0f);
    }
}

TEST_CASE("conv2d_act: refused when a gradient would be needed", "[ops][conv][errors]") {
    Tensor x = randn({1, 2, 5, 5}), w = randn({3, 2, 3, 3}).requires_grad_();
    CHECK_THROWS_AS(conv2d_act(NormAct::Relu, x, w), ValueError);
    CHECK_THROWS_WITH(conv2d_act(NormAct::Silu, x, w),
                      Contains("conv2d_silu") && Contains("[1, 2, 5, 5]") && Contains("NoGradGuard"));
    NoGradGuard no_grad;
    CHECK(conv2d_act(NormAct::Relu, x, w).shape() == Shape{1, 3, 3, 3});
}

TEST_CASE("conv_transpose2d: oneDNN kernels equal the reference", "[ops][conv][backend]") {
    STATIC_REQUIRE(cpu_implements<&CpuBackend::conv_transpose2d>);
    STATIC_REQUIRE(cpu_implements<&CpuBackend::conv_transpose2d_backward>);
    const auto devices = fast_devices(cuda_implements<&CudaBackend::conv_transpose2d> &&
                                      cuda_implements<&CudaBackend::conv_transpose2d_backward>);
    SECTION("odd sizes, stride 2, output_padding 1") {
        check_backends(conv_transpose_fn({.stride = 2, .padding = 1, .output_padding = 1}), {2, 3, 13, 11},
                       {3, 5, 3, 3}, 5, true, devices);
    }
    SECTION("groups 2, dilation 2, no bias") {
        check_backends(conv_transpose_fn({.padding = 1, .dilation = 2, .groups = 2}), {2, 4, 7, 6}, {4, 3, 3, 3}, 6,
                       false, devices);
    }
    SECTION("output_padding beyond padding") {
        check_backends(conv_transpose_fn({.stride = 3, .output_padding = 2}), {1, 3, 5, 4}, {3, 2, 3, 3}, 2, true,
                       devices);
    }
    SECTION("blocked layouts: 32 channels, 2x upsampling") {
        check_backends(conv_transpose_fn({.stride = 2}), {2, 32, 5, 7}, {32, 16, 2, 2}, 16, true, devices);
    }
    SECTION("depthwise") {
        check_backends(conv_transpose_fn({.stride = 2, .padding = 1, .groups = 16}), {1, 16, 6, 5}, {16, 1, 3, 3}, 16,
                       true, devices);
    }
    SECTION("output_padding >= stride + padding: oneDNN declines, the reference runs") {
        check_backends(conv_transpose_fn({.output_padding = 1, .dilation = 2}), {1, 3, 6, 5}, {3, 2, 3, 3}, 2, true,
                       devices);
    }
}

TEST_CASE("conv: a channels-last input gives channels-last outputs and gradients, as torch", "[ops][conv]") {
    Generator gen(8);
    const Tensor x = randn({2, 16, 9, 7}, {}, &gen).contiguous(MemoryFormat::ChannelsLast).requires_grad_();
    const Tensor w = randn({32, 16, 3, 3}, {.requires_grad = true}, &gen);
    const Tensor b = randn({32}, {.requires_grad = true}, &gen);
    REQUIRE(x.suggest_memory_format() == MemoryFormat::ChannelsLast);
    for (Kernels k : {Kernels::fast, Kernels::reference}) {
        INFO("kernels " << (k == Kernels::fast ? "fast" : "reference"));
        x.set_grad(Tensor());
        const Tensor y = with_kernels(k, [&] { return conv2d(x, w, b, {.padding = 1}); });
        const Tensor ref = conv2d(x.detach().contiguous(), w.detach(), b.detach(), {.padding = 1});
        REQUIRE_THAT(y, ClosesTo(ref, 1e-4, 1e-4));
        with_kernels(k, [&] { y.sum().backward(); });
        if (k == Kernels::fast) {  // the cpu backend keeps the layout; the reference kernels return plain NCHW
            CHECK(y.suggest_memory_format() == MemoryFormat::ChannelsLast);
            CHECK(x.grad().suggest_memory_format() == MemoryFormat::ChannelsLast);
        }
        CHECK(w.grad().is_contiguous());
    }
}

TEST_CASE("conv: only the needed gradients are computed", "[ops][conv]") {
    Generator gen(5);
    Tensor x = randn({2, 3, 6, 5}, {}, &gen), w = randn({4, 3, 3, 3}, {}, &gen), b = randn({4}, {}, &gen);
    Tensor gy = randn({2, 4, 6, 5}, {}, &gen);
    const ConvFn f = conv_fn({.padding = 1});
    Run full_ref = with_kernels(Kernels::reference, [&] { return run(f, leaf(x), leaf(w), leaf(b), gy); });
    for (int only = 0; only < 3; ++only) {
        INFO("only input " << only << " requires grad");
        Tensor xi = only == 0 ? leaf(x) : x, wi = only == 1 ? leaf(w) : w, bi = only == 2 ? leaf(b) : b;
        Run r = run(f, xi, wi, bi, gy);
        REQUIRE_THAT(r.y, ClosesTo(full_ref.y, 1e-4, 1e-4));
        REQUIRE(xi.grad().defined() == (only == 0));
        REQUIRE(wi.grad().defined() == (only == 1));
        REQUIRE(bi.grad().defined() == (only == 2));
        const Tensor& got = only == 0 ? r.gx : only == 1 ? r.gw : r.gb;
        const Tensor& want = only == 0 ? full_ref.gx : only == 1 ? full_ref.gw : full_ref.gb;
        REQUIRE_THAT(got, ClosesTo(want, 1e-4, 1e-4));
    }
}

TEST_CASE("conv: error messages name the op and the shapes", "[ops][conv][errors]") {
    REQUIRE_THROWS_WITH(
        conv2d(empty({8, 4, 96, 96}), empty({64, 3, 7, 7})),
        "conv2d: weight [64, 3, 7, 7] with groups=1 expects 3 input channels, but input [8, 4, 96, 96] has 4");
    REQUIRE_THROWS_AS(conv2d(empty({8, 4, 96, 96}), empty({64, 3, 7, 7})), ShapeError);
    REQUIRE_THROWS_WITH(conv2d(empty({1, 4, 5, 5}), empty({6, 1, 3, 3}), {}, {.groups = 4}),
                        Contains("conv2d: weight [6, 1, 3, 3]") && Contains("groups=4"));
    REQUIRE_THROWS_WITH(conv2d(empty({1, 3, 5, 5}), empty({4, 3, 3, 3}), empty({5})),
                        Contains("conv2d: bias [5]") && Contains("[4, 3, 3, 3]"));
    REQUIRE_THROWS_WITH(conv2d(empty({1, 3, 2, 2}), empty({4, 3, 3, 3})),
                        Contains("conv2d: input [1, 3, 2, 2]") && Contains("weight [4, 3, 3, 3]"));
    REQUIRE_THROWS_WITH(conv2d(empty({3, 5, 5}), empty({4, 3, 3, 3})), Contains("conv2d") && Contains("[3, 5, 5]"));
    REQUIRE_THROWS_WITH(conv2d(empty({1, 3, 5, 5}), empty({4, 3, 3})), Contains("conv2d") && Contains("[4, 3, 3]"));
    REQUIRE_THROWS_AS(conv2d(empty({1, 3, 5, 5}), empty({4, 3, 3, 3}, {.dtype = kFloat64})), TypeError);
    REQUIRE_THROWS_AS(conv2d(empty({1, 3, 5, 5}), empty({4, 3, 3, 3}), {}, {.stride = 0}), ValueError);
    REQUIRE_THROWS_WITH(
        conv_transpose2d(empty({1, 4, 5, 5}), empty({3, 2, 3, 3})),
        "conv_transpose2d: weight [3, 2, 3, 3] with groups=1 expects 3 input channels, but input [1, 4, 5, 5] has 4");
    REQUIRE_THROWS_WITH(conv_transpose2d(empty({1, 3, 5, 5}), empty({3, 2, 3, 3}), empty({3})),
                        Contains("conv_transpose2d: bias [3]") && Contains("[3, 2, 3, 3]"));
    REQUIRE_THROWS_WITH(conv_transpose2d(empty({1, 4, 5, 5}), empty({4, 2, 3, 3}), {}, {.groups = 3}),
                        Contains("conv_transpose2d: weight [4, 2, 3, 3]") && Contains("groups=3"));
    REQUIRE_THROWS_WITH(
        conv_transpose2d(empty({1, 3, 5, 5}), empty({3, 2, 3, 3}), {}, {.stride = 2, .output_padding = 2}),
        Contains("conv_transpose2d: output_padding (2, 2)"));
    REQUIRE_THROWS_WITH(conv_transpose2d(empty({1, 3, 1, 1}), empty({3, 2, 1, 1}), {}, {.padding = 1}),
                        Contains("conv_transpose2d: input [1, 3, 1, 1]") && Contains("weight [3, 2, 1, 1]"));
}
