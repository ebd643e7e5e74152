// tests/nn/test_lr_scheduler.cpp — nn/optim/lr_scheduler.h: the lr (and OneCycleLR's momentum) sequences of every
// scheduler against PyTorch 1.13 (tests/fixtures/make_optim.py), equal to the last bit as the arithmetic is torch's;
// state_dict through a safetensors file; and the errors.

#include <cmath>
#include <filesystem>
#include <memory>

#include "nn/optim/optim.h"
#include "support/support.h"

namespace {

using Catch::Matchers::Contains;
using namespace nabla::optim;

// Two groups with lr 0.1 and 0.02, as two_groups_sgd in make_optim.py.
std::unique_ptr<SGD> two_groups_sgd(double momentum = 0) {
    return std::make_unique<SGD>(std::vector<ParamGroup>{ParamGroup({zeros({2}).requires_grad_()}),
                                                         ParamGroup({zeros({3}).requires_grad_()}, {.lr = 0.02})},
                                 SGDOptions{.lr = 0.1, .momentum = momentum});
}

std::unique_ptr<Adam> two_groups_adam() {
    return std::make_unique<Adam>(
        std::vector<ParamGroup>{ParamGroup({zeros({2}).requires_grad_()}), ParamGroup({zeros({3}).requires_grad_()})},
        AdamOptions{.lr = 1e-3});
}

struct Sequence {
    Tensor lr, momentum;  // [steps + 1, groups]
};

// get_last_lr() (and each group's momentum or beta1) after the constructor and after each of `steps` steps.
Sequence run(Optimizer& opt, LRScheduler& sched, int steps) {
    std::vector<double> lrs, moms;
    auto record = [&] {
        for (double lr : sched.get_last_lr()) lrs.push_back(lr);
        for (const auto& g : opt.param_groups()) moms.push_back(opt.has_betas() ? g.betas[0] : g.momentum);
    };
    record();
    for (int s = 0; s < steps; ++s) {
        opt.step();
        sched.step();
        record();
    }
    const int64_t groups = static_cast<int64_t>(opt.param_groups().size());
    return {t64(lrs, {steps + 1, groups}), t64(moms, {steps + 1, groups})};
}

// The arithmetic is torch's, operation by operation: allow only a few ulp in case of another libm.
ClosesTo same_as(const Tensor& expected) { return ClosesTo(expected, 0.0, 1e-14); }

}  // namespace

TEST_CASE("lr_scheduler: StepLR, MultiStepLR, CosineAnnealingLR, LinearLR, LambdaLR match PyTorch over 30 steps",
          "[nn][optim][lr_scheduler]") {
    using Make = std::function<std::unique_ptr<LRScheduler>(Optimizer&)>;
    const std::vector<std::pair<std::string, Make>> cases = {
        {"step", [](Optimizer& o) { return std::make_unique<StepLR>(o, 7, 0.5); }},
        {"multistep",
         [](Optimizer& o) {
             return std::make_unique<MultiStepLR>(o, std::vector<int64_t>{12, 5, 20, 12}, 0.3);
         }},
        {"cosine", [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 10, 0.001); }},
        {"cosine_resume",
         [](Optimizer& o) {
             o.param_groups()[0].initial_lr = 0.3;
             o.param_groups()[1].initial_lr = 0.05;
             return std::make_unique<CosineAnnealingLR>(o, 12, 0.0, 4);
         }},
        {"linear",
         [](Optimizer& o) {
             return std::make_unique<LinearLR>(o, LinearLROptions{.start_factor = 0.25, .total_iters = 8});
         }},
        {"linear_decay",
         [](Optimizer& o) {
             return std::make_unique<LinearLR>(
                 o, LinearLROptions{.start_factor = 1.0, .end_factor = 0.1, .total_iters = 10});
         }},
        {"lambda",
         [](Optimizer& o) { return std::make_unique<LambdaLR>(o, [](int64_t e) { return std::pow(0.95, e); }); }},
        {"lambda_per_group",
         [](Optimizer& o) {
             return std::make_unique<LambdaLR>(
                 o, std::vector<LambdaLR::Lambda>{[](int64_t e) { return 1.0 / (e + 1); },
                                                  [](int64_t e) { return std::pow(0.9, e); }});
         }},
    };
    for (const auto& [name, make] : cases) {
        INFO(name);
        auto opt = two_groups_sgd();
        auto sched = make(*opt);
        const TensorMap g = load_fixture("optim/sched_" + name);
        REQUIRE_THAT(run(*opt, *sched, 30).lr, same_as(g.at("lr")));
        REQUIRE(sched->last_epoch() == (name == "cosine_resume" ? 35 : 30));
        REQUIRE(opt->param_groups()[0].lr == sched->get_last_lr()[0]);
    }
}

