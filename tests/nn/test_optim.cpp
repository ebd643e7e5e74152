// tests/nn/test_optim.cpp — nn/optim: SGD, Adam, AdamW against PyTorch 1.13 (tests/fixtures/make_optim.py) in float64
// and float32, hand-computed first steps, the fused kernels of the cpu backend against the reference ones, strided
// parameters, zero_grad, the state_dict through a safetensors file, clip_grad_norm_/clip_grad_value_, and the errors.

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include "nn/optim/optim.h"
#include "ops/optim.h"
#include "support/support.h"

namespace {

using Catch::Matchers::Contains;
using namespace nabla::optim;

// Keep in step with OPTIMIZER_CASES in tests/fixtures/make_optim.py.
std::unique_ptr<Optimizer> make_case(const std::string& name, const std::vector<Tensor>& p) {
    if (name == "sgd") return std::make_unique<SGD>(p, SGDOptions{.lr = 0.1});
    if (name == "sgd_nesterov_wd")
        return std::make_unique<SGD>(p,
                                     SGDOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
    if (name == "sgd_dampening_maximize")
        return std::make_unique<SGD>(
            p, SGDOptions{.lr = 0.05, .momentum = 0.8, .dampening = 0.3, .weight_decay = 1e-3, .maximize = true});
    if (name == "sgd_groups")
        return std::make_unique<SGD>(
            std::vector<ParamGroup>{ParamGroup({p[0]}, {.lr = 0.2, .weight_decay = 0.0}), ParamGroup({p[1], p[2]})},
            SGDOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4});
    if (name == "adam") return std::make_unique<Adam>(p, AdamOptions{.lr = 0.01});
    if (name == "adam_amsgrad_wd")
        return std::make_unique<Adam>(
            p, AdamOptions{.lr = 0.02, .betas = {0.8, 0.95}, .eps = 1e-6, .weight_decay = 0.1, .amsgrad = true});
    if (name == "adamw") return std::make_unique<AdamW>(p, AdamWOptions{.lr = 0.01});
    if (name == "adamw_amsgrad_maximize")
        return std::make_unique<AdamW>(p, AdamWOptions{.lr = 0.03, .amsgrad = true, .maximize = true});
    if (name == "adamw_groups")
        return std::make_unique<AdamW>(
            std::vector<ParamGroup>{ParamGroup({p[0], p[2]}, {.weight_decay = 0.0}),
                                    ParamGroup({p[1]}, {.lr = 0.003, .betas = std::array<double, 2>{0.85, 0.99}})},
            AdamWOptions{.lr = 0.01, .weight_decay = 5e-2});
    FAIL("unknown case " << name);
    return nullptr;
}

const std::vector<std::string> kCases = {"sgd",
                                         "sgd_nesterov_wd",
                                         "sgd_dampening_maximize",
                                         "sgd_groups",
                                         "adam",
                                         "adam_amsgrad_wd",
                                         "adamw",
                                         "adamw_amsgrad_maximize",
                                         "adamw_groups"};

bool bitwise_equal(const Tensor& a, const Tensor& b) {  // on any devices
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    const Tensor x = a.to(kCPU).contiguous(), y = b.to(kCPU).contiguous();
    return std::memcmp(x.raw_data(), y.raw_data(), x.numel() * element_size(x.dtype())) == 0;
}

Tensor leaf(const Tensor& t) { return t.detach().clone().requires_grad_(); }

}  // namespace

