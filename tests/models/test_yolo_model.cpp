// tests/models/test_yolo_model.cpp — models/yolo/yolo.h: YOLOv5 v6.0 from its model yaml. yolov5s's parameter count,
// per-layer table and ultralytics' state-dict keys (docs/yolo.md §1, §3); the anchors in grid units, the strides and
// the Detect bias prior (§4); the outputs' shapes and the decoding (§5); a narrow YOLOv5's outputs and every gradient
// against its PyTorch twin in float64 (tests/fixtures/make_models.py); channel overrides (§6); the five built-in
// model files; and errors that name the model file.
#include <cmath>
#include <fstream>
#include <sstream>

#include "models/yolo/yolo.h"
#include "nn/container.h"
#include "support/support.h"

using namespace nabla::models;

namespace {

// make_models.py: YOLO_MINI_ARGS (the yolov5s file at width 0.0625: widths 8 to 64; nc 3)
YOLOv5Args mini_args() { return {.nc = 3, .depth_multiple = 0.33, .width_multiple = 0.0625}; }

std::vector<nn::BatchNorm2d*> batch_norms(YOLOv5& model) {
    std::vector<nn::BatchNorm2d*> out;
    for (auto& [name, m] : model.named_modules())
        if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(m)) out.push_back(bn);
    return out;
}

}  // namespace

TEST_CASE("YOLOv5s: 7235389 parameters and ultralytics' table and keys", "[yolo]") {
    manual_seed(0);
    YOLOv5 model("yolov5s");
    REQUIRE(model.num_parameters() == 7235389);
    REQUIRE(model.nc == 80);
    const TensorMap sd = model.state_dict();
    REQUIRE(sd.size() == 349);  // 57 Conv+BN pairs x 6 entries + the anchors + 3 x (weight, bias)
    require_keys_match(sd, "models/yolov5s_keys");
    REQUIRE(sd.at("model.0.conv.weight").shape() == Shape{32, 3, 6, 6});
    REQUIRE(sd.at("model.8.m.0.cv2.conv.weight").shape() == Shape{256, 256, 3, 3});
    REQUIRE(sd.at("model.9.cv2.conv.weight").shape() == Shape{512, 1024, 1, 1});  // SPPF: 4 x 256 in
    REQUIRE(sd.at("model.24.m.0.weight").shape() == Shape{255, 128, 1, 1});
    REQUIRE(sd.at("model.24.m.2.bias").shape() == Shape{255});
    REQUIRE(sd.at("model.24.anchors").shape() == Shape{3, 3, 2});
    REQUIRE(sd.at("model.0.bn.num_batches_tracked").dtype() == kInt64);
    REQUIRE_FALSE(sd.count("model.0.conv.bias"));
    // The resolved table (docs/yolo.md §3): out channels and parameters of every layer.
    const std::vector<int64_t> out = {32,  64,  64,  128, 128, 256, 256, 512, 512, 512, 256, 256, 512,
                                      256, 128, 128, 256, 128, 128, 256, 256, 256, 512, 512, 0};
    const std::vector<int64_t> params = {3520,   18560,  18816,  73984,  115712, 295424,  625152, 1180672, 1182720,
                                         656896, 131584, 0,      0,      361984, 33024,   0,      0,       90880,
                                         147712, 0,      296448, 590336, 0,      1182720, 229245};
    REQUIRE(model.layers.size() == 25);
    for (size_t i = 0; i < 25; ++i) {
        INFO("model." << i << " " << model.layers[i].module);
        REQUIRE(model.layers[i].out_channels == out[i]);
        REQUIRE((*model.model)[static_cast<int64_t>(i)]->num_parameters() == params[i]);
    }
    REQUIRE(model.layers[2].n == 1);  // 3 x 0.33
    REQUIRE(model.layers[4].n == 2);  // 6 x 0.33 = 1.98
    REQUIRE(model.layers[6].n == 3);  // 9 x 0.33 = 2.97
    REQUIRE(model.layers[19].inputs == std::vector<int64_t>{18, 14});
    REQUIRE(model.layers[24].inputs == std::vector<int64_t>{17, 20, 23});
    // Layer 0 pads by 2 (explicit in the yaml; autopad would give 3); Bottleneck residuals only in the backbone.
    REQUIRE(model.model->at<Conv>(0)->conv->options.padding == Int2(2));
    REQUIRE(model.model->at<C3>(4)->m->at<Bottleneck>(1)->add);
    REQUIRE_FALSE(model.model->at<C3>(13)->m->at<Bottleneck>(0)->add);
    // Every BatchNorm: eps 1e-3, momentum 0.03.
    const auto bns = batch_norms(model);
    REQUIRE(bns.size() == 57);
    for (const auto* bn : bns) {
        REQUIRE(bn->options.eps == 1e-3);
        REQUIRE(bn->options.momentum.value() == 0.03);
    }
    const std::string table = model.info();  // ultralytics' build log
    REQUIRE_THAT(table, Catch::Contains("[17, 20, 23]") && Catch::Contains("229245") && Catch::Contains("7235389"));
    // nc = 20 (VOC): 7,073,569 (Detect has 899 x no parameters, no = 3 x 25).
    REQUIRE(YOLOv5("yolov5s", {.nc = 20}).num_parameters() == 7073569);
}

