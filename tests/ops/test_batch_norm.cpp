// tests/ops/test_batch_norm.cpp — batch_norm and group_norm (ops/batch_norm.cpp): PyTorch golden values
// (tests/fixtures/make_norm.py) for outputs, running statistics and gradients, in float64 (reference kernels) and
// float32 (cpu kernels); hand-checked values; gradcheck in train and eval; the cpu kernels against the reference on
// odd sizes and strided inputs; the error messages. batch_norm_act (relu or silu fused): equal to the two ops, hand
// values, gradcheck, and the cpu kernels against the reference the same way.
#include <cmath>

#include "ops/activation.h"
#include "ops/batch_norm.h"
#include "support/support.h"

namespace {

Tensor maybe(const TensorMap& g, const std::string& key, DType dt) {
    return g.count(key) ? g.at(key).to(dt) : Tensor();
}

// One batch_norm fixture in dtype dt: output, gradients for the upstream gy, running stats after one (or two) steps.
void check_batch_norm_fixture(const std::string& name, bool training, double momentum, double eps, DType dt,
                              double tol) {
    INFO(name << " in " << dtype_name(dt));
    const TensorMap g = load_fixture("norm/" + name);
    Tensor x = g.at("x").to(dt).requires_grad_();
    Tensor w = maybe(g, "w", dt), b = maybe(g, "b", dt);
    if (w.defined()) {
        w.requires_grad_();
        b.requires_grad_();
    }
    Tensor rm = g.at("rm").to(dt).clone(), rv = g.at("rv").to(dt).clone();
    Tensor y = batch_norm(x, rm, rv, w, b, training, momentum, eps);
    y.backward(g.at("gy").to(dt));
    REQUIRE_THAT(y, ClosesTo(g.at("y"), tol, tol));
    REQUIRE_THAT(x.grad(), ClosesTo(g.at("gx"), tol, tol));
    REQUIRE_THAT(rm, ClosesTo(g.at("rm1"), tol, tol));
    REQUIRE_THAT(rv, ClosesTo(g.at("rv1"), tol, tol));
    if (w.defined()) {
        REQUIRE_THAT(w.grad(), ClosesTo(g.at("gw"), tol, tol));
        REQUIRE_THAT(b.grad(), ClosesTo(g.at("gb"), tol, tol));
    }
    if (g.count("x2")) {  // a second step: the running statistics keep averaging as PyTorch's
        Tensor y2 = batch_norm(g.at("x2").to(dt), rm, rv, w, b, training, momentum, eps);
        REQUIRE_THAT(y2, ClosesTo(g.at("y2"), tol, tol));
        REQUIRE_THAT(rm, ClosesTo(g.at("rm2"), tol, tol));
        REQUIRE_THAT(rv, ClosesTo(g.at("rv2"), tol, tol));
    }
}

// Everything batch_norm produces (y, gradients, running stats) for inputs that the caller made in float32; w, b and
// the running stats are on x's device.
std::vector<Tensor> bn_all(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const Tensor& gy, bool training,
                           bool with_stats, NormAct act = NormAct::None) {
    const Device d = x_in.device();
    Tensor x = x_in.detach().requires_grad_();
    Tensor w = w_in.defined() ? w_in.to(d).detach().clone().requires_grad_() : Tensor();
    Tensor b = b_in.defined() ? b_in.to(d).detach().clone().requires_grad_() : Tensor();
    const int64_t c = x.size(1);
    // running stats as strided views (every other element of a buffer), to check the in-place writes
    Tensor rm = with_stats ? (linspace(-1, 1, 2 * c) * 0.5).to(d).slice(0, 0, 2 * c, 2) : Tensor();
    Tensor rv = with_stats ? (linspace(0.5, 2, 2 * c)).to(d).slice(0, 0, 2 * c, 2) : Tensor();
    Tensor y = batch_norm_act(act, x, rm, rv, w, b, training, 0.2, 1e-4);
    y.backward(gy);
    std::vector<Tensor> out = {y, x.grad()};
    if (w.defined()) out.insert(out.end(), {w.grad(), b.grad()});
    if (with_stats) out.insert(out.end(), {rm, rv});
    return out;
}

}  // namespace