TEST_CASE("optim: SGD, Adam, AdamW match PyTorch 1.13 over five steps in float64 and float32", "[nn][optim]") {
    for (const auto& name : kCases)
        for (const std::string suffix : {"f64", "f32"}) {
            INFO(name << "_" << suffix);
            const TensorMap g = load_fixture("optim/" + name + "_" + suffix);
            std::vector<Tensor> p;
            for (int k = 0; k < 3; ++k) p.push_back(leaf(g.at(fmt::format("param.{}", k))));
            auto opt = make_case(name, p);
            // float64 differs from torch only by the FMA of its vectorised add-with-alpha; float32 by a few ulp
            const double atol = suffix == "f64" ? 1e-14 : 1e-6, rtol = suffix == "f64" ? 1e-12 : 1e-5;
            for (int s = 1; s <= 5; ++s) {
                for (int k = 0; k < 3; ++k) {
                    auto it = g.find(fmt::format("grad.{}.{}", s, k));
                    p[k].set_grad(it == g.end() ? Tensor() : it->second.clone());  // absent: no gradient, skipped
                }
                opt->step();
                for (int k = 0; k < 3; ++k) {
                    INFO("step " << s << ", parameter " << k);
                    REQUIRE(p[k].dtype() == (suffix == "f64" ? kFloat64 : kFloat32));
                    REQUIRE_THAT(p[k], ClosesTo(g.at(fmt::format("param.{}.{}", s, k)), atol, rtol));
                }
            }
            if (name == "adamw")  // parameter 1 had no gradient at step 3: 4 steps counted, the others 5
                REQUIRE(opt->state(p[1]).at("step").item<double>() == 4.0);
        }
}

TEST_CASE("optim: first steps by hand", "[nn][optim]") {
    SECTION("SGD with momentum: buf = g, then 0.9 buf + g") {
        Tensor p = leaf(t64({1.0, -2.0}));
        SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
        p.set_grad(t64({1.0, 0.5}));
        opt.step();  // buf = [1, 0.5]
        REQUIRE_THAT(p, ClosesTo(t64({0.9, -2.05}), 1e-15));
        opt.step();  // buf = [1.9, 0.95]
        REQUIRE_THAT(p, ClosesTo(t64({0.71, -2.145}), 1e-15));
        REQUIRE_THAT(opt.state(p).at("momentum_buffer"), ClosesTo(t64({1.9, 0.95}), 1e-15));
        opt.param_groups()[0].lr = 1.0;  // a changed group lr takes effect at the next step
        opt.step();                      // buf = [2.71, 1.355]
        REQUIRE_THAT(p, ClosesTo(t64({0.71 - 2.71, -2.145 - 1.355}), 1e-14));
    }
    SECTION("Adam's first step moves each element by lr * g / (|g| + eps)") {
        Tensor p = leaf(t64({1.0, 1.0, 1.0}));
        Adam opt({p}, {.lr = 0.01});
        p.set_grad(t64({2.0, -0.5, 0.0}));
        opt.step();
        REQUIRE_THAT(p, ClosesTo(t64({1.0 - 0.01 * 2 / (2 + 1e-8), 1.0 + 0.01 * 0.5 / (0.5 + 1e-8), 1.0}), 1e-15));
        REQUIRE(opt.state(p).at("step").item<double>() == 1.0);
        REQUIRE(opt.state(p).at("step").dtype() == kFloat32);
        REQUIRE_THAT(opt.state(p).at("exp_avg"), ClosesTo(t64({0.2, -0.05, 0.0}), 1e-15));
        REQUIRE_THAT(opt.state(p).at("exp_avg_sq"), ClosesTo(t64({0.004, 0.00025, 0.0}), 1e-15));
    }
    SECTION("AdamW decays the weight before the step; a zero gradient leaves only the decay") {
        Tensor p = leaf(t64({2.0}));
        AdamW opt({p}, {.lr = 0.1, .weight_decay = 0.5});
        p.set_grad(t64({0.0}));
        opt.step();
        REQUIRE_THAT(p, ClosesTo(t64({2.0 * (1 - 0.1 * 0.5)}), 1e-15));
    }
    SECTION("a parameter without a gradient is skipped and gets no state") {
        Tensor a = leaf(t64({1.0})), b = leaf(t64({1.0}));
        Adam opt({a, b}, {.lr = 0.1});
        a.set_grad(t64({1.0}));
        opt.step();
        REQUIRE(a.item<double>() < 1.0);
        REQUIRE(b.item<double>() == 1.0);
        REQUIRE(opt.state(b).empty());
    }
}

