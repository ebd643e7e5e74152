// tests/nn/test_prune.cpp — nn/prune.h: the channel graph read off the tape (groups, what pins them, residual ties),
// network slimming's plan (global threshold, min_keep, multiple, max_percent), the pruned state dict with the
// removed channels' constants folded into the next layer (the pruned net computes exactly what the masked net
// computed), the L1 subgradient, and YOLOv5's prunable set equal to the reference's 39 BatchNorms, pruned twice.
#include <algorithm>
#include <set>

#include "models/yolo/yolo.h"
#include "nn/conv.h"
#include "nn/fusion.h"
#include "nn/normalization.h"
#include "nn/pooling.h"
#include "nn/prune.h"
#include "support/support.h"

using namespace nabla;
using namespace nabla::nn;
using nabla::testing::ClosesTo;

namespace {

// x -> c1 (1x1) bn1 silu -> a; cat[a, maxpool(a)] -> c2 (1x1, no bias) bn2+relu -> b; c3 (1x1, bias) -> out.
// Every conv is 1x1, so a constant channel stays constant everywhere and compensation is exact.
class TwoLayer : public Module {
public:
    TwoLayer(int64_t w1, int64_t w2) : Module("TwoLayer") {
        c1 = register_module("c1", std::make_shared<Conv2d>(3, w1, 1, Conv2dArgs{.bias = false}));
        bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(w1));
        pool = register_module("pool", std::make_shared<MaxPool2d>(3, MaxPool2dArgs{.stride = 1, .padding = 1}));
        c2 = register_module("c2", std::make_shared<Conv2d>(2 * w1, w2, 1, Conv2dArgs{.bias = false}));
        bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(w2));
        c3 = register_module("c3", std::make_shared<Conv2d>(w2, 4, 1));
    }
    Tensor forward(const Tensor& x) override {
        const Tensor a = silu((*bn1)((*c1)(x)));
        const Tensor b = conv_bn_act(*c2, *bn2, NormAct::Relu, cat({a, (*pool)(a)}, 1));
        return (*c3)(b);
    }
    std::shared_ptr<Conv2d> c1, c2, c3;
    std::shared_ptr<BatchNorm2d> bn1, bn2;
    std::shared_ptr<MaxPool2d> pool;
};

// A residual: x -> stem bn -> s; s + body(s) where body = conv bn silu conv bn (the add ties stem and the second
// conv); then head reads it.
class Residual : public Module {
public:
    Residual() : Module("Residual") {
        stem = register_module("stem", std::make_shared<Conv2d>(3, 8, 3, Conv2dArgs{.padding = 1, .bias = false}));
        bn0 = register_module("bn0", std::make_shared<BatchNorm2d>(8));
        b1 = register_module("b1", std::make_shared<Conv2d>(8, 6, 1, Conv2dArgs{.bias = false}));
        bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(6));
        b2 = register_module("b2", std::make_shared<Conv2d>(6, 8, 3, Conv2dArgs{.padding = 1, .bias = false}));
        bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(8));
        head = register_module("head", std::make_shared<Conv2d>(8, 2, 1));
    }
    Tensor forward(const Tensor& x) override {
        const Tensor s = silu((*bn0)((*stem)(x)));
        const Tensor y = s + silu((*bn2)((*b2)(silu((*bn1)((*b1)(s))))));
        return (*head)(y) + y.mean();  // mean reads y's channels in a way the pruner cannot follow
    }
    std::shared_ptr<Conv2d> stem, b1, b2, head;
    std::shared_ptr<BatchNorm2d> bn0, bn1, bn2;
};

void set_vector(Tensor t, const std::vector<float>& v) {
    NoGradGuard g;
    t.copy_(t32(v, {static_cast<int64_t>(v.size())}));
}

}  // namespace

