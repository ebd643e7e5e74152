// tests/models/test_pfld_model.cpp — models/pfld/pfld.h: the reference's state-dict keys and parameter counts, the
// three outputs' shapes, the unused bn8, clear errors for a wrong input, a narrow PFLD's outputs and every gradient
// against its PyTorch twin (tests/fixtures/make_models.py), and a few Adam steps that lower the weighted loss.
#include "models/pfld/loss.h"
#include "models/pfld/pfld.h"
#include "nn/optim/adam.h"
#include "support/support.h"

using namespace nabla::models;

namespace {
constexpr double kMiniWidth = 0.125;  // make_models.py: PFLD_MINI_ARGS
}  // namespace

TEST_CASE("PFLD: the reference's network, key for key, with its parameter counts", "[pfld]") {
    manual_seed(0);
    PFLD full;
    REQUIRE(full.backbone->num_parameters() == 1264804);  // bn8's 256 included
    REQUIRE(full.auxiliarynet->num_parameters() == 463811);
    REQUIRE(full.backbone->state_dict().size() == 261);
    REQUIRE(full.auxiliarynet->state_dict().size() == 28);
    require_keys_match(full.state_dict(), "models/pfld_keys");  // backbone.<reference key>, auxiliarynet.<...>
    const TensorMap sd = full.state_dict();
    for (const char* key :
         {"backbone.conv1.weight", "backbone.bn2.num_batches_tracked", "backbone.conv3_1.conv.3.weight",
          "backbone.block5_6.conv.7.running_var", "backbone.conv7.0.weight", "backbone.conv8.bias",
          "backbone.bn8.running_mean", "backbone.fc.bias", "auxiliarynet.conv4.0.weight", "auxiliarynet.fc2.weight"}) {
        INFO(key);
        REQUIRE(sd.count(key));
    }
    for (const char* key : {"backbone.conv1.bias", "backbone.conv3_1.conv.0.bias", "backbone.conv7.0.bias",
                            "auxiliarynet.conv1.0.bias"}) {
        INFO(key << " (the convolutions in front of BatchNorm have no bias)");
        REQUIRE_FALSE(sd.count(key));
    }
    REQUIRE(sd.at("backbone.conv3_1.conv.3.weight").shape() == Shape{128, 1, 3, 3});  // depthwise, m = 64 x 2
    REQUIRE(sd.at("backbone.conv8.weight").shape() == Shape{128, 32, 7, 7});
    REQUIRE(sd.at("backbone.fc.weight").shape() == Shape{196, 176});
    REQUIRE(sd.at("auxiliarynet.conv4.0.weight").shape() == Shape{128, 32, 7, 7});
    // The residual flags as the reference passes them: conv5_1 has none although its shapes would allow one.
    REQUIRE_FALSE(full.backbone->conv3_1->use_res_connect);
    REQUIRE(full.backbone->block3_2->use_res_connect);
    REQUIRE_FALSE(full.backbone->conv5_1->use_res_connect);
    REQUIRE(full.backbone->block5_6->use_res_connect);
    REQUIRE_FALSE(full.backbone->conv6_1->use_res_connect);
    // The narrow variant scales every width: 8, 16, 2, 4 channels at 0.125; the 196 and 3 outputs stay.
    PFLD mini({.width = kMiniWidth});
    REQUIRE(mini.state_dict().at("backbone.fc.weight").shape() == Shape{196, 2 + 4 + 16});
    REQUIRE(mini.state_dict().at("auxiliarynet.fc1.weight").shape() == Shape{4, 16});
    REQUIRE(pfld_channels(64, 0.25) == 16);
    REQUIRE(pfld_channels(16, 0.1) == 2);  // 1.6 rounds to 2
    REQUIRE(pfld_channels(16, 0.01) == 1);
    REQUIRE_THROWS_WITH(PFLD({.width = 0}), Catch::Contains("PFLD: width must be positive"));
}

TEST_CASE("PFLD: features, landmarks and angles; bn8 takes no part and gets no gradient", "[pfld]") {
    manual_seed(0);
    PFLD model;
    model.train();
    const Tensor x = rand({2, 3, 112, 112});
    const auto out = model.call_outputs(x);
    REQUIRE(out.size() == 3);
    REQUIRE(out[0].shape() == Shape{2, 64, 28, 28});
    REQUIRE(out[1].shape() == Shape{2, 196});
    REQUIRE(out[2].shape() == Shape{2, 3});
    (out[0].sum() + out[1].sum() + out[2].sum()).backward();
    // As in PyTorch, where bn8's .grad stays None: the tape never reaches bn8, so its gradient is undefined (not
    // zero) while every other parameter has one.
    const auto& bn8 = model.backbone->bn8;
    REQUIRE_FALSE(bn8->weight.grad().defined());
    REQUIRE_FALSE(bn8->bias.grad().defined());
    REQUIRE(bn8->num_batches_tracked.item<int64_t>() == 0);  // never called, so its statistics never moved
    for (const auto& [name, p] : model.named_parameters()) {
        if (name.rfind("backbone.bn8.", 0) == 0) continue;
        INFO(name);
        REQUIRE(p.grad().defined());
    }
    // forward() is the backbone's landmarks (the reference's inference path).
    NoGradGuard no_grad;
    model.eval();
    REQUIRE_THAT(model(x), ClosesTo(model.call_outputs(x)[1], 0, 0));
}