TEST_CASE("optim: the cpu kernels give the reference kernels' bits", "[nn][optim][backends]") {
    STATIC_REQUIRE(cpu_implements<&CpuBackend::sgd_step>);
    STATIC_REQUIRE(cpu_implements<&CpuBackend::adam_step>);
    STATIC_REQUIRE(cpu_implements<&CpuBackend::ema_update>);
    const int64_t n = 100003;  // odd, and large enough for every thread to take a piece
    Generator gen(3);
    for (DType dtype : {kFloat32, kFloat64}) {
        INFO(dtype_name(dtype));
        const Tensor p0 = randn({n}, {.dtype = dtype}, &gen), g0 = randn({n}, {.dtype = dtype}, &gen);
        const Tensor m0 = randn({n}, {.dtype = dtype}, &gen), v0 = rand({n}, {.dtype = dtype}, &gen);
        const Tensor vmax0 = rand({n}, {.dtype = dtype}, &gen);
        // the fast kernel on each device (cuda where cuda_has_kernel) against the reference kernel on the cpu
        auto both = [&](bool cuda_has_kernel, auto&& kernel, std::vector<Tensor> state) {
            std::vector<Tensor> ref;
            for (auto& t : state) ref.push_back(t.clone());
            with_kernels(Kernels::reference, [&] {
                REQUIRE(backend_for(kCPU).name() == "reference");
                kernel(backend_for(kCPU), ref);
                return 0;
            });
            for (Device d : fast_devices(cuda_has_kernel)) {
                INFO("device " << d.str());
                std::vector<Tensor> fast;
                for (auto& t : state) fast.push_back(t.clone().to(d));
                kernel(backend_for(d), fast);
                for (size_t i = 0; i < state.size(); ++i) {
                    REQUIRE(!bitwise_equal(fast[i], state[i]) == (i == 0 || i >= 2));  // param and state changed
                    REQUIRE(bitwise_equal(fast[i], ref[i]));
                }
            }
        };
        constexpr bool cuda_sgd = cuda_implements<&CudaBackend::sgd_step>;
        constexpr bool cuda_adam = cuda_implements<&CudaBackend::adam_step>;
        constexpr bool cuda_ema = cuda_implements<&CudaBackend::ema_update>;
        for (bool nesterov : {false, true})
            for (bool first : {false, true})
                for (bool maximize : {false, true}) {
                    SgdStepArgs a{.lr = 0.05,
                                  .momentum = 0.9,
                                  .dampening = nesterov ? 0.0 : 0.2,
                                  .weight_decay = 1e-3,
                                  .nesterov = nesterov,
                                  .maximize = maximize,
                                  .first_step = first};
                    both(cuda_sgd, [&](Backend& b, std::vector<Tensor>& t) { b.sgd_step(t[0], t[1], t[2], a); },
                         {p0, g0, m0});
                    both(cuda_sgd, [&](Backend& b, std::vector<Tensor>& t) { b.sgd_step(t[0], t[1], Tensor(), a); },
                         {p0, g0});
                }
        for (bool decoupled : {false, true})
            for (bool maximize : {false, true}) {
                AdamStepArgs a{.lr = 0.01,
                               .beta1 = 0.8,
                               .beta2 = 0.99,
                               .eps = 1e-6,
                               .weight_decay = 0.1,
                               .step = 3,
                               .decoupled_weight_decay = decoupled,
                               .maximize = maximize};
                both(cuda_adam,
                     [&](Backend& b, std::vector<Tensor>& t) { b.adam_step(t[0], t[1], t[2], t[3], Tensor(), a); },
                     {p0, g0, m0, v0});
                both(cuda_adam,
                     [&](Backend& b, std::vector<Tensor>& t) { b.adam_step(t[0], t[1], t[2], t[3], t[4], a); },
                     {p0, g0, m0, v0, vmax0});
            }
        both(cuda_ema, [&](Backend& b, std::vector<Tensor>& t) { b.ema_update(t[0], t[1], 0.7); }, {p0, g0});
    }
}