TEST_CASE("YOLOv5: strides 8/16/32 from the probe and anchors in grid units and the Detect bias prior", "[yolo]") {
    manual_seed(1);
    YOLOv5 model("yolov5s", {.nc = 80, .width_multiple = 0.125});  // the head's build does not depend on the widths
    REQUIRE(model.stride == std::vector<double>{8, 16, 32});
    Detect& d = model.detect();
    REQUIRE(d.stride == model.stride);
    REQUIRE((d.nl == 3 && d.na == 3 && d.no == 85));
    // Pixels / stride: P3 (10,13) (16,30) (33,23) / 8; P4 (30,61) (62,45) (59,119) / 16; P5 (116,90) (156,198)
    // (373,326) / 32.
    const Tensor expected = t32({10 / 8.f, 13 / 8.f, 16 / 8.f, 30 / 8.f, 33 / 8.f, 23 / 8.f,         //
                                 30 / 16.f, 61 / 16.f, 62 / 16.f, 45 / 16.f, 59 / 16.f, 119 / 16.f,  //
                                 116 / 32.f, 90 / 32.f, 156 / 32.f, 198 / 32.f, 373 / 32.f, 326 / 32.f},
                                {3, 3, 2});
    REQUIRE_THAT(model.state_dict().at("model.24.anchors"), ClosesTo(expected, 0, 0));
    // Bias = PyTorch's U(+-1/sqrt(fan_in)) + ln(8 / (640 / s)^2) on the objectness, + ln(0.6 / (nc - 0.99)) on the
    // classes (-6.685, -5.298, -3.912 and -4.880 for nc 80).
    const double cls = std::log(0.6 / (80 - 0.99));
    REQUIRE(cls == Approx(-4.880).margin(5e-4));
    for (int64_t i = 0; i < 3; ++i) {
        const auto conv = d.m->at<nn::Conv2d>(i);
        const double bound = 1.0 / std::sqrt(static_cast<double>(conv->in_channels));
        const double s = model.stride[static_cast<size_t>(i)], obj = std::log(8.0 / std::pow(640.0 / s, 2));
        REQUIRE(obj == Approx(std::vector<double>{-6.685, -5.298, -3.912}[static_cast<size_t>(i)]).margin(5e-4));
        const Tensor b = conv->bias.detach().view({3, 85});
        for (int64_t a = 0; a < 3; ++a)
            for (int64_t k = 0; k < 85; ++k) {
                const double offset = k == 4 ? obj : k >= 5 ? cls : 0.0;
                const double v = b.select(0, a).select(0, k).item<double>() - offset;
                INFO("level " << i << " anchor " << a << " output " << k);
                REQUIRE(std::abs(v) <= bound + 1e-6);
            }
    }
    // The prior exactly, on a Detect built alone: the bias moves by the offsets and nothing else.
    Detect alone(2, {{10, 13, 16, 30}, {30, 61, 62, 45}}, {8, 16});
    alone.stride = {8, 16};
    const Tensor before = alone.m->at<nn::Conv2d>(1)->bias.detach().clone();
    alone.initialize_biases();
    const Tensor moved = (alone.m->at<nn::Conv2d>(1)->bias.detach() - before).view({2, 7});
    const float o = static_cast<float>(std::log(8.0 / 1600.0)), c = static_cast<float>(std::log(0.6 / 1.01));
    REQUIRE_THAT(moved, ClosesTo(t32({0, 0, 0, 0, o, c, c, 0, 0, 0, 0, o, c, c}, {2, 7}), 1e-6, 0));
    // The probe ran in training mode but leaves fresh BatchNorm statistics.
    for (const auto* bn : batch_norms(model)) {
        REQUIRE(bn->num_batches_tracked.item<int64_t>() == 0);
        REQUIRE(bn->running_var.sum().item<double>() == bn->num_features);
    }
}