TEST_CASE("batch_norm: PyTorch golden values, train and eval, 4-D, 3-D, 2-D, affine or not", "[ops][batch_norm]") {
    for (auto [dt, tol] : {std::pair{kFloat64, 1e-10}, std::pair{kFloat32, 2e-5}}) {
        check_batch_norm_fixture("bn_train_4d", true, 0.1, 1e-5, dt, tol);
        check_batch_norm_fixture("bn_eval_4d", false, 0.1, 1e-5, dt, tol);
        check_batch_norm_fixture("bn_train_2d", true, 0.3, 1e-5, dt, tol);
        check_batch_norm_fixture("bn_train_noaffine_3d", true, 0.1, 1e-3, dt, tol);
    }
}

TEST_CASE("batch_norm: hand-checked values and running statistics", "[ops][batch_norm]") {
    // one channel, values 1 and 3: mean 2, biased var 1, unbiased var 2
    Tensor x = t64({1, 3}, {2, 1});
    Tensor rm = t64({0}), rv = t64({1});
    REQUIRE_THAT(batch_norm(x, rm, rv, {}, {}, true, 0.1, 0.0), ClosesTo(t64({-1, 1}, {2, 1}), 1e-12));
    REQUIRE_THAT(rm, ClosesTo(t64({0.2}), 1e-12));                            // 0.9 * 0 + 0.1 * 2
    REQUIRE_THAT(rv, ClosesTo(t64({1.1}), 1e-12));                            // 0.9 * 1 + 0.1 * 2 (unbiased)
    REQUIRE_THAT(batch_norm(x, rm, rv, t64({2}), t64({5}), false, 0.1, 0.0),  // eval: (x - 0.2) / sqrt(1.1) * 2 + 5
                 ClosesTo(t64({5 + 2 * 0.8 / std::sqrt(1.1), 5 + 2 * 2.8 / std::sqrt(1.1)}, {2, 1}), 1e-12));
    REQUIRE_THAT(rm, ClosesTo(t64({0.2}), 1e-12));  // eval leaves the running statistics alone

    // the in-place update bumps the version (so a tensor saved for backward notices it); eval does not
    const uint64_t v0 = rm.version();
    batch_norm(x, rm, rv, {}, {}, true);
    REQUIRE(rm.version() > v0);
    const uint64_t v1 = rm.version();
    batch_norm(x, rm, rv, {}, {}, false);
    REQUIRE(rm.version() == v1);
    // training without running statistics is fine (F.batch_norm(x, None, None, training=True))
    REQUIRE_THAT(batch_norm(x, {}, {}, {}, {}, true, 0.1, 0.0), ClosesTo(t64({-1, 1}, {2, 1}), 1e-12));
}

TEST_CASE("batch_norm: gradcheck in train and eval mode", "[ops][batch_norm][gradcheck]") {
    Generator gen(3);
    for (const Shape& shape : {Shape{3, 2, 2, 3}, Shape{4, 3}, Shape{2, 2, 5}}) {
        const int64_t c = shape[1];
        Tensor x = (randn(shape, {.dtype = kFloat64}, &gen) * 2 + 1).requires_grad_();
        Tensor w = (rand({c}, {.dtype = kFloat64}, &gen) + 0.5).requires_grad_();
        Tensor b = randn({c}, {.dtype = kFloat64}, &gen).requires_grad_();
        Tensor rm = randn({c}, {.dtype = kFloat64}, &gen), rv = rand({c}, {.dtype = kFloat64}, &gen) + 0.5;
        for (bool training : {true, false}) {
            for (bool affine : {true, false}) {
                INFO("shape " << shape_str(shape) << " training " << training << " affine " << affine);
                REQUIRE(gradcheck(
                    [&](const std::vector<Tensor>& in) {
                        Tensor m = rm.clone(), v = rv.clone();  // fresh stats: each call is the same function
                        return batch_norm(in[0], m, v, in[1], in[2], training, 0.1, 1e-3);
                    },
                    {x, affine ? w : Tensor(), affine ? b : Tensor()}));
            }
        }
    }
    // training without running statistics, and only weight needing a gradient
    Tensor x = randn({3, 2, 4}, {.dtype = kFloat64}, &gen);
    Tensor w = t64({0.7, 1.3}).requires_grad_();
    REQUIRE(
        gradcheck([](const std::vector<Tensor>& in) { return batch_norm(in[0], {}, {}, in[1], {}, true); }, {x, w}));
}