TEST_CASE("lr_scheduler: the constructor records initial_lr and takes the first step", "[nn][optim][lr_scheduler]") {
    auto opt = two_groups_sgd();
    LinearLR sched(*opt, {.start_factor = 0.5, .total_iters = 2});
    REQUIRE(sched.last_epoch() == 0);
    REQUIRE(opt->param_groups()[0].initial_lr == 0.1);
    REQUIRE(opt->param_groups()[1].initial_lr == 0.02);
    REQUIRE(sched.base_lrs() == std::vector<double>{0.1, 0.02});
    REQUIRE(sched.get_last_lr() == std::vector<double>{0.05, 0.01});  // epoch 0: lr * start_factor
    sched.step();
    REQUIRE(sched.get_last_lr()[0] == Approx(0.075));
    sched.step();
    REQUIRE(sched.get_last_lr()[0] == Approx(0.1));
}

TEST_CASE("lr_scheduler: OneCycleLR matches PyTorch, lr and momentum (SGD) or beta1 (Adam)",
          "[nn][optim][lr_scheduler]") {
    SECTION("SGD, two phases, cos") {
        const TensorMap g = load_fixture("optim/sched_onecycle_sgd");
        auto opt = two_groups_sgd(0.9);
        OneCycleLR sched(*opt, {.max_lr = 0.1, .total_steps = 30});
        const Sequence s = run(*opt, sched, 30);
        REQUIRE_THAT(s.lr, same_as(g.at("lr")));
        REQUIRE_THAT(s.momentum, same_as(g.at("momentum")));
        REQUIRE(opt->param_groups()[0].initial_lr == 0.1 / 25);
        // epochs * steps_per_epoch instead of total_steps: the same schedule
        auto opt2 = two_groups_sgd(0.9);
        OneCycleLR sched2(*opt2, {.max_lr = 0.1, .epochs = 3, .steps_per_epoch = 10});
        REQUIRE_THAT(run(*opt2, sched2, 30).lr, same_as(g.at("lr")));
    }
    SECTION("Adam, three phases, linear") {
        const TensorMap g = load_fixture("optim/sched_onecycle_adam");
        auto opt = two_groups_adam();
        OneCycleLR sched(*opt, {.max_lr = 0.01,
                                .total_steps = 30,
                                .pct_start = 0.25,
                                .anneal_strategy = AnnealStrategy::linear,
                                .base_momentum = 0.8,
                                .max_momentum = 0.9,
                                .div_factor = 10,
                                .final_div_factor = 100,
                                .three_phase = true});
        const Sequence s = run(*opt, sched, 30);
        REQUIRE_THAT(s.lr, same_as(g.at("lr")));
        REQUIRE_THAT(s.momentum, same_as(g.at("momentum")));
        REQUIRE(opt->param_groups()[1].betas[1] == 0.999);  // beta2 untouched
    }
    SECTION("stepping past total_steps is an error") {
        auto opt = two_groups_sgd(0.9);
        OneCycleLR sched(*opt, {.max_lr = 0.1, .total_steps = 5});
        for (int s = 0; s < 4; ++s) sched.step();
        REQUIRE(sched.get_last_lr()[0] == Approx(0.1 / 25 / 1e4));  // step total_steps - 1 ends at min_lr
        sched.step();  // torch allows one more, extrapolating the last phase (to 0.0188258346050237)
        REQUIRE(sched.get_last_lr()[0] == Approx(0.0188258346050237).epsilon(1e-12));
        REQUIRE_THROWS_WITH(sched.step(),
                            Contains("OneCycleLR: tried to step 7 times. The specified number of total steps is 5"));
    }
}

