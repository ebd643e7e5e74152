// tests/nn/test_layers_golden.cpp — the nn layers against torch.nn (fixtures by tests/fixtures/make_nn.py): each
// layer loads torch's state dict strictly, then its print format, training output, input and parameter gradients,
// buffers after two training steps (BatchNorm's running statistics and num_batches_tracked) and eval output must
// match. Then a composite model (a ModuleList inside a Sequential) whose keys, names, call paths, repr and parameter
// count must equal torch's.
#include <algorithm>
#include <sstream>

#include "nn/nn.h"
#include "support/support.h"

using namespace nabla::nn;  // NOLINT

namespace {

constexpr double kTol = 1e-4;  // float32 layers, against float32 torch

// The entries of `f` whose key starts with prefix, with the prefix removed.
TensorMap with_prefix(const TensorMap& f, const std::string& prefix) {
    TensorMap out;
    for (const auto& [k, v] : f)
        if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = v;
    return out;
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) out.push_back(item);
    if (!s.empty() && s.back() == ',') out.emplace_back();
    return out;
}

template <class T>
std::vector<std::string> names_of(const Named<T>& named) {
    std::vector<std::string> out;
    for (const auto& [name, value] : named) out.push_back(name);
    return out;
}

// Every buffer of m equals the fixture's <prefix><name>, and there are as many of them.
void check_buffers(Module& m, const TensorMap& f, const std::string& prefix) {
    const TensorMap expected = with_prefix(f, prefix);
    const auto buffers = m.named_buffers();
    REQUIRE(buffers.size() == expected.size());
    for (const auto& [name, b] : buffers) {
        INFO(prefix << name);
        REQUIRE(b.dtype() == expected.at(name).dtype());
        REQUIRE_THAT(b, ClosesTo(expected.at(name), kTol, kTol));
    }
}

// The steps of make_nn.py's run_steps on module m (already in the modes the case wants for training).
void check_steps(Module& m, const TensorMap& f) {
    Tensor x = f.at("x").clone().requires_grad_();
    Tensor y = m(x);
    REQUIRE_THAT(y, ClosesTo(f.at("y_train"), kTol, kTol));
    (y * f.at("g")).sum().backward();
    REQUIRE_THAT(x.grad(), ClosesTo(f.at("gx"), kTol, kTol));
    const TensorMap grads = with_prefix(f, "grad.");
    const auto params = m.named_parameters();
    REQUIRE(params.size() == grads.size());
    for (const auto& [name, p] : params) {
        INFO("grad of " << name);
        REQUIRE_THAT(p.grad(), ClosesTo(grads.at(name), kTol, kTol));
    }
    check_buffers(m, f, "after1.");
    {
        NoGradGuard no_grad;
        REQUIRE_THAT(m(f.at("x2")), ClosesTo(f.at("y_train2"), kTol, kTol));
    }
    check_buffers(m, f, "after2.");
    m.eval();
    NoGradGuard no_grad;
    REQUIRE_THAT(m(f.at("x")), ClosesTo(f.at("y_eval"), kTol, kTol));
}

void check_layer(Module& m, const std::string& name) {
    INFO("case nn/" << name);
    Metadata meta;
    const TensorMap f = load_safetensors(fixture_path("nn/" + name), &meta);
    REQUIRE(m.repr() == meta.at("repr"));
    m.load_state_dict(with_prefix(f, "sd."), true);
    m.train();
    check_steps(m, f);
}

}  // namespace

TEST_CASE("layers: Conv2d and ConvTranspose2d match torch.nn", "[nn][golden]") {
    Conv2d grouped(4, 6, {3, 2}, {.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}, .groups = 2});
    check_layer(grouped, "conv2d_g2");
    Conv2d reflect(3, 4, 3, {.stride = 2, .padding = {2, 1}, .bias = false, .padding_mode = PaddingMode::Reflect});
    check_layer(reflect, "conv2d_reflect");
    ConvTranspose2d up(4, 6, 3, {.stride = 2, .padding = 1, .output_padding = 1, .groups = 2});
    check_layer(up, "conv_transpose2d_g2");
    ConvTranspose2d dilated(3, 2, {2, 3}, {.stride = {1, 2}, .padding = {0, 1}, .bias = false, .dilation = 2});
    check_layer(dilated, "conv_transpose2d_d2");
}