TEST_CASE("PFLD: a wrong input shape is an error naming the model and the shape", "[pfld]") {
    manual_seed(0);
    PFLD model({.width = kMiniWidth});
    NoGradGuard no_grad;
    REQUIRE_THROWS_WITH(model.call_outputs(zeros({2, 3, 96, 96})),
                        Catch::Contains("PFLD") && Catch::Contains("[2, 3, 96, 96]") && Catch::Contains("112"));
    REQUIRE_THROWS_WITH(model(zeros({3, 112, 112})), Catch::Contains("PFLD") && Catch::Contains("[3, 112, 112]"));
    REQUIRE_THROWS_WITH(model.backbone->call_outputs(zeros({1, 1, 112, 112})),
                        Catch::Contains("PFLDInference") && Catch::Contains("[1, 1, 112, 112]"));
    REQUIRE_THROWS_WITH((*model.auxiliarynet)(zeros({1, 8, 14, 14})),
                        Catch::Contains("AuxiliaryNet") && Catch::Contains("[1, 8, 14, 14]"));
}

TEST_CASE("PFLD: InvertedResidual adds its input only when told to", "[pfld]") {
    manual_seed(2);
    InvertedResidual with(4, 4, 1, true, 2), without(4, 4, 1, false, 2);
    with.eval();
    without.eval();
    NoGradGuard no_grad;
    const Tensor x = randn({1, 4, 6, 6});
    REQUIRE_THAT(with(x), ClosesTo(x + (*with.conv)(x), 0, 0));
    REQUIRE_THAT(without(x), ClosesTo((*without.conv)(x), 0, 0));
    REQUIRE(with.conv->at<nn::Conv2d>(3)->options.groups == 8);  // depthwise over the hidden 4 x 2 channels
    REQUIRE_THROWS_AS(InvertedResidual(4, 8, 1, true, 2), ValueError);
}

TEST_CASE("PFLD: the outputs and every gradient equal PyTorch's, train and eval", "[pfld]") {
    PFLD model({.width = kMiniWidth});
    model.load_state_dict(load_fixture("models/pfld_mini_weights"));
    const TensorMap io = load_fixture("models/pfld_mini_io");
    const Tensor x = io.at("input");  // [2, 3, 112, 112]
    {
        NoGradGuard no_grad;
        model.eval();
        const auto out = model.call_outputs(x);
        for (size_t k = 0; k < 3; ++k) {
            INFO("eval out" << k);
            REQUIRE_THAT(out[k], ClosesTo(io.at(fmt::format("eval.out{}", k)), 1e-5, 1e-4));
        }
    }
    model.train();
    model.to(kFloat64);
    const auto out = model.call_outputs(x.to(kFloat64));
    for (size_t k = 0; k < 3; ++k) {
        INFO("train out" << k);
        REQUIRE_THAT(out[k], ClosesTo(io.at(fmt::format("train.out{}", k)), 1e-10, 1e-8));
    }
    (out[0].sum() + out[1].sum() + out[2].sum()).backward();
    // bn8 has no gradient on either side (None in PyTorch): the helper skips it, and it alone
    REQUIRE_FALSE(model.backbone->bn8->weight.grad().defined());
    REQUIRE_FALSE(model.backbone->bn8->bias.grad().defined());
    const int64_t checked = require_grads_match(model, io, 1e-9, 1e-7);
    // backbone: conv1, bn1, conv2, bn2 (6) + 13 InvertedResiduals x 9 + conv7 (3) + conv8 (2) + fc (2);
    // auxiliary net: 4 conv_bn x 3 + fc1, fc2 (4)
    REQUIRE(checked == 6 + 13 * 9 + 3 + 2 + 2 + 16);
}

TEST_CASE("PFLD learns: Adam lowers the weighted loss on a fixed batch", "[pfld][train]") {
    manual_seed(3);
    PFLD model({.width = 0.25});
    model.train();
    const Tensor x = rand({4, 3, 112, 112});
    const Tensor landmark_gt = rand({4, 196});
    const Tensor euler_gt = randn({4, 3}) * 20;
    const Tensor attributes = from_vector(std::vector<int64_t>{0, 1, 0, 0, 1, 0,  //
                                                               1, 0, 1, 0, 0, 0,  //
                                                               0, 1, 1, 0, 0, 1,  //
                                                               0, 0, 0, 1, 0, 0},
                                          {4, 6});  // every sample has one of the five weighted flags
    optim::Adam opt(model.parameters(), {.lr = 1e-3});
    std::vector<double> losses;
    for (int step = 0; step < 12; ++step) {
        opt.zero_grad();
        const auto out = model.call_outputs(x);
        const PFLDLoss loss = pfld_loss(attributes, landmark_gt, euler_gt, out[2], out[1]);
        loss.weighted.backward();
        opt.step();
        losses.push_back(loss.weighted.item<double>());
    }
    INFO("weighted loss " << losses.front() << " -> " << losses.back());
    REQUIRE(losses.back() < 0.5 * losses.front());
}