TEST_CASE("YOLOv5: raw maps in training and decoded rows with the raw maps in eval", "[yolo]") {
    manual_seed(2);
    YOLOv5 model("yolov5s", mini_args());
    const Tensor x = rand({2, 3, 64, 96});  // H 64, W 96: P3 8x12, P4 4x6, P5 2x3
    const auto train = model.call_outputs(x);
    REQUIRE(train.size() == 3);
    REQUIRE(train[0].shape() == Shape{2, 3, 8, 12, 8});
    REQUIRE(train[1].shape() == Shape{2, 3, 4, 6, 8});
    REQUIRE(train[2].shape() == Shape{2, 3, 2, 3, 8});
    REQUIRE_THROWS_WITH(model(x), Catch::Contains("YOLOv5") && Catch::Contains("call_outputs"));
    NoGradGuard no_grad;
    model.eval();
    const auto out = model.call_outputs(x);
    REQUIRE(out.size() == 4);
    REQUIRE(out[0].shape() == Shape{2, 3 * (8 * 12 + 4 * 6 + 2 * 3), 8});
    REQUIRE_THAT(model(x), ClosesTo(out[0], 0, 0));
    // One row by hand: level 1 (stride 16), anchor 2, row 3, column 5 of sample 1; the rows of a level are
    // anchor-major, then row, then column, after the rows of the levels before it.
    const Tensor raw = out[2].select(0, 1).select(0, 2).select(0, 3).select(0, 5);  // [8]
    const Tensor row = out[0].select(0, 1).select(0, 3 * 8 * 12 + 2 * 4 * 6 + 3 * 6 + 5);
    auto sig = [&](int64_t k) { return 1.0 / (1.0 + std::exp(-raw.select(0, k).item<double>())); };
    const Tensor anchors = model.detect().anchors;  // grid units
    const double aw = anchors.select(0, 1).select(0, 2).select(0, 0).item<double>() * 16;
    const double ah = anchors.select(0, 1).select(0, 2).select(0, 1).item<double>() * 16;
    REQUIRE(aw == 59);
    REQUIRE(ah == 119);
    const Tensor want =
        t32({static_cast<float>((2 * sig(0) - 0.5 + 5) * 16), static_cast<float>((2 * sig(1) - 0.5 + 3) * 16),
             static_cast<float>(std::pow(2 * sig(2), 2) * aw), static_cast<float>(std::pow(2 * sig(3), 2) * ah),
             static_cast<float>(sig(4)), static_cast<float>(sig(5)), static_cast<float>(sig(6)),
             static_cast<float>(sig(7))},
            {8});
    REQUIRE_THAT(row, ClosesTo(want, 1e-5, 1e-5));
    // Wrong inputs name the model and the shape.
    REQUIRE_THROWS_WITH(model.call_outputs(zeros({1, 3, 64, 80})), Catch::Contains("YOLOv5") &&
                                                                       Catch::Contains("multiples of 32") &&
                                                                       Catch::Contains("[1, 3, 64, 80]"));
    REQUIRE_THROWS_WITH(model.call_outputs(zeros({1, 1, 64, 64})),
                        Catch::Contains("YOLOv5") && Catch::Contains("[1, 1, 64, 64]"));
}