TEST_CASE("batch_norm: cpu kernels equal the reference on odd sizes, strided and channels-last inputs",
          "[ops][batch_norm][backend]") {
    STATIC_REQUIRE(cpu_implements<&CpuBackend::batch_norm>);
    STATIC_REQUIRE(cpu_implements<&CpuBackend::batch_norm_backward>);
    const auto devices =
        fast_devices(cuda_implements<&CudaBackend::batch_norm> && cuda_implements<&CudaBackend::batch_norm_backward>);
    Generator gen(11);
    // [4, 7, 33, 37] is large enough for the threaded path; [5, 7] and [6, 5] take the [N, C] row path
    for (const Shape& shape : {Shape{3, 5, 7, 9}, Shape{2, 3, 11}, Shape{5, 7}, Shape{6, 5}, Shape{4, 7, 33, 37}}) {
        const int64_t c = shape[1];
        Tensor x = randn(shape, {}, &gen) * 3 + 5;  // a mean far from 0 exercises the shifted sums
        Tensor w = rand({c}, {}, &gen) + 0.5, b = randn({c}, {}, &gen);
        Tensor gy = randn(shape, {}, &gen);
        for (auto [training, affine, act] : {std::tuple{true, true, NormAct::None},
                                             {true, false, NormAct::None},
                                             {false, true, NormAct::None},
                                             {false, false, NormAct::None},
                                             {true, true, NormAct::Relu},
                                             {false, true, NormAct::Relu},
                                             {true, true, NormAct::Silu},
                                             {false, false, NormAct::Silu}}) {
            {
                INFO("shape " << shape_str(shape) << " training " << training << " affine " << affine << " act "
                              << static_cast<int>(act));
                Tensor wa = affine ? w : Tensor(), ba = affine ? b : Tensor();
                auto ref = with_kernels(Kernels::reference, [&] { return bn_all(x, wa, ba, gy, training, true, act); });
                for (Device d : devices) {
                    INFO("device " << d.str());
                    const Tensor xd = x.to(d), gyd = gy.to(d);
                    auto fast = bn_all(xd, wa, ba, gyd, training, true, act);
                    auto strided = bn_all(noncontiguous(xd), wa, ba, noncontiguous(gyd), training, true, act);
                    auto channels_last = strided;  // 4-D shapes only: N*H*W rows of C
                    if (shape.size() == 4) {
                        const auto cl = MemoryFormat::ChannelsLast;
                        channels_last = bn_all(xd.contiguous(cl), wa, ba, gyd.contiguous(cl), training, true, act);
                    }
                    REQUIRE(fast.size() == ref.size());
                    for (size_t i = 0; i < ref.size(); ++i) {
                        INFO("output " << i);
                        const double atol = 1e-4 * std::sqrt(static_cast<double>(x.numel() / c));  // gw, gb are sums
                        REQUIRE_THAT(fast[i], ClosesTo(ref[i], atol, 1e-4));
                        REQUIRE_THAT(strided[i], ClosesTo(ref[i], atol, 1e-4));
                        REQUIRE_THAT(channels_last[i], ClosesTo(ref[i], atol, 1e-4));
                    }
                }
            }
        }
    }
    // |mean| = 100 std: the shifted sums keep the variance (a float E[x²] - E[x]² would lose about 3 digits)
    Tensor far = randn({4, 3, 16, 16}, {}, &gen) + 100.0;
    Tensor gfar = randn({4, 3, 16, 16}, {}, &gen);
    auto far_ref = with_kernels(Kernels::reference, [&] { return bn_all(far, {}, {}, gfar, true, true); });
    for (Device d : devices) {
        INFO("device " << d.str());
        auto far_fast = bn_all(far.to(d), {}, {}, gfar.to(d), true, true);
        REQUIRE_THAT(far_fast[0], ClosesTo(far_ref[0], 1e-4, 1e-4));  // y
        REQUIRE_THAT(far_fast[1], ClosesTo(far_ref[1], 1e-4, 1e-4));  // gx
        REQUIRE_THAT(far_fast[3], ClosesTo(far_ref[3], 1e-6, 1e-6));  // running_var
    }

    // channels-last in, channels-last out (y and gx), on the cpu backend
    {
        Tensor xc = randn({2, 8, 5, 6}, {}, &gen).contiguous(MemoryFormat::ChannelsLast).requires_grad_();
        Tensor y = batch_norm(xc, Tensor(), Tensor(), Tensor(), Tensor(), true);
        CHECK(y.suggest_memory_format() == MemoryFormat::ChannelsLast);
        y.backward(randn({2, 8, 5, 6}, {}, &gen).contiguous(MemoryFormat::ChannelsLast));
        CHECK(xc.grad().suggest_memory_format() == MemoryFormat::ChannelsLast);
    }

    // training without running stats on the cpu path
    Tensor x = randn({2, 3, 5, 5}, {}, &gen);
    Tensor gy = randn({2, 3, 5, 5}, {}, &gen);
    auto ref = with_kernels(Kernels::reference, [&] { return bn_all(x, {}, {}, gy, true, false); });
    for (Device d : devices) {
        INFO("device " << d.str());
        auto fast = bn_all(x.to(d), {}, {}, gy.to(d), true, false);
        REQUIRE_THAT(fast[0], ClosesTo(ref[0], 1e-5));
        REQUIRE_THAT(fast[1], ClosesTo(ref[1], 1e-5));
    }
}