TEST_CASE("optim: a strided parameter is updated as its contiguous copy would be", "[nn][optim]") {
    const Tensor base = randn({5, 3}, {.dtype = kFloat64}), grad = randn({3, 5}, {.dtype = kFloat64});
    Tensor strided = base.clone().t().requires_grad_();  // a [3, 5] leaf view with strides [1, 3]
    REQUIRE(!strided.is_contiguous());
    Tensor dense = leaf(base.t().contiguous());
    Adam a({strided}, {.lr = 0.1, .amsgrad = true}), b({dense}, {.lr = 0.1, .amsgrad = true});
    for (int s = 0; s < 3; ++s) {
        strided.set_grad(grad * double(s + 1));
        dense.set_grad(grad * double(s + 1));
        a.step();
        b.step();
    }
    REQUIRE(bitwise_equal(strided.contiguous(), dense));
    REQUIRE(!bitwise_equal(dense, base.t().contiguous()));
}

TEST_CASE("optim: zero_grad sets gradients to none, or to zeros", "[nn][optim]") {
    Tensor a = leaf(ones({2})), b = leaf(ones({3}));
    SGD opt({a, b}, {.lr = 0.1});
    a.set_grad(ones({2}));
    b.set_grad(ones({3}));
    opt.zero_grad(false);
    REQUIRE_THAT(a.grad(), ClosesTo(zeros({2}), 0.0, 0.0));
    REQUIRE_THAT(b.grad(), ClosesTo(zeros({3}), 0.0, 0.0));
    opt.zero_grad();
    REQUIRE(!a.grad().defined());
    REQUIRE(!b.grad().defined());
}

TEST_CASE("optim: state_dict through a safetensors file resumes bitwise", "[nn][optim][io]") {
    TempDir dir;
    Generator gen(5);
    const std::vector<Tensor> init = {randn({4, 3}, {}, &gen), randn({6}, {}, &gen),
                                      randn({2, 2}, {.dtype = kFloat64}, &gen)};
    std::vector<std::vector<Tensor>> grads;
    for (int s = 0; s < 7; ++s)
        grads.push_back({randn({4, 3}, {}, &gen), randn({6}, {}, &gen), randn({2, 2}, {.dtype = kFloat64}, &gen)});
    auto run = [&](Optimizer& opt, const std::vector<Tensor>& p, int from, int to) {
        for (int s = from; s < to; ++s) {
            for (size_t k = 0; k < p.size(); ++k) p[k].set_grad(s == 1 && k == 1 ? Tensor() : grads[s][k].clone());
            opt.step();
        }
    };
    auto make = [](const std::string& kind, const std::vector<Tensor>& p) -> std::unique_ptr<Optimizer> {
        std::vector<ParamGroup> groups{ParamGroup({p[0], p[2]}, {.weight_decay = 0.0}),
                                       ParamGroup({p[1]}, {.lr = 0.02})};
        if (kind == "SGD")
            return std::make_unique<SGD>(std::move(groups), SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true});
        return std::make_unique<AdamW>(std::move(groups), AdamWOptions{.lr = 0.01, .amsgrad = true});
    };
    for (const std::string kind : {"SGD", "AdamW"}) {
        INFO(kind);
        std::vector<Tensor> pa;
        for (const auto& t : init) pa.push_back(leaf(t));
        auto a = make(kind, pa);
        run(*a, pa, 0, 3);
        a->param_groups()[1].lr = 0.005;  // a hyperparameter changed by hand travels with the state
        const TensorMap sd = a->state_dict();
        if (kind == "AdamW") {
            REQUIRE(sd.at("state.0.step").item<double>() == 3.0);
            REQUIRE(sd.at("state.1.step").item<double>() == 3.0);  // p[2], the second parameter of group 0
            REQUIRE(sd.at("state.2.step").item<double>() == 2.0);  // p[1], group 1, had no gradient at step 1
            REQUIRE(sd.at("state.2.step").dtype() == kFloat32);
            REQUIRE(sd.at("state.0.max_exp_avg_sq").shape() == Shape{4, 3});
            REQUIRE(sd.at("param_groups.0.betas").shape() == Shape{2});
            REQUIRE(sd.at("param_groups.0.amsgrad").item<bool>());
        } else {
            REQUIRE(sd.count("state.0.momentum_buffer"));
            REQUIRE(sd.at("param_groups.0.nesterov").item<bool>());
        }
        REQUIRE(sd.at("param_groups.1.lr").item<double>() == 0.005);
        REQUIRE(sd.at("param_groups.1.lr").dim() == 0);
        REQUIRE(sd.at("param_groups.0.weight_decay").item<double>() == 0.0);
        REQUIRE_THAT(sd.at("param_groups.0.params"), ClosesTo(from_vector<int64_t>({0, 1}), 0.0, 0.0));
        REQUIRE_THAT(sd.at("param_groups.1.params"), ClosesTo(from_vector<int64_t>({2}), 0.0, 0.0));

        save_safetensors(dir.file(kind + ".safetensors"), sd);
        std::vector<Tensor> pb;
        for (const auto& t : pa) pb.push_back(leaf(t));
        auto b = make(kind, pb);
        b->load_state_dict(load_safetensors(dir.file(kind + ".safetensors")));
        REQUIRE(b->param_groups()[1].lr == 0.005);
        run(*a, pa, 3, 7);
        run(*b, pb, 3, 7);
        for (size_t k = 0; k < pa.size(); ++k) REQUIRE(bitwise_equal(pa[k], pb[k]));
        REQUIRE(!bitwise_equal(pa[0], init[0]));
    }
}