TEST_CASE("YOLOv5: a narrow model's outputs and every gradient equal PyTorch's in float64 (train and eval)", "[yolo]") {
    YOLOv5 model("yolov5s", mini_args());
    model.to(kFloat64);
    model.load_state_dict(load_fixture("models/yolov5_mini_weights"));
    const TensorMap io = load_fixture("models/yolov5_mini_io");
    const Tensor x = io.at("input");  // [2, 3, 64, 64] float64
    {
        NoGradGuard no_grad;
        model.eval();
        const auto out = model.call_outputs(x);
        REQUIRE(out.size() == 4);
        for (size_t k = 0; k < 4; ++k) {
            INFO("eval out" << k);
            REQUIRE_THAT(out[k], ClosesTo(io.at(fmt::format("eval.out{}", k)), 1e-10, 1e-8));
        }
    }
    model.train();
    const auto out = model.call_outputs(x);
    REQUIRE(out.size() == 3);
    for (size_t k = 0; k < 3; ++k) {
        INFO("train out" << k);
        REQUIRE_THAT(out[k], ClosesTo(io.at(fmt::format("train.out{}", k)), 1e-10, 1e-8));
    }
    (out[0].sum() + out[1].sum() + out[2].sum()).backward();
    const int64_t checked = require_grads_match(model, io, 1e-9, 1e-7);
    REQUIRE(checked == 57 * 3 + 6);  // conv weight, BN weight and bias per Conv; Detect's weight and bias per level
    const TensorMap sd = model.state_dict();
    int64_t stats = 0;
    for (const auto& [key, value] : io) {
        if (!key.starts_with("after.")) continue;
        INFO(key);
        REQUIRE_THAT(sd.at(key.substr(6)), ClosesTo(value, 1e-12, 1e-10));  // momentum 0.03 from the fixture's values
        ++stats;
    }
    REQUIRE(stats == 57 * 2);
}