TEST_CASE("layers: Linear and Flatten match torch.nn", "[nn][golden]") {
    Linear fc(5, 3);
    check_layer(fc, "linear");
    Linear no_bias(6, 2, false);
    check_layer(no_bias, "linear_nobias");
    Flatten flatten(1, 2);
    check_layer(flatten, "flatten");
}

TEST_CASE("layers: BatchNorm2d running statistics and modes match torch.nn", "[nn][golden]") {
    BatchNorm2d bn(3, {.eps = 1e-3, .momentum = 0.3});
    check_layer(bn, "batchnorm");
    REQUIRE(bn.num_batches_tracked.item<int64_t>() == 5);   // loaded 3, then two training forwards
    BatchNorm2d cumulative(3, {.momentum = std::nullopt});  // factors 1/4 and 1/5 after the loaded count of 3
    check_layer(cumulative, "batchnorm_cma");
    BatchNorm2d plain(3, {.affine = false, .track_running_stats = false});  // batch statistics in eval too
    check_layer(plain, "batchnorm_plain");
    REQUIRE(plain.state_dict().empty());
}

TEST_CASE("layers: GroupNorm matches torch.nn", "[nn][golden]") {
    GroupNorm gn(2, 6, 1e-4);
    check_layer(gn, "groupnorm");
    GroupNorm plain(3, 6, 1e-5, false);
    check_layer(plain, "groupnorm_plain");
}

TEST_CASE("layers: activations match torch.nn", "[nn][golden]") {
    ReLU relu;
    check_layer(relu, "relu");
    ReLU6 relu6;
    check_layer(relu6, "relu6");
    SiLU silu;
    check_layer(silu, "silu");
    Sigmoid sigmoid;
    check_layer(sigmoid, "sigmoid");
    Tanh tanh;
    check_layer(tanh, "tanh");
    LeakyReLU leaky(0.2);
    check_layer(leaky, "leaky_relu");
    Hardswish hardswish;
    check_layer(hardswish, "hardswish");
    PReLU prelu(3, 0.1);
    check_layer(prelu, "prelu");
    PReLU shared;
    check_layer(shared, "prelu_shared");
}

TEST_CASE("layers: pooling matches torch.nn", "[nn][golden]") {
    MaxPool2d max(3, {.stride = 2, .padding = 1, .ceil_mode = true});
    check_layer(max, "maxpool");
    MaxPool2d rect({3, 2}, {.stride = {2, 1}, .padding = 1, .dilation = 2});
    check_layer(rect, "maxpool_rect_d2");
    AvgPool2d avg(3, {.stride = 2, .padding = 1, .ceil_mode = true, .count_include_pad = false});
    check_layer(avg, "avgpool");
    AvgPool2d avg2(2);
    check_layer(avg2, "avgpool_k2");
    AdaptiveAvgPool2d adaptive({3, 2});
    check_layer(adaptive, "adaptive_avgpool");
}

TEST_CASE("layers: Upsample, PixelShuffle and PixelUnshuffle match torch.nn", "[nn][golden]") {
    Upsample nearest({.scale_factor = 2.0});
    check_layer(nearest, "upsample_nearest");
    Upsample bilinear({.size = Int2{7, 9}, .mode = InterpolateMode::Bilinear, .align_corners = true});
    check_layer(bilinear, "upsample_bilinear_ac");
    Upsample bicubic({.scale_factor = Scale2{1.5, 2}, .mode = InterpolateMode::Bicubic});
    check_layer(bicubic, "upsample_bicubic");
    PixelShuffle shuffle(2);
    check_layer(shuffle, "pixel_shuffle");
    PixelUnshuffle unshuffle(2);
    check_layer(unshuffle, "pixel_unshuffle");
}