TEST_CASE("batch_norm_act: relu and silu of batch_norm in one op, values and gradients", "[ops][batch_norm]") {
    // by hand: x = [-1, 1] per channel in training normalises to [-1, 1] (eps 0), then relu / silu
    Tensor x = t64({-1.0, 1.0}).reshape({2, 1});
    CHECK_THAT(batch_norm_act(NormAct::Relu, x, {}, {}, {}, {}, true, 0.1, 0.0),
               ClosesTo(t64({0.0, 1.0}).reshape({2, 1})));
    const double s1 = 1 / (1 + std::exp(-1.0));  // sigmoid(1)
    CHECK_THAT(batch_norm_act(NormAct::Silu, x, {}, {}, {}, {}, true, 0.1, 0.0),
               ClosesTo(t64({-(1 - s1), s1}).reshape({2, 1}), 1e-12));
    // the node is named after the fused op, and its errors too
    CHECK(batch_norm_act(NormAct::Relu, x.requires_grad_(), {}, {}, {}, {}, true).grad_fn()->name == "batch_norm_relu");
    CHECK_THROWS_WITH(batch_norm_act(NormAct::Silu, randn({3}), {}, {}, {}, {}, true),
                      Catch::Matchers::Contains("batch_norm_silu") && Catch::Matchers::Contains("[3]"));

    // equal to the two ops, outputs and every gradient, train and eval, in float64
    Generator gen(5);
    for (NormAct act : {NormAct::Relu, NormAct::Silu}) {
        for (bool training : {true, false}) {
            INFO("act " << static_cast<int>(act) << " training " << training);
            Tensor xs = randn({3, 4, 5, 2}, {.dtype = kFloat64}, &gen),
                   gy = randn({3, 4, 5, 2}, {.dtype = kFloat64}, &gen);
            Tensor w = (rand({4}, {.dtype = kFloat64}, &gen) + 0.5), b = randn({4}, {.dtype = kFloat64}, &gen);
            auto run = [&](bool fused) {
                Tensor xi = xs.clone().requires_grad_(), wi = w.clone().requires_grad_(),
                       bi = b.clone().requires_grad_();
                Tensor rm = zeros({4}, {.dtype = kFloat64}), rv = ones({4}, {.dtype = kFloat64});
                Tensor y = fused ? batch_norm_act(act, xi, rm, rv, wi, bi, training)
                                 : (act == NormAct::Relu ? relu(batch_norm(xi, rm, rv, wi, bi, training))
                                                         : silu(batch_norm(xi, rm, rv, wi, bi, training)));
                y.backward(gy);
                return std::vector<Tensor>{y, xi.grad(), wi.grad(), bi.grad(), rm, rv};
            };
            const auto fused = run(true), plain = run(false);
            for (size_t i = 0; i < fused.size(); ++i) {
                INFO("output " << i);
                REQUIRE_THAT(fused[i], ClosesTo(plain[i], 1e-12, 1e-12));
            }
            Tensor m = zeros({4}, {.dtype = kFloat64}), v = ones({4}, {.dtype = kFloat64});
            REQUIRE(gradcheck(
                [&](const std::vector<Tensor>& in) {
                    Tensor mc = m.clone(), vc = v.clone();
                    return batch_norm_act(act, in[0], mc, vc, in[1], in[2], training);
                },
                {xs, w, b}));
        }
    }
}