TEST_CASE("YOLOv5: explicit channels rebuild a thinner network of the same class", "[yolo]") {
    manual_seed(3);
    const std::map<std::string, int64_t> pruned = {
        {"model.0", 5},         {"model.6.cv2.bn", 10},  {"model.6.cv3", 20},     {"model.9.cv1", 12},
        {"model.13.cv1", 3},    {"model.13.m.0.cv1", 2}, {"model.13.m.0.cv2", 6}, {"model.17.cv3.bn", 7},
        {"model.2.m.0.cv1", 3},  // a bottleneck's hidden width may change; its output may not (residual)
    };
    YOLOv5 base("yolov5s", mini_args());
    YOLOv5Args args = mini_args();
    args.channels = pruned;
    YOLOv5 thin("yolov5s", args);
    REQUIRE(thin.num_parameters() < base.num_parameters());
    const TensorMap sd = thin.state_dict();
    REQUIRE(sd.size() == base.state_dict().size());  // the same keys, other shapes
    REQUIRE(sd.at("model.0.conv.weight").shape() == Shape{5, 3, 6, 6});
    REQUIRE(sd.at("model.1.conv.weight").shape() == Shape{8, 5, 3, 3});
    REQUIRE(sd.at("model.2.m.0.cv1.conv.weight").shape() == Shape{3, 4, 1, 1});
    REQUIRE(sd.at("model.2.m.0.cv2.conv.weight").shape() == Shape{4, 3, 3, 3});
    REQUIRE(thin.model->at<C3>(2)->m->at<Bottleneck>(0)->add);
    REQUIRE(sd.at("model.6.cv3.conv.weight").shape() == Shape{20, 16 + 10, 1, 1});  // m's 16 + cv2's 10
    REQUIRE(sd.at("model.7.conv.weight").shape() == Shape{64, 20, 3, 3});
    REQUIRE(sd.at("model.9.cv1.conv.weight").shape() == Shape{12, 64, 1, 1});
    REQUIRE(sd.at("model.9.cv2.conv.weight").shape() == Shape{64, 48, 1, 1});
    REQUIRE(sd.at("model.13.cv1.conv.weight").shape() == Shape{3, 32 + 20, 1, 1});  // concat of model.10 and model.6
    REQUIRE(sd.at("model.13.m.0.cv1.conv.weight").shape() == Shape{2, 3, 1, 1});
    REQUIRE(sd.at("model.13.cv3.conv.weight").shape() == Shape{32, 6 + 16, 1, 1});
    REQUIRE(sd.at("model.17.cv3.bn.weight").shape() == Shape{7});
    REQUIRE(sd.at("model.18.conv.weight").shape() == Shape{16, 7, 3, 3});
    REQUIRE(sd.at("model.24.m.0.weight").shape() == Shape{24, 7, 1, 1});  // the outputs do not change
    // channels() gives every Conv's width, the overrides among them; it and the weights alone rebuild the network.
    const auto widths = thin.channels();
    REQUIRE(widths.size() == 57);
    REQUIRE(widths.at("model.17.cv3") == 7);
    REQUIRE(widths.at("model.9.cv2") == 64);
    REQUIRE(YOLOv5::channels_from_state_dict(sd) == widths);
    const Tensor x = rand({1, 3, 64, 64});
    REQUIRE(thin.call_outputs(x)[0].shape() == Shape{1, 3, 8, 8, 8});  // a training forward runs
    YOLOv5Args again = mini_args();
    again.channels = YOLOv5::channels_from_state_dict(thin.state_dict());
    YOLOv5 rebuilt("yolov5s", again);
    rebuilt.load_state_dict(thin.state_dict());  // strict: the same keys with the same shapes
    thin.eval();
    rebuilt.eval();
    NoGradGuard no_grad;
    const auto a = thin.call_outputs(x), b = rebuilt.call_outputs(x);
    REQUIRE(a[0].shape() == Shape{1, 252, 8});
    REQUIRE_THAT(b[0], ClosesTo(a[0], 0, 0));
    // Keys that name no Conv, widths below 1, and a residual broken, each an error naming the key.
    auto build = [](std::map<std::string, int64_t> channels) {
        YOLOv5Args a = mini_args();
        a.channels = std::move(channels);
        return YOLOv5("yolov5s", a);
    };
    REQUIRE_THROWS_WITH(build({{"model.11", 4}}),
                        Catch::Contains("yolov5s.yaml") && Catch::Contains("no Conv model.11"));
    REQUIRE_THROWS_WITH(build({{"model.24.m.0", 4}}), Catch::Contains("no Conv model.24.m.0"));
    REQUIRE_THROWS_WITH(build({{"model.3", 0}}), Catch::Contains("model.3 must be at least 1"));
    REQUIRE_THROWS_WITH(build({{"model.4.m.1.cv2", 4}}),
                        Catch::Contains("layer 4 (C3)") && Catch::Contains("model.4.m.1 is a residual block"));
    REQUIRE_THROWS_WITH(build({{"model.2.cv1", 3}}), Catch::Contains("model.2.m.0 is a residual block"));
    REQUIRE_THROWS_WITH(build({{"model.5", 4}, {"model.5.bn", 6}}), Catch::Contains("two keys name the Conv model.5"));
}