namespace {

void check_loss(Loss& loss, const std::string& name) {
    INFO("case nn/loss_" << name);
    Metadata meta;
    const TensorMap f = load_safetensors(fixture_path("nn/loss_" + name), &meta);
    REQUIRE(loss.repr() == meta.at("repr"));
    Tensor input = f.at("input").clone().requires_grad_();
    Tensor y = loss(input, f.at("target"));
    REQUIRE_THAT(y, ClosesTo(f.at("y"), kTol, kTol));
    (y * f.at("g")).sum().backward();
    REQUIRE_THAT(input.grad(), ClosesTo(f.at("gx"), kTol, kTol));
}

}  // namespace

TEST_CASE("losses: the loss modules pass their options as torch.nn's", "[nn][golden][loss]") {
    const TensorMap bce = load_fixture("nn/loss_bce_logits");
    const TensorMap ce = load_fixture("nn/loss_cross_entropy");
    L1Loss l1;
    check_loss(l1, "l1");
    MSELoss mse(Reduction::Sum);
    check_loss(mse, "mse_sum");
    SmoothL1Loss smooth({.reduction = Reduction::None, .beta = 0.5});
    check_loss(smooth, "smooth_l1_none");
    BCELoss bce_weight({.weight = bce.at("weight")});
    check_loss(bce_weight, "bce_weight");
    BCEWithLogitsLoss logits({.weight = bce.at("weight"), .pos_weight = bce.at("pos_weight")});
    check_loss(logits, "bce_logits");
    CrossEntropyLoss cross({.weight = ce.at("weight"), .ignore_index = 1, .label_smoothing = 0.1});
    check_loss(cross, "cross_entropy");
    CrossEntropyLoss probs({.reduction = Reduction::Sum});
    check_loss(probs, "cross_entropy_probs");
    NLLLoss nll({.weight = ce.at("weight"), .ignore_index = 2});
    check_loss(nll, "nll");
    // The weights are buffers, as torch's: in the state dict when given.
    REQUIRE(names_of(logits.named_buffers()) == std::vector<std::string>{"weight", "pos_weight"});
    REQUIRE(probs.state_dict().empty());
}

// ---------------------------------------------------------------------------------------------------------------
// The composite model of make_nn.py

namespace {

class Block : public Module {  // x + SiLU(BN(conv(x))), its layers in a ModuleList `m`, as make_nn.py's Block
public:
    explicit Block(int64_t c) : Module("Block") {
        m = register_module("m", std::make_shared<ModuleList>(std::vector<ModulePtr>{
                                     std::make_shared<Conv2d>(c, c, 3, Conv2dArgs{.padding = 1, .bias = false}),
                                     std::make_shared<BatchNorm2d>(c), std::make_shared<SiLU>()}));
    }
    Tensor forward(const Tensor& x) override {
        Tensor y = x;
        for (const ModulePtr& layer : *m) y = (*layer)(y);
        return x + y;
    }
    std::shared_ptr<ModuleList> m;
};

std::shared_ptr<Sequential> composite() {
    return std::make_shared<Sequential>(std::vector<ModulePtr>{
        std::make_shared<Conv2d>(3, 8, 3, Conv2dArgs{.padding = 1, .padding_mode = PaddingMode::Reflect}),
        std::make_shared<BatchNorm2d>(8),
        std::make_shared<PReLU>(8),
        std::make_shared<MaxPool2d>(2, MaxPool2dArgs{.ceil_mode = true}),
        std::make_shared<Block>(8),
        std::make_shared<Upsample>(UpsampleArgs{.scale_factor = 2.0, .mode = InterpolateMode::Bilinear}),
        std::make_shared<ConvTranspose2d>(8, 4, 2, ConvTranspose2dArgs{.stride = 2, .bias = false}),
        std::make_shared<GroupNorm>(2, 4),
        std::make_shared<LeakyReLU>(0.1),
        std::make_shared<Dropout>(0.3),
        std::make_shared<AdaptiveAvgPool2d>(1),
        std::make_shared<Flatten>(),
        std::make_shared<Linear>(4, 2),
    });
}

// Records the path of every module call.
struct PathRecorder : ForwardHook {
    std::vector<std::string> paths;
    void enter(Module& module, const std::vector<Tensor>&) override { paths.push_back(module.path()); }
};

}  // namespace