TEST_CASE("lr_scheduler: ReduceLROnPlateau matches PyTorch on a metric sequence", "[nn][optim][lr_scheduler]") {
    const std::vector<std::pair<std::string, ReduceLROnPlateauOptions>> cases = {
        {"plateau_min", {.mode = PlateauMode::min, .factor = 0.5, .patience = 2, .threshold = 0.01, .cooldown = 1}},
        {"plateau_max_abs",
         {.mode = PlateauMode::max,
          .factor = 0.2,
          .patience = 1,
          .threshold = 0.05,
          .threshold_mode = ThresholdMode::abs,
          .min_lrs = {0.01, 0.001},
          .eps = 1e-4}},
    };
    for (const auto& [name, options] : cases) {
        INFO(name);
        const TensorMap g = load_fixture("optim/sched_" + name);
        const Tensor metric = g.at("metric");
        auto opt = two_groups_sgd();
        ReduceLROnPlateau sched(*opt, options);
        std::vector<double> lrs;
        std::vector<int64_t> bad;
        for (int64_t i = 0; i < metric.numel(); ++i) {
            sched.step(metric.select(0, i).item<double>());
            for (double lr : sched.get_last_lr()) lrs.push_back(lr);
            bad.push_back(sched.num_bad_epochs());
        }
        REQUIRE_THAT(t64(lrs, g.at("lr").shape()), same_as(g.at("lr")));
        REQUIRE_THAT(from_vector(bad), ClosesTo(g.at("num_bad_epochs"), 0.0, 0.0));
        REQUIRE(opt->param_groups()[0].lr < 0.1);  // the sequence does reduce
    }
}

TEST_CASE("lr_scheduler: state_dict through a safetensors file resumes the same sequence",
          "[nn][optim][lr_scheduler][io]") {
    TempDir dir;
    using Make = std::function<std::unique_ptr<LRScheduler>(Optimizer&)>;
    const std::vector<std::pair<std::string, Make>> cases = {
        {"StepLR", [](Optimizer& o) { return std::make_unique<StepLR>(o, 4, 0.5); }},
        {"MultiStepLR",
         [](Optimizer& o) {
             return std::make_unique<MultiStepLR>(o, std::vector<int64_t>{3, 12, 12, 17});
         }},
        {"CosineAnnealingLR", [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 7, 0.01); }},
        {"OneCycleLR",
         [](Optimizer& o) {
             return std::make_unique<OneCycleLR>(o, OneCycleLROptions{.max_lr = 0.5, .total_steps = 25});
         }},
    };
    for (const auto& [name, make] : cases) {
        INFO(name);
        auto opt_a = two_groups_sgd(0.9);
        auto sched_a = make(*opt_a);
        run(*opt_a, *sched_a, 10);
        const TensorMap sd = sched_a->state_dict();
        REQUIRE(sd.at("last_epoch").item<int64_t>() == 10);
        REQUIRE(sd.at("step_count").item<int64_t>() == 11);
        REQUIRE(sd.at("base_lrs").shape() == Shape{2});
        save_safetensors(dir.file(name + "_opt.safetensors"), opt_a->state_dict());
        save_safetensors(dir.file(name + "_sched.safetensors"), sd);

        auto opt_b = two_groups_sgd(0.9);
        auto sched_b = make(*opt_b);
        opt_b->load_state_dict(load_safetensors(dir.file(name + "_opt.safetensors")));
        sched_b->load_state_dict(load_safetensors(dir.file(name + "_sched.safetensors")));
        REQUIRE(sched_b->last_epoch() == 10);
        REQUIRE(sched_b->get_last_lr() == sched_a->get_last_lr());
        const Sequence a = run(*opt_a, *sched_a, 15), b = run(*opt_b, *sched_b, 15);
        REQUIRE_THAT(b.lr, ClosesTo(a.lr, 0.0, 0.0));
        REQUIRE_THAT(b.momentum, ClosesTo(a.momentum, 0.0, 0.0));
    }
    SECTION("ReduceLROnPlateau") {
        auto opt_a = two_groups_sgd(), opt_b = two_groups_sgd();
        ReduceLROnPlateau a(*opt_a, {.mode = PlateauMode::max, .patience = 1}), b(*opt_b, {.patience = 5});
        for (double m : {1.0, 0.5, 0.4, 0.6}) a.step(m);  // a reduction, then a bad epoch
        save_safetensors(dir.file("plateau.safetensors"), a.state_dict());
        b.load_state_dict(load_safetensors(dir.file("plateau.safetensors")));  // mode and patience come along
        opt_b->load_state_dict(opt_a->state_dict());
        REQUIRE(b.best() == 1.0);
        REQUIRE(b.num_bad_epochs() == 1);
        for (double m : {0.3, 0.2, 2.0, 1.0, 0.1}) {
            a.step(m);
            b.step(m);
            REQUIRE(a.get_last_lr() == b.get_last_lr());
        }
        REQUIRE(b.get_last_lr()[0] == Approx(1e-4));  // three reductions by 0.1
    }
}