TEST_CASE("YOLOv5: the five built-in model files build with their widths and parameter counts", "[yolo]") {
    // Parameters as PyTorch counts them for the unfused network (BatchNorm included), computed with the twin in
    // scripts/torch_models.py; docs/yolo.md §3 relates them to the README's 1.9M/7.2M/21.2M/46.5M/86.7M, which count
    // the fused network (BatchNorm folded into the convolutions: minus one parameter per BatchNorm channel).
    struct Variant {
        const char* name;
        double depth, width;
        int64_t params, bn_channels;
        std::vector<int64_t> repeats;  // C3 layers 2, 4, 6, 8, 13, 17, 20, 23
    };
    const std::vector<Variant> variants = {
        {"yolov5n", 0.33, 0.25, 1872157, 4752, {1, 2, 3, 1, 1, 1, 1, 1}},
        {"yolov5s", 0.33, 0.50, 7235389, 9504, {1, 2, 3, 1, 1, 1, 1, 1}},
        {"yolov5m", 0.67, 0.75, 21190557, 18384, {2, 4, 6, 2, 2, 2, 2, 2}},
        {"yolov5l", 1.0, 1.0, 46563709, 30016, {3, 6, 9, 3, 3, 3, 3, 3}},
        {"yolov5x", 1.33, 1.25, 86749405, 44400, {4, 8, 12, 4, 4, 4, 4, 4}},
    };
    REQUIRE(YoloYaml::builtin_names() ==
            std::vector<std::string>{"yolov5l", "yolov5m", "yolov5n", "yolov5s", "yolov5x"});
    for (const Variant& v : variants) {
        INFO(v.name);
        manual_seed(0);
        YOLOv5 model(v.name);
        REQUIRE(model.depth_multiple == v.depth);
        REQUIRE(model.width_multiple == v.width);
        REQUIRE(model.num_parameters() == v.params);
        int64_t channels = 0;
        for (const auto* bn : batch_norms(model)) channels += bn->num_features;
        REQUIRE(channels == v.bn_channels);
        const auto width = [&](int64_t c) { return static_cast<int64_t>(std::ceil(c * v.width / 8)) * 8; };
        REQUIRE(model.layers[0].out_channels == width(64));
        REQUIRE(model.layers[9].out_channels == width(1024));
        REQUIRE(model.layers[17].out_channels == width(256));
        const std::vector<int64_t> c3 = {2, 4, 6, 8, 13, 17, 20, 23};
        for (size_t k = 0; k < c3.size(); ++k) REQUIRE(model.model->at<C3>(c3[k])->m->size() == v.repeats[k]);
        REQUIRE(model.stride == std::vector<double>{8, 16, 32});
        // The built-in text is the repository's file.
        std::ifstream in(std::string(NABLA_SOURCE_DIR) + "/models/yolo/configs/" + v.name + ".yaml");
        std::stringstream text;
        text << in.rdbuf();
        REQUIRE(YoloYaml::builtin(v.name).text == text.str());
    }
    // A path works as well as a name, and reads the same file.
    const std::string path = std::string(NABLA_SOURCE_DIR) + "/models/yolo/configs/yolov5n.yaml";
    manual_seed(0);
    REQUIRE(YOLOv5(path).num_parameters() == 1872157);
}