TEST_CASE("optim: load_state_dict checks groups, parameters, keys and shapes, and names every problem",
          "[nn][optim][io]") {
    Tensor a = leaf(randn({3})), b = leaf(randn({2, 2}));
    Adam opt({ParamGroup({a}), ParamGroup({b})}, {.lr = 0.1});
    a.set_grad(ones({3}));
    b.set_grad(ones({2, 2}));
    opt.step();
    const TensorMap good = opt.state_dict();

    Adam one_group({leaf(randn({3})), leaf(randn({2, 2}))}, {.lr = 0.1});
    REQUIRE_THROWS_WITH(
        one_group.load_state_dict(good),
        Contains("Adam.load_state_dict") && Contains("2 parameter groups in the state dict vs 1 in the optimizer"));

    TensorMap bad = good;
    bad["state.1.exp_avg"] = zeros({4});
    bad["state.0.momentum_buffer"] = zeros({3});
    bad["param_groups.0.extra"] = zeros({});
    bad.erase("param_groups.1.eps");
    bad["param_groups.1.betas"] = zeros({3}, {.dtype = kFloat64});
    Adam other({ParamGroup({leaf(randn({3}))}), ParamGroup({leaf(randn({2, 2}))})}, {.lr = 0.5});
    try {
        other.load_state_dict(bad);
        FAIL("no error");
    } catch (const ValueError& e) {
        const std::string msg = e.what();
        CHECK_THAT(msg, Contains("state.1.exp_avg: [4] vs parameter [2, 2]"));
        CHECK_THAT(msg, Contains("unexpected state.0.momentum_buffer"));
        CHECK_THAT(msg, Contains("unexpected param_groups.0.extra"));
        CHECK_THAT(msg, Contains("missing param_groups.1.eps"));
        CHECK_THAT(msg, Contains("param_groups.1.betas: [3] holds 3 values, expected 2"));
    }
    REQUIRE(other.param_groups()[0].lr == 0.5);  // untouched by the failed load
    REQUIRE(other.state(other.param_groups()[0].params[0]).empty());

    TensorMap fewer = good;
    fewer["param_groups.1.params"] = from_vector<int64_t>({1, 2});
    REQUIRE_THROWS_WITH(other.load_state_dict(fewer),
                        Contains("group 1 has 2 parameters in the state dict vs 1 in the optimizer"));
}

