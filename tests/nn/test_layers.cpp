// tests/nn/test_layers.cpp — the nn layers and containers by hand: names and order of children, parameters and
// state-dict keys, modes, zero_grad, load_state_dict's error message, replace_module, forward hooks, print formats
// (torch's strings), macs, constructor and shape errors, Dropout, NonFiniteWatch. The comparisons with torch.nn's
// numbers are in test_layers_golden.cpp, init in test_init.cpp.
#include "core/trace/trace.h"
#include "nn/nn.h"
#include "support/support.h"

using namespace nabla::nn;  // NOLINT

namespace {

template <class T>
std::vector<std::string> names_of(const Named<T>& named) {
    std::vector<std::string> out;
    for (const auto& [name, value] : named) out.push_back(name);
    return out;
}

std::vector<std::string> keys_of(const TensorMap& map) {
    std::vector<std::string> out;
    for (const auto& [name, value] : map) out.push_back(name);
    return out;
}

// A model shaped like YOLOv5's: a Sequential whose child 1 holds a ModuleList `m`.
class Stage : public Module {
public:
    Stage() : Module("Stage") {
        cv = register_module("cv", std::make_shared<Conv2d>(2, 2, 1));
        m = register_module("m", std::make_shared<ModuleList>());
        m->push_back(std::make_shared<Conv2d>(2, 2, 3, Conv2dArgs{.padding = 1, .bias = false}));
        m->push_back(std::make_shared<BatchNorm2d>(2));
    }
    Tensor forward(const Tensor& x) override {
        Tensor y = (*cv)(x);
        for (const ModulePtr& layer : *m) y = (*layer)(y);
        return y;
    }
    std::shared_ptr<Conv2d> cv;
    std::shared_ptr<ModuleList> m;
};

std::shared_ptr<Sequential> small_model() {
    return std::make_shared<Sequential>(
        std::vector<ModulePtr>{std::make_shared<Conv2d>(1, 2, 3, Conv2dArgs{.padding = 1}), std::make_shared<Stage>(),
                               std::make_shared<ReLU>()});
}

struct PathRecorder : ForwardHook {
    std::vector<std::string> entered, exited;
    void enter(Module& module, const std::vector<Tensor>&) override { entered.push_back(module.path()); }
    void exit(Module& module, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) override {
        exited.push_back(fmt::format("{} {}->{}", module.path(), inputs.size(), outputs.size()));
    }
};

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Containers and Module basics

TEST_CASE("containers: numbered children, torch's keys, indexing and iteration", "[nn][module]") {
    auto model = small_model();
    REQUIRE(model->size() == 3);
    REQUIRE(names_of(model->named_children()) == std::vector<std::string>{"0", "1", "2"});
    REQUIRE(names_of(model->named_modules()) ==
            std::vector<std::string>{"", "0", "1", "1.cv", "1.m", "1.m.0", "1.m.1", "2"});
    REQUIRE(names_of(model->named_parameters()) == std::vector<std::string>{"0.weight", "0.bias", "1.cv.weight",
                                                                            "1.cv.bias", "1.m.0.weight", "1.m.1.weight",
                                                                            "1.m.1.bias"});
    REQUIRE(keys_of(model->state_dict()) == std::vector<std::string>{"0.bias", "0.weight", "1.cv.bias", "1.cv.weight",
                                                                     "1.m.0.weight", "1.m.1.bias",
                                                                     "1.m.1.num_batches_tracked", "1.m.1.running_mean",
                                                                     "1.m.1.running_var", "1.m.1.weight"});
    REQUIRE(model->num_parameters() == (18 + 2) + (4 + 2) + 36 + 2 * 2);

    REQUIRE((*model)[0]->type_name() == "Conv2d");
    REQUIRE((*model)[-1]->type_name() == "ReLU");
    REQUIRE(model->at<Stage>(1)->m->at<BatchNorm2d>(-1)->path() == "1.m.1");
    REQUIRE_THROWS_AS((*model)[3], IndexError);
    REQUIRE(error_of([&] { (*model)[-4]; }) == "Sequential: index -4 is out of range for 3 modules");
    REQUIRE_THROWS_AS(model->at<Linear>(0), TypeError);
    REQUIRE(error_of([&] { model->at<Linear>(0); }).find("Sequential: child 0 is a Conv2d") == 0);

    std::vector<std::string> types;
    for (const ModulePtr& m : *model->at<Stage>(1)->m) types.push_back(m->type_name());
    REQUIRE(types == std::vector<std::string>{"Conv2d", "BatchNorm2d"});

    Tensor y = (*model)(randn({2, 1, 5, 5}));  // through all three children
    REQUIRE(y.shape() == Shape{2, 2, 5, 5});
    REQUIRE(min(y).item<float>() >= 0.0f);                                                   // the final ReLU ran
    REQUIRE_THROWS_AS((*model->at<Stage>(1)->m)(randn({1, 2, 3, 3})), NotImplementedError);  // ModuleList: no forward
    Sequential empty;
    Tensor x = randn({2, 3});
    REQUIRE(empty(x).is_same(x));
}

TEST_CASE("module: train/eval reach every descendant; zero_grad", "[nn][module]") {
    auto model = small_model();
    REQUIRE(model->at<Stage>(1)->m->at<BatchNorm2d>(1)->is_training());
    model->eval();
    for (auto& [name, m] : model->named_modules()) REQUIRE_FALSE(m->is_training());
    model->train();
    model->at<Stage>(1)->eval();  // a child's mode does not touch its parent
    REQUIRE(model->is_training());
    REQUIRE_FALSE(model->at<Stage>(1)->m->at<BatchNorm2d>(1)->is_training());

    model->train();
    (*model)(randn({2, 1, 4, 4})).sum().backward();
    for (const Tensor& p : model->parameters()) REQUIRE(p.grad().defined());
    model->zero_grad(false);
    for (const Tensor& p : model->parameters()) REQUIRE(p.grad().abs().sum().item<double>() == 0.0);
    model->zero_grad();
    for (const Tensor& p : model->parameters()) REQUIRE_FALSE(p.grad().defined());
}

TEST_CASE("module: load_state_dict names every problem in one message; strict=false loads the rest", "[nn][module]") {
    Sequential model({std::make_shared<Linear>(2, 3), std::make_shared<Linear>(3, 4)});
    TensorMap state = model.state_dict();
    for (auto& [k, v] : state) v = full(v.shape(), 0.5);  // new values, same shapes
    TensorMap bad = state;
    bad.erase("0.bias");
    bad["0.extra"] = zeros({1});
    bad["1.weight"] = zeros({2, 3});
    REQUIRE(error_of([&] { model.load_state_dict(bad); }) ==
            "load_state_dict (Sequential): 1 missing [0.bias], 1 unexpected [0.extra], "
            "1 shape mismatch [1.weight: file [2, 3] vs model [4, 3]]");
    REQUIRE_THROWS_AS(model.load_state_dict(bad, false), ValueError);  // a shape mismatch is an error either way

    TensorMap partial = state;
    partial.erase("0.bias");
    partial["0.extra"] = zeros({1});
    const Tensor bias_before = model.at<Linear>(0)->bias.clone();
    REQUIRE_THROWS_AS(model.load_state_dict(partial), ValueError);
    model.load_state_dict(partial, false);
    REQUIRE_THAT(model.at<Linear>(0)->weight, ClosesTo(full({3, 2}, 0.5)));
    REQUIRE_THAT(model.at<Linear>(1)->bias, ClosesTo(full({4}, 0.5)));
    REQUIRE_THAT(model.at<Linear>(0)->bias, ClosesTo(bias_before, 0, 0));  // missing: untouched
}

TEST_CASE("module: replace_module swaps a child in place", "[nn][module]") {
    auto model = small_model();
    model->eval();
    model->replace_module("2", std::make_shared<Sigmoid>());
    REQUIRE((*model)[2]->type_name() == "Sigmoid");
    REQUIRE((*model)[2]->path() == "2");
    REQUIRE_FALSE((*model)[2]->is_training());  // takes the mode of its new parent
    NoGradGuard no_grad;
    Tensor y = (*model)(randn({1, 1, 4, 4}));
    REQUIRE(min(y).item<float>() > 0.0f);
    REQUIRE(max(y).item<float>() < 1.0f);  // Sigmoid ran instead of ReLU
    REQUIRE_THAT(model->repr(), Catch::Matchers::Contains("(2): Sigmoid()"));
}

TEST_CASE("module: forward hooks see every call with its path", "[nn][module]") {
    auto model = small_model();
    CrossEntropyLoss loss;
    auto recorder = std::make_shared<PathRecorder>();
    const int handle = add_forward_hook(recorder);
    Tensor y = (*model)(randn({2, 1, 4, 4}));
    loss(y, zeros({2, 4, 4}, {.dtype = kInt64}));
    remove_forward_hook(handle);
    (*model)(randn({2, 1, 4, 4}));  // not recorded
    REQUIRE(recorder->entered == std::vector<std::string>{"", "0", "1", "1.cv", "1.m.0", "1.m.1", "2", ""});
    REQUIRE(recorder->exited ==
            std::vector<std::string>{"0 1->1", "1.cv 1->1", "1.m.0 1->1", "1.m.1 1->1", "1 1->1", "2 1->1", " 1->1",
                                     " 2->1"});  // children finish before their parent; the loss has two inputs
}

// ---------------------------------------------------------------------------------------------------------------
// Layers: parameters, print formats, macs

TEST_CASE("layers: parameter shapes and state-dict keys as torch", "[nn]") {
    Conv2d conv(4, 6, {3, 2}, {.groups = 2});
    REQUIRE(conv.weight.shape() == Shape{6, 2, 3, 2});
    REQUIRE(conv.bias.shape() == Shape{6});
    REQUIRE(conv.weight.requires_grad());
    Conv2d no_bias(3, 8, 1, {.bias = false});
    REQUIRE_FALSE(no_bias.bias.defined());
    REQUIRE(keys_of(no_bias.state_dict()) == std::vector<std::string>{"weight"});
    ConvTranspose2d up(4, 6, 3, {.groups = 2});
    REQUIRE(up.weight.shape() == Shape{4, 3, 3, 3});
    Linear fc(5, 3);
    REQUIRE(fc.weight.shape() == Shape{3, 5});
    BatchNorm2d bn(4);
    REQUIRE(keys_of(bn.state_dict()) ==
            std::vector<std::string>{"bias", "num_batches_tracked", "running_mean", "running_var", "weight"});
    REQUIRE(bn.num_batches_tracked.dim() == 0);
    REQUIRE(bn.num_batches_tracked.dtype() == kInt64);
    REQUIRE_THAT(bn.running_var, ClosesTo(ones({4}), 0, 0));
    BatchNorm2d bare(4, {.affine = false, .track_running_stats = false});
    REQUIRE(bare.state_dict().empty());
    REQUIRE(bare.num_parameters() == 0);
    GroupNorm gn(2, 4, 1e-5, false);
    REQUIRE(gn.state_dict().empty());
    PReLU prelu(3, 0.1);
    REQUIRE_THAT(prelu.weight, ClosesTo(full({3}, 0.1), 0, 1e-7));
}

TEST_CASE("layers: extra_repr prints as torch", "[nn]") {
    // Every string below is what torch 1.13 prints for the same layer.
    const std::vector<std::pair<ModulePtr, std::string>> cases = {
        {std::make_shared<Conv2d>(3, 64, 3, Conv2dArgs{.padding = 1, .bias = false}),
         "Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)"},
        {std::make_shared<Conv2d>(4, 6, Int2{3, 2},
                                  Conv2dArgs{.stride = {2, 1},
                                             .padding = {1, 2},
                                             .dilation = {1, 2},
                                             .groups = 2,
                                             .padding_mode = PaddingMode::Reflect}),
         "Conv2d(4, 6, kernel_size=(3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2, "
         "padding_mode=reflect)"},
        {std::make_shared<ConvTranspose2d>(4, 6, 3,
                                           ConvTranspose2dArgs{.stride = 2, .padding = 1, .output_padding = 1}),
         "ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))"},
        {std::make_shared<Linear>(3, 4), "Linear(in_features=3, out_features=4, bias=True)"},
        {std::make_shared<Linear>(3, 4, false), "Linear(in_features=3, out_features=4, bias=False)"},
        {std::make_shared<Identity>(), "Identity()"},
        {std::make_shared<Flatten>(), "Flatten(start_dim=1, end_dim=-1)"},
        {std::make_shared<BatchNorm2d>(8),
         "BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"},
        {std::make_shared<BatchNorm2d>(
             8, BatchNorm2dArgs{.eps = 1e-3, .momentum = std::nullopt, .affine = false, .track_running_stats = false}),
         "BatchNorm2d(8, eps=0.001, momentum=None, affine=False, track_running_stats=False)"},
        {std::make_shared<GroupNorm>(2, 4, 1e-4, false), "GroupNorm(2, 4, eps=0.0001, affine=False)"},
        {std::make_shared<ReLU6>(), "ReLU6()"},
        {std::make_shared<LeakyReLU>(), "LeakyReLU(negative_slope=0.01)"},
        {std::make_shared<Hardswish>(), "Hardswish()"},
        {std::make_shared<PReLU>(8, 0.1), "PReLU(num_parameters=8)"},
        {std::make_shared<MaxPool2d>(2), "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"},
        {std::make_shared<AvgPool2d>(3, AvgPool2dArgs{.stride = 2, .padding = 1, .ceil_mode = true}),
         "AvgPool2d(kernel_size=3, stride=2, padding=1)"},
        {std::make_shared<AdaptiveAvgPool2d>(1), "AdaptiveAvgPool2d(output_size=1)"},
        {std::make_shared<Upsample>(UpsampleArgs{.scale_factor = 2}), "Upsample(scale_factor=2.0, mode=nearest)"},
        {std::make_shared<Upsample>(UpsampleArgs{.size = 5}), "Upsample(size=5, mode=nearest)"},
        {std::make_shared<PixelUnshuffle>(3), "PixelUnshuffle(downscale_factor=3)"},
        {std::make_shared<Dropout>(), "Dropout(p=0.5, inplace=False)"},
        {std::make_shared<Dropout>(0.0), "Dropout(p=0.0, inplace=False)"},
        {std::make_shared<SmoothL1Loss>(SmoothL1LossArgs{.beta = 0.5}), "SmoothL1Loss()"},
        {std::make_shared<ModuleList>(std::vector<ModulePtr>{std::make_shared<ReLU>()}),
         "ModuleList(\n  (0): ReLU()\n)"},
        {std::make_shared<Sequential>(), "Sequential()"},
    };
    for (const auto& [module, expected] : cases) REQUIRE(module->repr() == expected);
}

TEST_CASE("layers: macs count the weight multiply-accumulates", "[nn]") {
    Conv2d conv(3, 64, 3, {.padding = 1});
    REQUIRE(conv.macs({1, 3, 32, 32}, {1, 64, 32, 32}) == 64 * 32 * 32 * 3 * 9);
    Conv2d grouped(4, 6, 3, {.groups = 2});
    REQUIRE(grouped.macs({2, 4, 7, 7}, {2, 6, 5, 5}) == 2 * 6 * 25 * 2 * 9);  // in/groups = 2 per output
    ConvTranspose2d up(8, 4, 2, {.stride = 2});
    REQUIRE(up.macs({1, 8, 5, 5}, {1, 4, 10, 10}) == 200 * 4 * 4);  // each input element meets out * kh * kw weights
    Linear fc(5, 3);
    REQUIRE(fc.macs({2, 7, 5}, {2, 7, 3}) == 2 * 7 * 3 * 5);
    REQUIRE(ReLU().macs({2, 3}, {2, 3}) == 0);
    REQUIRE(BatchNorm2d(3).macs({1, 3, 4, 4}, {1, 3, 4, 4}) == 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Layers: forward by hand

TEST_CASE("layers: Linear, Identity and Flatten forward by hand", "[nn]") {
    Linear fc(2, 2);
    fc.load_state_dict({{"weight", t32({1, 2, 3, 4}, {2, 2})}, {"bias", t32({0.5f, -1})}});
    REQUIRE_THAT(fc(t32({1, 1, 2, 0}, {2, 2})), ClosesTo(t32({3.5f, 6, 2.5f, 5}, {2, 2})));  // x W^T + b
    Identity id;
    Tensor x = randn({2, 3, 4});
    REQUIRE(id(x).is_same(x));
    REQUIRE(Flatten()(x).shape() == Shape{2, 12});
    REQUIRE(Flatten(0, 1)(x).shape() == Shape{6, 4});
}

TEST_CASE("layers: BatchNorm2d counts batches in training only and resets", "[nn]") {
    BatchNorm2d bn(2);
    Tensor x = randn({3, 2, 4, 4}) * 2 + 1;
    bn(x);
    REQUIRE(bn.num_batches_tracked.item<int64_t>() == 1);
    bn.eval();
    Tensor y = bn(x);
    REQUIRE(bn.num_batches_tracked.item<int64_t>() == 1);
    // eval normalises with the running statistics: y = (x - rm) / sqrt(rv + eps)
    Tensor expected = (x - bn.running_mean.view({1, 2, 1, 1})) / (bn.running_var.view({1, 2, 1, 1}) + 1e-5).sqrt();
    REQUIRE_THAT(y, ClosesTo(expected));
    bn.reset_running_stats();
    REQUIRE(bn.num_batches_tracked.item<int64_t>() == 0);
    REQUIRE_THAT(bn.running_mean, ClosesTo(zeros({2}), 0, 0));
}

TEST_CASE("layers: Sequential fuses BatchNorm2d + ReLU/SiLU into one op with the two layers' results", "[nn]") {
    struct Quiet : ForwardHook {  // registered, it makes every module run on its own (bn_act's rule)
        void enter(Module&, const std::vector<Tensor>&) override {}
        void exit(Module&, const std::vector<Tensor>&, const std::vector<Tensor>&) override {}
    };
    for (bool silu_act : {false, true}) {
        INFO("silu " << silu_act);
        manual_seed(3);
        ModulePtr act = silu_act ? ModulePtr(std::make_shared<SiLU>()) : ModulePtr(std::make_shared<ReLU>());
        Sequential seq({std::make_shared<Conv2d>(2, 3, 3, Conv2dArgs{.padding = 1}), std::make_shared<BatchNorm2d>(3),
                        act, std::make_shared<Conv2d>(3, 2, 1)});
        Tensor x = randn({2, 2, 5, 5});
        auto step = [&](bool separate) {
            const int handle = separate ? add_forward_hook(std::make_shared<Quiet>()) : -1;
            seq.zero_grad();
            trace::start({});
            Tensor y = seq(x);
            y.sum().backward();
            const trace::Session s = trace::stop();
            if (separate) remove_forward_hook(handle);
            std::vector<std::string> ops;
            for (const auto& e : s.events)
                if (e.category == trace::op) ops.push_back(e.name);
            return std::tuple{y, seq.named_parameters()[0].second.grad().clone(),
                              seq.named_parameters()[2].second.grad().clone(), ops};
        };
        auto [y_fused, gw_fused, gbn_fused, ops_fused] = step(false);
        auto [y_plain, gw_plain, gbn_plain, ops_plain] = step(true);
        const std::string fused_op = silu_act ? "batch_norm_silu" : "batch_norm_relu";
        CHECK(std::count(ops_fused.begin(), ops_fused.end(), fused_op) == 1);
        CHECK(std::count(ops_plain.begin(), ops_plain.end(), "batch_norm") == 1);
        CHECK(std::count(ops_plain.begin(), ops_plain.end(), silu_act ? "silu" : "relu") == 1);
        // the running statistics were updated twice (two training steps), equally: the fused path counts batches too
        CHECK(seq.named_buffers()[2].second.item<int64_t>() == 2);
        REQUIRE_THAT(y_fused, ClosesTo(y_plain, 1e-5, 1e-5));
        REQUIRE_THAT(gw_fused, ClosesTo(gw_plain, 1e-4, 1e-4));
        REQUIRE_THAT(gbn_fused, ClosesTo(gbn_plain, 1e-4, 1e-4));
    }
}

TEST_CASE("layers: in inference Sequential folds Conv2d + BatchNorm2d [+ act] into one conv with the layers' result",
          "[nn]") {
    struct Quiet : ForwardHook {  // registered, it makes every module run on its own
        void enter(Module&, const std::vector<Tensor>&) override {}
        void exit(Module&, const std::vector<Tensor>&, const std::vector<Tensor>&) override {}
    };
    manual_seed(4);
    auto stack = [](ModulePtr act, bool conv_bias) {
        std::vector<ModulePtr> layers{std::make_shared<Conv2d>(3, 4, 3, Conv2dArgs{.padding = 1, .bias = conv_bias}),
                                      std::make_shared<BatchNorm2d>(4)};
        if (act) layers.push_back(act);
        layers.push_back(std::make_shared<Conv2d>(4, 2, 1));
        return std::make_shared<Sequential>(layers);
    };
    for (auto [act, conv_bias, fused_op] : {std::tuple{ModulePtr(std::make_shared<ReLU>()), false, "conv2d_relu"},
                                            {ModulePtr(std::make_shared<SiLU>()), true, "conv2d_silu"},
                                            {ModulePtr(), true, "conv2d"}}) {
        INFO("fused op " << fused_op);
        auto seq = stack(act, conv_bias);
        Tensor x = randn({2, 3, 6, 5});
        for (int i = 0; i < 3; ++i) (*seq)(randn({2, 3, 6, 5}) * 2 + 1);  // running statistics away from 0 and 1
        auto* bn = dynamic_cast<BatchNorm2d*>((*seq)[1].get());
        bn->weight.detach().copy_(rand({4}) + 0.5);
        bn->bias.detach().copy_(randn({4}));
        seq->eval();
        auto run = [&](bool separate) {
            const int handle = separate ? add_forward_hook(std::make_shared<Quiet>()) : -1;
            NoGradGuard no_grad;
            trace::start({});
            Tensor y = (*seq)(x);
            const trace::Session s = trace::stop();
            if (separate) remove_forward_hook(handle);
            std::vector<std::string> ops;
            for (const auto& e : s.events)
                if (e.category == trace::op) ops.push_back(e.name);
            return std::pair{y, ops};
        };
        auto [folded, ops_folded] = run(false);
        auto [plain, ops_plain] = run(true);
        CHECK(std::count(ops_folded.begin(), ops_folded.end(), "batch_norm") == 0);
        CHECK(std::count(ops_folded.begin(), ops_folded.end(), std::string(fused_op)) >= 1);
        CHECK(std::count(ops_plain.begin(), ops_plain.end(), "batch_norm") == 1);
        REQUIRE_THAT(folded, ClosesTo(plain, 1e-5, 1e-5));
        // with gradients on, eval runs the layers (batch_norm_act at most): nothing folded
        Tensor with_grad = (*seq)(x);
        REQUIRE_THAT(with_grad, ClosesTo(plain, 1e-5, 1e-5));
    }
}

TEST_CASE("Dropout: identity in eval; in training zeroes p of the elements and scales the rest", "[nn][dropout]") {
    Dropout drop(0.3);
    Tensor x = rand({200000}) + 1.0;  // in [1, 2): never zero itself
    drop.eval();
    REQUIRE(drop(x).is_same(x));
    drop.train();
    manual_seed(5);
    Tensor xl = x.clone().requires_grad_();
    Tensor y = drop(xl);
    const Tensor kept = ne(y, 0.0).to(kFloat32);
    const double kept_fraction = kept.mean().item<double>();
    REQUIRE(kept_fraction == Approx(0.7).margin(0.005));  // 200k draws: the std of the fraction is 0.001
    REQUIRE_THAT(y, ClosesTo(x * kept / 0.7, 1e-6));      // survivors scaled by 1/(1-p)
    y.sum().backward();
    REQUIRE_THAT(xl.grad(), ClosesTo(kept / 0.7, 1e-6));  // the gradient is the same mask
    manual_seed(5);
    REQUIRE_THAT(drop(x), ClosesTo(y, 0, 0));  // reproducible from the seed
    REQUIRE(Dropout(0.0)(x).is_same(x));
    REQUIRE(Dropout(1.0)(x).abs().sum().item<double>() == 0.0);
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

TEST_CASE("layers: bad constructor arguments are ValueErrors naming the layer", "[nn][errors]") {
    REQUIRE(error_of([] { Conv2d(3, 4, 3, {.groups = 2}); }) == "Conv2d: in_channels=3 must be divisible by groups=2");
    REQUIRE(error_of([] { Conv2d(4, 3, 3, {.groups = 2}); }) == "Conv2d: out_channels=3 must be divisible by groups=2");
    REQUIRE(error_of([] { Conv2d(4, 4, 3, {.groups = 0}); }) == "Conv2d: groups must be a positive integer, got 0");
    REQUIRE(error_of([] { Conv2d(4, 4, 0); }) == "Conv2d: kernel_size must be positive, got (0, 0)");
    REQUIRE(error_of([] { ConvTranspose2d(4, 4, 3, {.stride = 2, .output_padding = 2}); }) ==
            "ConvTranspose2d: output_padding (2, 2) must be smaller than either stride (2, 2) or dilation (1, 1)");
    REQUIRE(error_of([] { Linear(-1, 3); }).find("Linear: ") == 0);
    REQUIRE(error_of([] { GroupNorm(4, 6); }) == "GroupNorm: num_channels=6 must be divisible by num_groups=4");
    REQUIRE(error_of([] { BatchNorm2d(0); }) == "BatchNorm2d: num_features must be positive, got 0");
    REQUIRE(error_of([] { PReLU(0); }) == "PReLU: num_parameters must be positive, got 0");
    REQUIRE(error_of([] { MaxPool2d(3, {.padding = 2}); }) ==
            "MaxPool2d: padding (2, 2) should be non-negative and at most half of kernel_size (3, 3)");
    REQUIRE(error_of([] { AvgPool2d(0); }) == "AvgPool2d: kernel_size should be greater than zero, got (0, 0)");
    REQUIRE(error_of([] { Upsample({}); }) == "Upsample: give exactly one of size and scale_factor");
    REQUIRE(error_of([] { Upsample({.size = 4, .scale_factor = 2}); }) ==
            "Upsample: give exactly one of size and scale_factor");
    REQUIRE(error_of([] { Upsample({.scale_factor = 2, .align_corners = true}); }) ==
            "Upsample: align_corners can only be set with the bilinear and bicubic modes");
    REQUIRE(error_of([] { PixelShuffle(0); }) == "PixelShuffle: upscale_factor must be positive, got 0");
    REQUIRE(error_of([] { Dropout(1.5); }) == "Dropout: dropout probability has to be between 0 and 1, but got 1.5");
    REQUIRE(error_of([] { Dropout(-0.1); }) == "Dropout: dropout probability has to be between 0 and 1, but got -0.1");
    REQUIRE(error_of([] { CrossEntropyLoss({.label_smoothing = 1.5}); }) ==
            "CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got 1.5");
    REQUIRE(error_of([] { SmoothL1Loss({.beta = -1}); }) == "SmoothL1Loss: beta must be non-negative, got -1.0");
    REQUIRE_THROWS_AS(Conv2d(3, 4, 3, {.groups = 2}), ValueError);
}

TEST_CASE("layers: wrong input shapes name the layer (or the op) and the shapes", "[nn][errors]") {
    BatchNorm2d bn(8);
    REQUIRE(error_of([&] { bn(randn({2, 8, 5})); }) == "BatchNorm2d(8): expected input [N, 8, H, W], got [2, 8, 5]");
    REQUIRE(error_of([&] {
                bn(randn({2, 4, 5, 5}));
            }) == "BatchNorm2d(8): expected input [N, 8, H, W], got [2, 4, 5, 5]");
    Linear fc(5, 3);
    REQUIRE(error_of([&] {
                fc(randn({2, 4}));
            }) ==
            "Linear(in_features=5, out_features=3): expected input [*, 5], "
            "got [2, 4]");
    GroupNorm gn(2, 6);
    REQUIRE(error_of([&] {
                gn(randn({2, 4, 3, 3}));
            }) == "GroupNorm(2, 6): expected input [N, 6, *], got [2, 4, 3, 3]");
    PReLU prelu(3);
    REQUIRE(error_of([&] {
                prelu(randn({2, 4, 3}));
            }) == "PReLU(num_parameters=3): expected input [N, 3, *], got [2, 4, 3]");
    Conv2d conv(3, 8, 3);  // the op's message is already clear
    REQUIRE(error_of([&] {
                conv(randn({1, 4, 8, 8}));
            }) == "conv2d: weight [8, 3, 3, 3] with groups=1 expects 3 input channels, but input [1, 4, 8, 8] has 4");
    REQUIRE_THROWS_AS(bn(randn({2, 8, 5})), ShapeError);
    MSELoss mse;
    REQUIRE_THROWS_AS(mse(randn({2, 3}), randn({3, 2})), ShapeError);
}

TEST_CASE("NonFiniteWatch: names the first module whose output holds a NaN or an infinity", "[nn][anomaly]") {
    manual_seed(0);
    auto first = std::make_shared<Linear>(3, 4);
    Sequential net({first, std::make_shared<ReLU>(), std::make_shared<Linear>(4, 2)});
    const Tensor x = randn({5, 3});
    {
        NonFiniteWatch watch;
        net(x);
        REQUIRE_FALSE(watch.first().has_value());
    }
    first->bias.data_ptr<float>()[2] = INFINITY;  // every later output is bad too
    NonFiniteWatch watch;
    net(x);
    REQUIRE(watch.first() == std::optional<std::string>("0 (Linear): output 0 [5, 4]"));
}