TEST_CASE("batch_norm: errors name the op and the shapes", "[ops][batch_norm][errors]") {
    Tensor x = randn({1, 3, 1, 1});
    Tensor rm = zeros({3}), rv = ones({3});
    REQUIRE_THROWS_WITH(batch_norm(x, rm, rv, {}, {}, true),
                        "batch_norm: expected more than 1 value per channel when training, got input [1, 3, 1, 1]");
    REQUIRE_NOTHROW(batch_norm(x, rm, rv, {}, {}, false));  // eval is fine with one value per channel
    REQUIRE_THROWS_WITH(batch_norm(randn({2, 3, 4}), rm, rv, ones({4}), {}, true),
                        "batch_norm: weight [4] does not match the 3 channels of input [2, 3, 4]");
    REQUIRE_THROWS_WITH(batch_norm(randn({2, 3, 4}), zeros({2}), rv, {}, {}, true),
                        "batch_norm: running_mean [2] does not match the 3 channels of input [2, 3, 4]");
    REQUIRE_THROWS_WITH(batch_norm(randn({2, 3}), {}, {}, {}, {}, false),
                        "batch_norm: running_mean and running_var must be defined in eval mode (input [2, 3])");
    REQUIRE_THROWS_WITH(batch_norm(randn({6}), {}, {}, {}, {}, true), "batch_norm: expected input [N, C, *], got [6]");
    REQUIRE_THROWS_AS(batch_norm(randn({2, 3}), {}, {}, ones({3}, {.dtype = kFloat64}), {}, true), TypeError);
}

TEST_CASE("group_norm: PyTorch golden values, gradcheck, errors", "[ops][group_norm]") {
    for (auto [name, groups, eps] : {std::tuple{"gn_affine", 3, 1e-5}, std::tuple{"gn_noaffine", 2, 1e-3}}) {
        INFO(name);
        const TensorMap g = load_fixture(std::string("norm/") + name);
        Tensor x = g.at("x").clone().requires_grad_();
        Tensor w = g.count("w") ? g.at("w").clone().requires_grad_() : Tensor();
        Tensor b = g.count("b") ? g.at("b").clone().requires_grad_() : Tensor();
        Tensor y = group_norm(x, groups, w, b, eps);
        y.backward(g.at("gy"));
        REQUIRE_THAT(y, ClosesTo(g.at("y"), 1e-10));
        REQUIRE_THAT(x.grad(), ClosesTo(g.at("gx"), 1e-10));
        if (w.defined()) {
            REQUIRE_THAT(w.grad(), ClosesTo(g.at("gw"), 1e-10));
            REQUIRE_THAT(b.grad(), ClosesTo(g.at("gb"), 1e-10));
        }
        Tensor x32 = g.at("x").to(kFloat32);  // the float32 (cpu kernel) path
        Tensor w32 = w.defined() ? w.to(kFloat32) : Tensor(), b32 = b.defined() ? b.to(kFloat32) : Tensor();
        REQUIRE_THAT(group_norm(x32, groups, w32, b32, eps), ClosesTo(g.at("y"), 1e-5));
    }
    // C groups is instance norm: every (n, c) plane has zero mean
    Tensor x = randn({2, 4, 3}, {.dtype = kFloat64});
    REQUIRE_THAT(group_norm(x, 4).mean({2}), ClosesTo(zeros({2, 4}, {.dtype = kFloat64}), 1e-12));
    Tensor w = t64({0.5, 1.5, 1.0, 2.0}).requires_grad_(), b = t64({0.1, -0.2, 0.3, 0}).requires_grad_();
    REQUIRE(gradcheck([](const std::vector<Tensor>& in) { return group_norm(in[0], 2, in[1], in[2], 1e-3); },
                      {x.requires_grad_(), w, b}));
    REQUIRE_THROWS_WITH(group_norm(randn({2, 6, 3}), 4),
                        "group_norm: expected the 6 channels of input [2, 6, 3] to be divisible by num_groups=4");
    REQUIRE_THROWS_WITH(group_norm(randn({2, 6, 3}), 3, ones({3})),
                        "group_norm: weight [3] does not match the 6 channels of input [2, 6, 3]");
}