TEST_CASE("optim: constructor errors name the optimizer and the value", "[nn][optim]") {
    Tensor p = leaf(ones({2}));
    REQUIRE_THROWS_WITH(SGD({p}, {.lr = -1.0}), Contains("SGD: invalid learning rate: -1"));
    REQUIRE_THROWS_WITH(SGD({p}, {}), Contains("SGD: lr is required"));
    REQUIRE_THROWS_WITH(SGD({p}, {.lr = 0.1, .momentum = -0.5}), Contains("SGD: invalid momentum value: -0.5"));
    REQUIRE_THROWS_WITH(SGD({p}, {.lr = 0.1, .nesterov = true}),
                        Contains("SGD: Nesterov momentum requires a momentum"));
    REQUIRE_THROWS_WITH(Adam({p}, {.betas = {1.0, 0.999}}), Contains("Adam: invalid beta parameter at index 0: 1"));
    REQUIRE_THROWS_WITH(AdamW({p}, {.betas = {0.9, -0.1}}), Contains("AdamW: invalid beta parameter at index 1: -0.1"));
    REQUIRE_THROWS_WITH(Adam({p}, {.eps = -1e-8}), Contains("Adam: invalid epsilon value: -1e-08"));
    REQUIRE_THROWS_WITH(AdamW({p}, {.weight_decay = -0.01}), Contains("AdamW: invalid weight_decay value: -0.01"));
    REQUIRE_THROWS_WITH(Adam({ParamGroup({p}, {.lr = -0.5})}), Contains("Adam: invalid learning rate: -0.5"));
    REQUIRE_THROWS_AS(Adam({p}, {.lr = std::nan("")}), ValueError);
    REQUIRE_THROWS_WITH(Adam(std::vector<Tensor>{}), Contains("Adam: optimizer got an empty parameter list"));
    REQUIRE_THROWS_WITH(Adam({p, p}), Contains("appears more than once"));
    REQUIRE_THROWS_WITH(SGD({ParamGroup({p}), ParamGroup({p})}, {.lr = 0.1}),
                        Contains("parameter 0 of group 1 [2] appears more than once"));
    REQUIRE_THROWS_WITH(Adam({p * 2.0}), Contains("Adam: can't optimize a non-leaf tensor"));
    REQUIRE_THROWS_WITH(Adam({zeros({2}, {.dtype = kInt64})}), Contains("Adam: parameter 0 of group 0 [2] is int64"));
    Adam opt({p});
    REQUIRE_THROWS_WITH(opt.add_param_group(ParamGroup({leaf(ones({1}))}, {.betas = std::array<double, 2>{0.9, 1.5}})),
                        Contains("Adam: invalid beta parameter at index 1: 1.5"));
    REQUIRE(opt.param_groups().size() == 1);
    opt.add_param_group(ParamGroup({leaf(ones({1}))}, {.lr = 0.5}));
    REQUIRE(opt.param_groups().size() == 2);
    REQUIRE(opt.param_groups()[1].lr == 0.5);
    REQUIRE(opt.param_groups()[1].betas[1] == 0.999);  // the optimizer's default
}