TEST_CASE("prune: the channel graph of convs, a concat and a network output", "[prune]") {
    manual_seed(0);
    TwoLayer net(8, 6);
    const ChannelGraph g = trace_channels(net, randn({1, 3, 5, 5}));
    REQUIRE(g.sources.size() == 3);
    REQUIRE(g.groups.size() == 3);
    REQUIRE(g.sources[0].conv == "c1");
    REQUIRE(g.sources[0].norm == "bn1");
    REQUIRE(g.sources[1].conv == "c2");
    REQUIRE(g.sources[1].norm == "bn2");
    REQUIRE(g.sources[1].input.size() == 2);  // a and maxpool(a): the same source twice
    REQUIRE(g.sources[1].input[0].source == 0);
    REQUIRE(g.sources[1].input[1].source == 0);
    REQUIRE(g.sources[1].input[1].ops == std::vector<std::string>{"silu"});
    REQUIRE(g.groups[2].fixed);
    REQUIRE(g.groups[2].why == "a network output");
    REQUIRE(g.prunable_norms() == std::vector<std::string>{"bn1", "bn2"});
    REQUIRE(net.is_training());  // restored
    REQUIRE(g.describe().find("a network output") != std::string::npos);
}

TEST_CASE("prune: the pruned network computes what the masked network computed", "[prune]") {
    manual_seed(1);
    TwoLayer net(8, 6);
    // γ: channels 1, 3, 5 of bn1 and 2 of bn2 are zero (the masked net); β all non-zero
    set_vector(net.bn1->weight, {0.9f, 0.0f, 0.8f, 0.0f, 0.7f, 0.0f, 0.6f, 0.5f});
    set_vector(net.bn1->bias, {0.1f, -0.4f, 0.2f, 0.7f, -0.3f, 1.2f, 0.05f, -0.2f});
    set_vector(net.bn1->running_mean, {0.1f, 0.2f, -0.1f, 0.3f, 0.0f, 0.1f, -0.2f, 0.4f});
    set_vector(net.bn1->running_var, {1.1f, 0.9f, 1.3f, 0.8f, 1.0f, 1.2f, 0.7f, 1.5f});
    set_vector(net.bn2->weight, {0.6f, 0.8f, 0.0f, 0.9f, 0.55f, 0.7f});
    set_vector(net.bn2->bias, {0.3f, -0.1f, 0.8f, 0.2f, 0.1f, -0.3f});
    set_vector(net.bn2->running_mean, {0.2f, -0.3f, 0.1f, 0.0f, 0.4f, 0.1f});
    net.eval();
    const Tensor x = randn({2, 3, 6, 6});
    Tensor masked;
    {
        NoGradGuard ng;
        masked = net(x);
    }
    const ChannelGraph g = trace_channels(net, x);
    const PrunePlan plan = plan_slimming(g, net.state_dict(), {.percent = 0.3, .min_keep = 1});
    REQUIRE(plan.keep[0] == std::vector<int64_t>{0, 2, 4, 6, 7});
    REQUIRE(plan.keep[1] == std::vector<int64_t>{0, 1, 3, 4, 5});
    REQUIRE(plan.keep[2].size() == 4);  // the output: untouched
    REQUIRE(plan.channels_before == 14);
    REQUIRE(plan.channels_after == 10);
    REQUIRE(plan.threshold == Approx(0.5));

    const TensorMap pruned = prune_state_dict(g, plan, net.state_dict());
    REQUIRE(pruned.at("c1.weight").shape() == Shape{5, 3, 1, 1});
    REQUIRE(pruned.at("bn1.running_var").shape() == Shape{5});
    REQUIRE(pruned.at("c2.weight").shape() == Shape{5, 10, 1, 1});  // both halves of the concat
    REQUIRE(pruned.at("bn2.weight").shape() == Shape{5});
    REQUIRE(pruned.at("c3.weight").shape() == Shape{4, 5, 1, 1});
    REQUIRE(pruned.at("c3.bias").shape() == Shape{4});

    TwoLayer small(5, 5);
    small.load_state_dict(pruned);
    small.eval();
    NoGradGuard ng;
    REQUIRE_THAT(small(x), ClosesTo(masked, 1e-5, 1e-5));

    SECTION("without compensation the constants are lost") {
        TwoLayer lossy(5, 5);
        lossy.load_state_dict(prune_state_dict(g, plan, net.state_dict(), /*compensate=*/false));
        lossy.eval();
        REQUIRE(max((lossy(x) - masked).abs()).item<float>() > 1e-2);
    }
}