TEST_CASE("YOLOv5: a bad model file is an error naming the file and the line and the layer", "[yolo]") {
    const std::string good = YoloYaml::builtin("yolov5n").text;
    auto with = [&](const std::string& from, const std::string& to) {
        std::string t = good;
        const auto at = t.find(from);
        REQUIRE(at != std::string::npos);
        return YoloYaml::from_text(t.replace(at, from.size(), to), "my.yaml");
    };
    REQUIRE_THROWS_WITH(YOLOv5(with("[-1, 1, SPPF, [1024, 5]]", "[-1, 1, SPPX, [1024, 5]]")),
                        Catch::Contains("YOLOv5: my.yaml: line 26: layer 9 (SPPX): unknown module 'SPPX'"));
    REQUIRE_THROWS_WITH(YOLOv5(with("\nhead:", "\nneck:")), Catch::Contains("YOLOv5: my.yaml: missing key 'head'"));
    REQUIRE_THROWS_WITH(YOLOv5(with("depth_multiple: 0.33", "")),
                        Catch::Contains("my.yaml: missing key 'depth_multiple'"));
    REQUIRE_THROWS_WITH(YOLOv5(with("[-1, 3, C3, [128]]", "[-1, 3, C3, [many]]")),
                        Catch::Contains("layer 2 (C3): argument 0 (c2) expects an integer, got 'many'"));
    REQUIRE_THROWS_WITH(YOLOv5(with("[[-1, 6], 1, Concat, [1]]", "[[-1, 16], 1, Concat, [1]]")),
                        Catch::Contains("layer 12 (Concat): from: [-1, 16] must name earlier layers"));
    REQUIRE_THROWS_WITH(YOLOv5(with("[-1, 1, Conv, [512, 1, 1]]", "[-1, 1, Conv, [512, 1, 1]")),
                        Catch::Contains("my.yaml: line") && Catch::Contains("not valid YAML"));
    REQUIRE_THROWS_WITH(YOLOv5(with("  - [116,90, 156,198, 373,326]  # P5/32\n", "")),
                        Catch::Contains("layer 24 (Detect): 2 levels of anchors for 3 inputs"));
    // Files and names.
    REQUIRE_THROWS_WITH(YoloYaml::file("/nonexistent/model.yaml"),
                        Catch::Contains("/nonexistent/model.yaml") && Catch::Contains("cannot read"));
    REQUIRE_THROWS_WITH(YOLOv5("yolov5q"), Catch::Contains("'yolov5q' is neither a built-in model (yolov5l, "));
    REQUIRE_THROWS_WITH(YoloYaml::builtin("yolov7"), Catch::Contains("no built-in model 'yolov7'"));
}

TEST_CASE("YOLOv5 blocks: SPPF is SPP(5 9 13) and C3 and Bottleneck are wired as ultralytics", "[yolo]") {
    manual_seed(4);
    NoGradGuard no_grad;
    SPPF sppf(8, 6);
    sppf.eval();
    const Tensor x = randn({2, 8, 9, 7});
    const Tensor x1 = (*sppf.cv1)(x);
    auto pool = [&](int64_t k) { return max_pool2d(x1, {.kernel_size = k, .stride = 1, .padding = k / 2}); };
    REQUIRE(sppf.cv1->conv->out_channels == 4);  // half the input
    REQUIRE_THAT(sppf(x), ClosesTo((*sppf.cv2)(cat({x1, pool(5), pool(9), pool(13)}, 1)), 0, 0));
    C3 c3(8, 12, 2, true);
    c3.eval();
    REQUIRE(c3.cv1->conv->out_channels == 6);
    REQUIRE(c3.m->size() == 2);
    REQUIRE(c3.m->at<Bottleneck>(0)->cv1->conv->out_channels == 6);  // e = 1.0 inside a C3
    const Tensor y = (*c3.m)((*c3.cv1)(x));
    REQUIRE_THAT(c3(x), ClosesTo((*c3.cv3)(cat({y, (*c3.cv2)(x)}, 1)), 0, 0));
    Bottleneck plain(8, 8, false), residual(8, 8, true), mismatch(8, 6, true);
    REQUIRE_FALSE(plain.add);
    REQUIRE(residual.add);
    REQUIRE_FALSE(mismatch.add);                     // shortcut asked for, but the widths differ
    REQUIRE(residual.cv1->conv->out_channels == 4);  // int(8 * 0.5)
    residual.eval();
    REQUIRE_THAT(residual(x), ClosesTo(x + (*residual.cv2)((*residual.cv1)(x)), 0, 0));
    Concat concat;
    REQUIRE(concat({x, x1}).shape() == Shape{2, 12, 9, 7});
    REQUIRE(Conv(3, 4, 3).conv->options.padding == Int2(1));  // autopad
    REQUIRE(Conv(3, 4, 6, 2, 2).conv->options.padding == Int2(2));
}