TEST_CASE("optim: clip_grad_norm_ and clip_grad_value_ match PyTorch", "[nn][optim]") {
    for (const std::string suffix : {"f64", "f32"}) {
        INFO(suffix);
        const TensorMap g = load_fixture("optim/clip_" + suffix);
        const double tol = suffix == "f64" ? 1e-13 : 1e-6;
        for (const auto& [name, norm_type, max_norm] : std::vector<std::tuple<std::string, double, double>>{
                 {"l2", 2.0, 1.0}, {"l1", 1.0, 2.5}, {"l3", 3.0, 100.0}, {"inf", INFINITY, 0.5}}) {
            INFO(name);
            std::vector<Tensor> p;
            for (int k = 0; k < 3; ++k) {
                p.push_back(leaf(zeros_like(g.at(fmt::format("grad.{}", k)))));
                p.back().set_grad(g.at(fmt::format("grad.{}", k)).clone());
            }
            const Tensor total = clip_grad_norm_(p, max_norm, norm_type);
            REQUIRE(total.dim() == 0);
            REQUIRE_THAT(total, ClosesTo(g.at("total." + name), tol, tol));
            for (int k = 0; k < 3; ++k)
                REQUIRE_THAT(p[k].grad(), ClosesTo(g.at(fmt::format("clipped.{}.{}", name, k)), tol, tol));
        }
        std::vector<Tensor> p;
        for (int k = 0; k < 3; ++k) {
            p.push_back(leaf(zeros_like(g.at(fmt::format("grad.{}", k)))));
            p.back().set_grad(g.at(fmt::format("grad.{}", k)).clone());
        }
        clip_grad_value_(p, 0.3);
        for (int k = 0; k < 3; ++k) REQUIRE_THAT(p[k].grad(), ClosesTo(g.at(fmt::format("value.{}", k)), 0.0, 0.0));
    }
}

TEST_CASE("optim: clip_grad_norm_ by hand, without gradients, and with a non-finite norm", "[nn][optim]") {
    Tensor a = leaf(zeros({2})), b = leaf(zeros({1})), none = leaf(zeros({3}));
    a.set_grad(t32({3.0f, 0.0f}));
    b.set_grad(t32({4.0f}));
    const Tensor total = clip_grad_norm_({a, b, none}, 1.0);  // |(3, 0, 4)| = 5: scaled by 1 / (5 + 1e-6)
    REQUIRE(total.item<float>() == 5.0f);
    REQUIRE_THAT(a.grad(), ClosesTo(t32({0.6f, 0.0f}), 1e-6));
    REQUIRE_THAT(b.grad(), ClosesTo(t32({0.8f}), 1e-6));
    REQUIRE(!none.grad().defined());
    REQUIRE(clip_grad_norm_({a, b}, 10.0).item<float>() == Approx(1.0f));  // below max_norm: unchanged
    REQUIRE_THAT(b.grad(), ClosesTo(t32({0.8f}), 1e-6));
    REQUIRE(clip_grad_norm_({none}, 1.0).item<double>() == 0.0);

    b.set_grad(t32({INFINITY}));
    REQUIRE_THROWS_WITH(clip_grad_norm_({a, b}, 1.0, 2.0, true),
                        Contains("clip_grad_norm_: the total norm of order 2 of the gradients of 2 parameters is inf"));
    REQUIRE(b.grad().item<float>() == INFINITY);  // nothing was scaled
}

TEST_CASE("fused optimizer ops: a mismatched gradient or state names the op, the argument and both shapes",
          "[optim][errors]") {
    const Tensor p = zeros({3, 4});
    REQUIRE_THROWS_WITH(sgd_step_(p, zeros({4, 3}), Tensor(), {.lr = 0.1}),
                        Catch::Contains("sgd_step_: grad [4, 3] does not match the parameter [3, 4]"));
    REQUIRE_THROWS_WITH(adam_step_(p, zeros({3, 4}), zeros({3, 4}, {.dtype = kFloat64}), zeros({3, 4}), Tensor(), {}),
                        Catch::Contains("adam_step_: exp_avg is float64, the parameter float32"));
    REQUIRE_THROWS_WITH(ema_update_(p, zeros({4, 3}).t(), 0.9),
                        Catch::Contains("ema_update_: model [3, 4] must be contiguous"));
}