TEST_CASE("composite: names, keys, repr and parameter count equal torch's", "[nn][golden][module]") {
    Metadata meta;
    const TensorMap f = load_safetensors(fixture_path("nn/composite"), &meta);
    auto model = composite();
    REQUIRE(model->repr() == meta.at("repr"));
    REQUIRE(names_of(model->named_parameters()) == split(meta.at("parameter_names")));
    REQUIRE(names_of(model->named_buffers()) == split(meta.at("buffer_names")));
    REQUIRE(names_of(model->named_modules()) == split(meta.at("module_names")));
    REQUIRE(model->num_parameters() == std::stoll(meta.at("num_parameters")));
    std::vector<std::string> keys;  // torch's state dict keys, compared as a set (ours is a sorted map)
    for (const auto& [k, v] : model->state_dict()) keys.push_back(k);
    auto torch_keys = split(meta.at("state_dict_keys"));
    std::sort(torch_keys.begin(), torch_keys.end());
    REQUIRE(keys == torch_keys);
    REQUIRE(model->state_dict().at("4.m.1.num_batches_tracked").dtype() == kInt64);
}

TEST_CASE("composite: loads torch's state dict strictly and trains and evaluates as torch", "[nn][golden][module]") {
    Metadata meta;
    const TensorMap f = load_safetensors(fixture_path("nn/composite"), &meta);
    auto model = composite();
    model->load_state_dict(with_prefix(f, "sd."), true);
    {
        NoGradGuard no_grad;
        model->eval();
        REQUIRE_THAT((*model)(f.at("x")), ClosesTo(f.at("y_eval0"), kTol, kTol));
    }
    model->train();
    (*model)[9]->eval();  // the dropout, as make_nn.py does, so that training is deterministic

    auto recorder = std::make_shared<PathRecorder>();
    const int handle = add_forward_hook(recorder);
    Tensor x = f.at("x").clone().requires_grad_();
    Tensor y = (*model)(x);
    remove_forward_hook(handle);
    REQUIRE(recorder->paths == split(meta.at("calls")));  // "", "0", ..., "4", "4.m.0", "4.m.1", "4.m.2", "5", ...

    REQUIRE_THAT(y, ClosesTo(f.at("y_train"), kTol, kTol));

    // All the steps from the loaded state again (that forward moved the running statistics): gradients, buffers.
    model->load_state_dict(with_prefix(f, "sd."), true);
    model->zero_grad();
    check_steps(*model, f);
}

TEST_CASE("composite: to(kFloat64) converts parameters and buffers and keeps the results", "[nn][golden][module]") {
    const TensorMap f = load_fixture("nn/composite");
    auto model = composite();
    model->load_state_dict(with_prefix(f, "sd."), true);
    auto conv = model->at<Conv2d>(0);
    model->to(kFloat64);
    for (const auto& [name, p] : model->named_parameters()) REQUIRE(p.dtype() == kFloat64);
    REQUIRE(conv->weight.dtype() == kFloat64);  // the layer's own handle sees the change
    REQUIRE(model->at<BatchNorm2d>(1)->running_var.dtype() == kFloat64);
    REQUIRE(model->at<BatchNorm2d>(1)->num_batches_tracked.dtype() == kInt64);  // not floating: kept
    model->eval();
    NoGradGuard no_grad;
    Tensor y = (*model)(f.at("x").to(kFloat64));
    REQUIRE(y.dtype() == kFloat64);
    REQUIRE_THAT(y, ClosesTo(f.at("y_eval0"), kTol, kTol));
}
