// tests/models/test_panet_model.cpp — models/panet/panet.h: the network's shapes and state-dict names; a narrow
// PANet's output and every gradient against its PyTorch twin, and 20 training steps that retrace PyTorch's losses
// and weights (tests/fixtures/make_models.py); and proof that it learns: a small PANet trained on 8 crops of one
// photo beats bicubic upscaling of the same crops (PSNR on [0, 1], the 2x2 max-pool degradation of the blog); the SR
// papers' switches (skip=bicubic, norm=none): the untrained residual network is bicubic upscaling, the keys that stay,
// and a float64 gradcheck through the global skip.
#include "autograd/gradcheck.h"
#include "models/panet/panet.h"
#include "nn/data/image.h"
#include "nn/data/transforms.h"
#include "nn/metrics.h"
#include "nn/optim/adam.h"
#include "support/support.h"

using namespace nabla::models;

TEST_CASE("PANet: x2 output in [-1, 1] and the reference's network, key for key", "[panet]") {
    manual_seed(0);
    PANet net({.channels = 8, .blocks = 4, .level = 2});
    NoGradGuard no_grad;
    net.eval();
    const Tensor y = net(rand({2, 3, 12, 10}) * 2 - 1);
    REQUIRE(y.shape() == Shape{2, 3, 24, 20});
    REQUIRE(max(abs(y)).item<double>() <= 1.0);
    const TensorMap sd = net.state_dict();
    for (const char* key :
         {"features.0.weight", "features.1.running_var", "features.3.weight", "sequential.0.model.0.weight",
          "sequential.0.model.1.num_batches_tracked", "sequential.0.model.3.weight", "sequential.2.conv_match.0.weight",
          "sequential.2.escape_NaN", "sequential.4.model.4.bias", "upSample.0.weight", "upSample.0.bias",
          "upSample.2.weight", "upSample.4.weight"}) {
        INFO(key);
        REQUIRE(sd.count(key));
    }
    for (const char* key :
         {"features.0.bias", "features.3.bias", "sequential.0.model.0.bias", "sequential.0.model.3.bias"}) {
        INFO(key << " (the reference's convolutions in front of BatchNorm have no bias)");
        REQUIRE_FALSE(sd.count(key));
    }
    REQUIRE(sd.at("upSample.0.weight").shape() == Shape{32, 8, 3, 3});
    // The default is the reference blog's Model(64, 24): its 316 keys with their shapes and 1,228,870 parameters.
    PANet full;
    REQUIRE(full.state_dict().size() == 316);
    REQUIRE(full.num_parameters() == 1228870);
    REQUIRE(full.state_dict().count("sequential.12.conv_match.0.weight"));  // the attention sits at index 12
    require_keys_match(full.state_dict(), "models/panet_keys");
}

TEST_CASE("PANet: a ResBlock is relu(x + model(x)) with reflect padding in its 3x3 conv", "[panet]") {
    manual_seed(1);
    ResBlock block(4);
    block.eval();
    NoGradGuard no_grad;
    const Tensor x = randn({1, 4, 5, 6});
    const Tensor expected = relu(x + (*block.model)(x));
    REQUIRE_THAT(block(x), ClosesTo(expected, 0, 0));
    const auto conv3 = block.model->at<nn::Conv2d>(3);
    REQUIRE(conv3->options.padding_mode == PaddingMode::Reflect);
    REQUIRE_FALSE(conv3->bias.defined());
}

TEST_CASE("PANet skip=bicubic, norm=none: starts as bicubic upscaling; BatchNorms gone, their indices kept",
          "[panet]") {
    manual_seed(2);
    PANet net({.channels = 8, .blocks = 2, .level = 2, .bicubic_skip = true, .batch_norm = false});
    const Tensor x = rand({2, 3, 10, 12}) * 2 - 1;
    const Tensor bicubic = interpolate(x, {.size = Int2{20, 24}, .mode = InterpolateMode::Bicubic});
    {
        NoGradGuard no_grad;
        REQUIRE_THAT(net(x), ClosesTo(bicubic, 0, 0));  // training mode: the residual's last conv is zero
        net.eval();
        REQUIRE_THAT(net(x), ClosesTo(bicubic, 0, 0));
    }
    const TensorMap sd = net.state_dict();
    for (const char* key : {"features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias",
                            "sequential.0.model.0.bias", "sequential.0.model.3.bias",
                            "sequential.1.conv_match.0.weight", "sequential.2.model.3.weight", "upSample.4.weight"}) {
        INFO(key);
        REQUIRE(sd.count(key));
    }
    for (const auto& [key, t] : sd) {
        INFO(key);
        REQUIRE(key.find("running_mean") == std::string::npos);  // no BatchNorm anywhere
    }
    REQUIRE_FALSE(sd.count("features.1.weight"));
    // The blog's network is unchanged by the defaults of the switches.
    REQUIRE(PANet({.channels = 8, .blocks = 2, .level = 2}).state_dict().count("features.1.running_var"));
}