TEST_CASE("prune: min_keep, multiple, the suggested maximum percent and the normalizer", "[prune]") {
    manual_seed(2);
    TwoLayer net(8, 6);
    set_vector(net.bn1->weight, {0.01f, 0.02f, 0.03f, 0.04f, 0.05f, 0.06f, 0.07f, 0.08f});
    set_vector(net.bn2->weight, {0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f});
    const ChannelGraph g = trace_channels(net, randn({1, 3, 4, 4}));
    // 90%: the threshold (rank 12 of 14: 0.9) would empty bn1 and leave 2 of bn2; min_keep keeps the 3 largest
    const PrunePlan plan = plan_slimming(g, net.state_dict(), {.percent = 0.9, .min_keep = 3});
    REQUIRE(plan.threshold == Approx(0.9));
    REQUIRE(plan.keep[0] == std::vector<int64_t>{5, 6, 7});
    REQUIRE(plan.keep[1] == std::vector<int64_t>{3, 4, 5});
    REQUIRE(plan.max_percent == Approx(7.0 / 14.0));  // bn1's largest, 0.08, is the 8th smallest
    const PrunePlan even = plan_slimming(g, net.state_dict(), {.percent = 0.9, .min_keep = 3, .multiple = 4});
    REQUIRE(even.keep[0].size() == 4);
    REQUIRE(even.keep[1].size() == 4);
    REQUIRE_THROWS_WITH(plan_slimming(g, net.state_dict(), {.percent = 1.0}),
                        Catch::Contains("percent must be in [0, 1)"));
    SECTION("the normalizer scales each group's scores before the global threshold") {
        // none: the 7 smallest of 14 go, all in bn1 (threshold 0.08, the 8th smallest)
        const PrunePlan none = plan_slimming(g, net.state_dict(), {.percent = 0.5, .min_keep = 1});
        REQUIRE(none.keep[0] == std::vector<int64_t>{7});
        REQUIRE(none.keep[1] == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
        // max: bn1 becomes 0.125 ... 1 in steps of 0.125, bn2 0.5 ... 1; sorted, the 8th smallest is bn2's 0.7
        const PrunePlan by_max =
            plan_slimming(g, net.state_dict(), {.percent = 0.5, .min_keep = 1, .normalizer = "max"});
        REQUIRE(by_max.threshold == Approx(0.7));
        REQUIRE(by_max.keep[0] == std::vector<int64_t>{5, 6, 7});
        REQUIRE(by_max.keep[1] == std::vector<int64_t>{2, 3, 4, 5});
        // mean: bn1 / 0.045 (0.22 ... 1.78), bn2 / 0.75 (0.67 ... 1.33); the 8th smallest is bn2's 0.8 / 0.75
        const PrunePlan by_mean =
            plan_slimming(g, net.state_dict(), {.percent = 0.5, .min_keep = 1, .normalizer = "mean"});
        REQUIRE(by_mean.threshold == Approx(0.8 / 0.75));
        REQUIRE(by_mean.keep[0] == std::vector<int64_t>{4, 5, 6, 7});
        REQUIRE(by_mean.keep[1] == std::vector<int64_t>{3, 4, 5});
        REQUIRE(by_mean.channels_after == 7);
        REQUIRE_THROWS_WITH(plan_slimming(g, net.state_dict(), {.normalizer = "sum"}),
                            Catch::Contains("normalizer must be none, mean or max") && Catch::Contains("'sum'"));
    }
}

TEST_CASE("prune: an add ties its sources into one residual group; a reduction pins what it reads", "[prune]") {
    manual_seed(3);
    Residual net;
    const ChannelGraph g = trace_channels(net, randn({1, 3, 6, 6}));
    REQUIRE(g.sources.size() == 4);  // stem, b1, b2, head
    REQUIRE(g.group_of[0] == g.group_of[2]);
    const ChannelGroup& tied = g.groups[g.group_of[0]];
    REQUIRE(tied.residual);
    REQUIRE(tied.fixed);  // the view before the head reads it
    REQUIRE(tied.why == "read by mean");
    const ChannelGroup& hidden = g.groups[g.group_of[1]];
    REQUIRE(hidden.residual);  // b1's channels live inside the residual branch
    REQUIRE_FALSE(hidden.fixed);
    REQUIRE(g.prunable_norms().empty());
    const ChannelGraph all = trace_channels(net, randn({1, 3, 6, 6}), /*prune_residual=*/true);
    REQUIRE(all.prunable_norms() == std::vector<std::string>{"bn1"});
}

TEST_CASE("prune: the L1 subgradient on γ and β", "[prune]") {
    TwoLayer net(4, 3);
    set_vector(net.bn1->weight, {0.5f, -0.2f, 0.0f, 1.0f});
    set_vector(net.bn1->bias, {0.0f, 0.3f, -0.1f, 0.2f});
    net(randn({1, 3, 4, 4})).sum().backward();
    const Tensor g0 = net.bn1->weight.grad().clone(), b0 = net.bn1->bias.grad().clone();
    add_l1_subgradient(net, {"bn1"}, 0.01, 0.1);
    REQUIRE_THAT(net.bn1->weight.grad() - g0, ClosesTo(t32({0.01f, -0.01f, 0.0f, 0.01f}, {4}), 1e-7, 0));
    REQUIRE_THAT(net.bn1->bias.grad() - b0, ClosesTo(t32({0.0f, 0.1f, -0.1f, 0.1f}, {4}), 1e-7, 0));
    REQUIRE_THROWS_WITH(add_l1_subgradient(net, {"c1"}, 0.01, 0.1), Catch::Contains("'c1' is not a BatchNorm2d"));
    REQUIRE(abs_gammas(net.state_dict(), {"bn1"}) == std::vector<double>{0.5, 0.2f, 0.0, 1.0});
}

TEST_CASE("prune: YOLOv5s's prunable BatchNorms are the reference's 39; pruned twice, it still runs", "[prune]") {
    manual_seed(4);
    models::YOLOv5Args args{.nc = 3, .depth_multiple = 0.33, .width_multiple = 0.125};
    models::YOLOv5 net("yolov5s", args);
    const ChannelGraph g = trace_channels(net, randn({1, 3, 64, 64}));
    std::set<std::string> expected;
    for (int i : {0, 1, 3, 5, 7, 10, 14, 18, 21}) expected.insert(fmt::format("model.{}.bn", i));
    expected.insert({"model.9.cv1.bn", "model.9.cv2.bn"});
    for (int i : {2, 4, 6, 8}) expected.insert({fmt::format("model.{}.cv2.bn", i), fmt::format("model.{}.cv3.bn", i)});
    for (int i : {13, 17, 20, 23})
        for (const char* c : {"cv1", "cv2", "cv3", "m.0.cv1", "m.0.cv2"})
            expected.insert(fmt::format("model.{}.{}.bn", i, c));
    const auto prunable = g.prunable_norms();
    REQUIRE(prunable.size() == 39);
    REQUIRE(std::set<std::string>(prunable.begin(), prunable.end()) == expected);

    // random |γ| so that the threshold cuts inside layers
    for (const auto& path : prunable) {
        NoGradGuard ng;
        auto* bn = dynamic_cast<BatchNorm2d*>(net.find(path));
        bn->weight.copy_(rand({bn->num_features}));
    }
    const PrunePlan plan = plan_slimming(g, net.state_dict(), {.percent = 0.5, .min_keep = 2});
    REQUIRE(plan.channels_after < plan.channels_before * 0.6);
    const TensorMap pruned = prune_state_dict(g, plan, net.state_dict());
    models::YOLOv5Args small_args = args;
    small_args.channels = models::YOLOv5::channels_from_state_dict(pruned);
    models::YOLOv5 small("yolov5s", small_args);
    small.load_state_dict(pruned);
    REQUIRE(small.num_parameters() < net.num_parameters() * 0.6);
    REQUIRE_THAT(small.state_dict().at("model.24.anchors"), ClosesTo(net.state_dict().at("model.24.anchors"), 0, 0));
    small.eval();
    net.eval();
    const Tensor x = rand({1, 3, 64, 64});
    NoGradGuard ng;
    const auto a = net.call_outputs(x), b = small.call_outputs(x);
    REQUIRE(a[0].shape() == b[0].shape());

    // a second round on the pruned network
    const ChannelGraph g2 = trace_channels(small, x);
    REQUIRE(g2.prunable_norms().size() == 39);
    const PrunePlan plan2 = plan_slimming(g2, small.state_dict(), {.percent = 0.3, .min_keep = 2});
    const TensorMap again = prune_state_dict(g2, plan2, small.state_dict());
    models::YOLOv5Args smaller_args = args;
    smaller_args.channels = models::YOLOv5::channels_from_state_dict(again);
    models::YOLOv5 smaller("yolov5s", smaller_args);
    smaller.load_state_dict(again);
    REQUIRE(smaller.num_parameters() < small.num_parameters());
    smaller.eval();
    REQUIRE(smaller.call_outputs(x)[0].shape() == a[0].shape());
}