TEST_CASE("lr_scheduler: errors name the scheduler and the value", "[nn][optim][lr_scheduler]") {
    auto opt = two_groups_sgd();
    REQUIRE_THROWS_WITH(StepLR(*opt, 0), Contains("StepLR: step_size must be positive, got 0"));
    REQUIRE_THROWS_WITH(CosineAnnealingLR(*opt, 0), Contains("CosineAnnealingLR: T_max must be positive, got 0"));
    REQUIRE_THROWS_WITH(LinearLR(*opt, {.start_factor = 1.5}),
                        Contains("LinearLR: start_factor expected in (0, 1], got 1.5"));
    REQUIRE_THROWS_WITH(LinearLR(*opt, {.start_factor = 0.0}),
                        Contains("LinearLR: start_factor expected in (0, 1], got 0"));
    REQUIRE_THROWS_WITH(LambdaLR(*opt, std::vector<LambdaLR::Lambda>{[](int64_t) { return 1.0; }}),
                        Contains("LambdaLR: expected 2 lr_lambdas (one per param group), but got 1"));
    REQUIRE_THROWS_WITH(OneCycleLR(*opt, {.max_lr = 0.1}), Contains("OneCycleLR: you must define either total_steps"));
    REQUIRE_THROWS_WITH(OneCycleLR(*opt, {.max_lr = 0.1, .total_steps = 10, .pct_start = 1.5}),
                        Contains("OneCycleLR: expected float between 0 and 1 pct_start, but got 1.5"));
    REQUIRE_THROWS_WITH(ReduceLROnPlateau(*opt, {.factor = 1.0}),
                        Contains("ReduceLROnPlateau: factor should be < 1.0, got 1"));
    REQUIRE_THROWS_WITH(ReduceLROnPlateau(*opt, {.min_lrs = {0.1}}), Contains("ReduceLROnPlateau: expected 2 min_lrs"));

    auto fresh = two_groups_sgd();
    REQUIRE_THROWS_WITH(
        StepLR(*fresh, 5, 0.1, 3),
        Contains("StepLR: param 'initial_lr' is not specified in param_groups[0] when resuming an optimizer"));

    StepLR sched(*fresh, 5);
    TensorMap bad = sched.state_dict();
    bad.erase("gamma");
    bad["base_lrs"] = zeros({3}, {.dtype = kFloat64});
    bad["extra"] = zeros({});
    REQUIRE_THROWS_WITH(sched.load_state_dict(bad), Contains("StepLR.load_state_dict: ") && Contains("missing gamma") &&
                                                        Contains("base_lrs: [3] holds 3 values, expected 2") &&
                                                        Contains("unexpected extra"));
    REQUIRE(sched.base_lrs() == std::vector<double>{0.1, 0.02});  // untouched by the failed load

    fresh->add_param_group(ParamGroup({zeros({1}).requires_grad_()}));
    REQUIRE_THROWS_WITH(sched.step(),
                        Contains("StepLR.step: the optimizer has 3 param groups, the scheduler was made for 2"));
}