TEST_CASE("PANet skip=bicubic: gradcheck in float64 through the global skip and the residual body",
          "[panet][gradcheck]") {
    manual_seed(3);
    PANet net({.channels = 4, .blocks = 2, .level = 1, .bicubic_skip = true, .batch_norm = false});
    net.to(kFloat64);
    {  // a non-zero residual, so the body's gradients are exercised too
        NoGradGuard no_grad;
        auto& last = *net.upSample->at<nn::Conv2d>(4);
        last.weight.copy_(randn(last.weight.shape(), TensorOptions{.dtype = kFloat64}) * 0.3);
    }
    const Tensor x = (rand({1, 3, 5, 6}, TensorOptions{.dtype = kFloat64}) * 2 - 1).requires_grad_(true);
    REQUIRE(gradcheck([&](const std::vector<Tensor>& in) { return net(in[0]); }, {x}));
}

namespace {
PANetArgs mini_args() { return {.channels = 8, .blocks = 4, .level = 2}; }
}  // namespace

TEST_CASE("PANet: the output and every gradient equal PyTorch's, train and eval", "[panet]") {
    PANet net(mini_args());
    net.load_state_dict(load_fixture("models/panet_mini_weights"));
    const TensorMap io = load_fixture("models/panet_mini_io");
    const Tensor x = io.at("input");  // [2, 3, 12, 10]
    {
        NoGradGuard no_grad;
        net.eval();
        REQUIRE_THAT(net(x), ClosesTo(io.at("eval.out0"), 1e-5, 1e-4));
    }
    // Training mode in float64 (the twin evaluates `features` twice there, as the reference; so does PANet).
    net.train();
    net.to(kFloat64);
    const Tensor y = net(x.to(kFloat64));
    REQUIRE_THAT(y, ClosesTo(io.at("train.out0"), 1e-10, 1e-8));
    y.sum().backward();
    const int64_t checked = require_grads_match(net, io, 1e-9, 1e-7);
    // stem 2 x (conv w, bn w, b); 4 ResBlocks x 2 x (conv w, bn w, b); attention 3 x (conv w, b, PReLU w);
    // upsampler 3 x (conv w, b)
    REQUIRE(checked == 6 + 24 + 9 + 6);
}

TEST_CASE("PANet trains like its PyTorch twin: 20 AdamW steps retrace the losses, weights and BN statistics",
          "[panet][train]") {
    const TensorMap curve = load_fixture("models/panet_train_curve");
    PANet net(mini_args());
    net.load_state_dict(load_fixture("models/panet_mini_weights"));
    net.to(kFloat64);
    net.train();
    optim::AdamW opt(net.parameters(), {.lr = 1e-3});
    const Tensor expected_loss = curve.at("loss");
    std::vector<double> losses;
    for (int64_t step = 0; step < expected_loss.numel(); ++step) {
        const Tensor& hr = curve.at(step % 2 ? "hr1" : "hr0");  // [2, 3, 16, 16] in [-1, 1]
        opt.zero_grad();
        const Tensor loss = l1_loss(net(max_pool2d(hr, {.kernel_size = 2})), hr);
        loss.backward();
        opt.step();
        losses.push_back(loss.item<double>());
    }
    REQUIRE_THAT(t64(losses), ClosesTo(expected_loss, 1e-10, 1e-9));
    REQUIRE(losses.back() < 0.8 * losses.front());  // it does learn: 0.541 -> 0.422 in PyTorch
    int64_t checked = 0;
    for (const auto& [name, value] : net.state_dict()) {
        if (!is_floating(value.dtype())) continue;  // num_batches_tracked
        INFO(name);
        REQUIRE_THAT(value, ClosesTo(curve.at("after." + name), 1e-9, 1e-7));
        ++checked;
    }
    REQUIRE(checked == static_cast<int64_t>(curve.size()) - 3);  // every parameter and buffer but hr0, hr1, loss
}

TEST_CASE("PANet learns: PSNR above bicubic's on the crops of a photo it trained on", "[panet][train]") {
    const Tensor photo = data::to_tensor(data::read_image(std::string(NABLA_SOURCE_DIR) + "/data/photos/astronaut.png",
                                                          data::ImageMode::RGB));  // [3, 512, 512] in [0, 1]
    Generator gen(1);
    std::vector<Tensor> crops;
    for (int64_t i = 0; i < 8; ++i) crops.push_back(data::crop(photo, data::random_crop_box(512, 512, {32, 32}, gen)));
    const Tensor hr = stack(crops) * 2.0 - 1.0;            // [8, 3, 32, 32] in [-1, 1]
    const Tensor lr = max_pool2d(hr, {.kernel_size = 2});  // the blog's degradation: [8, 3, 16, 16]
    manual_seed(0);
    PANet net({.channels = 16, .blocks = 2, .level = 2});
    optim::AdamW opt(net.parameters(), {.lr = 2e-3, .weight_decay = 0});
    for (int step = 0; step < 200; ++step) {  // 33.7 dB against bicubic's 29.4 dB here
        opt.zero_grad();
        l1_loss(net(lr), hr).backward();
        opt.step();
    }
    NoGradGuard no_grad;
    net.eval();
    const Tensor sr = net(lr);
    const Tensor bicubic = clamp(interpolate(lr, {.size = Int2{32, 32}, .mode = InterpolateMode::Bicubic}), -1.0, 1.0);
    const double psnr_net = metrics::psnr((sr + 1) / 2, (hr + 1) / 2, 1.0);
    const double psnr_bicubic = metrics::psnr((bicubic + 1) / 2, (hr + 1) / 2, 1.0);
    INFO("PSNR net " << psnr_net << " dB, bicubic " << psnr_bicubic << " dB");
    REQUIRE(psnr_net > psnr_bicubic + 0.5);
}
