// models/pfld/pfld.cpp — InvertedResidual, PFLDInference, AuxiliaryNet and PFLD: construction with the reference's
// modules and names (docs/pfld.md §1), and the forward passes as the reference writes them.
#include "models/pfld/pfld.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "nn/fusion.h"
#include "ops/ops.h"

namespace nabla::models {
namespace {

// The reference's conv_bn(inp, oup, kernel, stride, padding=1): conv (no bias) -> BN -> ReLU, as .0, .1, .2.
std::shared_ptr<nn::Sequential> conv_bn(int64_t inp, int64_t oup, int64_t kernel, int64_t stride) {
    return std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{
        std::make_shared<nn::Conv2d>(inp, oup, kernel, nn::Conv2dArgs{.stride = stride, .padding = 1, .bias = false}),
        std::make_shared<nn::BatchNorm2d>(oup), std::make_shared<nn::ReLU>()});
}

// [N, channels, size, size] or a ShapeError naming the module and the shape.
void check_input(const nn::Module& m, const Tensor& x, int64_t channels, int64_t size, const char* why) {
    NB_CHECK(x.dim() == 4 && x.size(1) == channels && x.size(2) == size && x.size(3) == size, m.type_name(),
             ": expects an input [N, ", channels, ", ", size, ", ", size, "] (", why, "), got ", shape_str(x.shape()));
}

constexpr const char* kWhyBackbone = "its AvgPool2d(14) and AvgPool2d(7) are fixed for 112x112 crops";

}  // namespace

int64_t pfld_channels(int64_t channels, double width) {
    return std::max<int64_t>(1, static_cast<int64_t>(std::floor(static_cast<double>(channels) * width + 0.5)));
}

// ---- InvertedResidual ----

InvertedResidual::InvertedResidual(int64_t inp, int64_t oup, int64_t stride, bool use_res, int64_t expand_ratio)
    : nn::Module("InvertedResidual"), use_res_connect(use_res) {
    NB_CHECK_VALUE(!use_res || (inp == oup && stride == 1),
                   "InvertedResidual: a residual connection needs inp == oup and stride 1, got inp ", inp, ", oup ",
                   oup, ", stride ", stride);
    const int64_t m = inp * expand_ratio;
    conv = register_module("conv",
                           std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{
                               std::make_shared<nn::Conv2d>(inp, m, 1, nn::Conv2dArgs{.bias = false}),
                               std::make_shared<nn::BatchNorm2d>(m), std::make_shared<nn::ReLU>(),
                               std::make_shared<nn::Conv2d>(
                                   m, m, 3, nn::Conv2dArgs{.stride = stride, .padding = 1, .groups = m, .bias = false}),
                               std::make_shared<nn::BatchNorm2d>(m), std::make_shared<nn::ReLU>(),
                               std::make_shared<nn::Conv2d>(m, oup, 1, nn::Conv2dArgs{.bias = false}),
                               std::make_shared<nn::BatchNorm2d>(oup)}));
}

Tensor InvertedResidual::forward(const Tensor& x) { return use_res_connect ? x + (*conv)(x) : (*conv)(x); }

// ---- PFLDInference ----

PFLDInference::PFLDInference(PFLDArgs a) : nn::Module("PFLDInference"), args(a) {
    NB_CHECK_VALUE(a.width > 0 && std::isfinite(a.width), "PFLDInference: width must be positive, got ", a.width);
    const int64_t c64 = pfld_channels(64, a.width), c128 = pfld_channels(128, a.width),
                  c16 = pfld_channels(16, a.width), c32 = pfld_channels(32, a.width);
    auto ir = [this](const char* name, int64_t inp, int64_t oup, int64_t stride, bool res, int64_t t) {
        return register_module(name, std::make_shared<InvertedResidual>(inp, oup, stride, res, t));
    };
    // In the reference's order, which is the state dict's.
    conv1 = register_module(
        "conv1", std::make_shared<nn::Conv2d>(3, c64, 3, nn::Conv2dArgs{.stride = 2, .padding = 1, .bias = false}));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(c64));
    relu = register_module("relu", std::make_shared<nn::ReLU>());
    conv2 = register_module("conv2",
                            std::make_shared<nn::Conv2d>(c64, c64, 3, nn::Conv2dArgs{.padding = 1, .bias = false}));
    bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(c64));
    conv3_1 = ir("conv3_1", c64, c64, 2, false, 2);
    block3_2 = ir("block3_2", c64, c64, 1, true, 2);
    block3_3 = ir("block3_3", c64, c64, 1, true, 2);
    block3_4 = ir("block3_4", c64, c64, 1, true, 2);
    block3_5 = ir("block3_5", c64, c64, 1, true, 2);
    conv4_1 = ir("conv4_1", c64, c128, 2, false, 2);
    conv5_1 = ir("conv5_1", c128, c128, 1, false, 4);  // no residual although the shapes would allow one
    block5_2 = ir("block5_2", c128, c128, 1, true, 4);
    block5_3 = ir("block5_3", c128, c128, 1, true, 4);
    block5_4 = ir("block5_4", c128, c128, 1, true, 4);
    block5_5 = ir("block5_5", c128, c128, 1, true, 4);
    block5_6 = ir("block5_6", c128, c128, 1, true, 4);
    conv6_1 = ir("conv6_1", c128, c16, 1, false, 2);
    conv7 = register_module("conv7", conv_bn(c16, c32, 3, 2));
    conv8 = register_module("conv8", std::make_shared<nn::Conv2d>(c32, c128, 7));
    bn8 = register_module("bn8", std::make_shared<nn::BatchNorm2d>(c128));
    avg_pool1 = register_module("avg_pool1", std::make_shared<nn::AvgPool2d>(14));
    avg_pool2 = register_module("avg_pool2", std::make_shared<nn::AvgPool2d>(7));
    fc = register_module("fc", std::make_shared<nn::Linear>(c16 + c32 + c128, 196));
}

std::vector<Tensor> PFLDInference::forward_outputs(const Tensor& input) {  // input: [N, 3, 112, 112]
    check_input(*this, input, 3, 112, kWhyBackbone);
    Tensor x = nn::conv_bn_act(*conv1, *bn1, *relu, input);  // relu(bn1(conv1(input))) [N, 64, 56, 56]
    x = nn::conv_bn_act(*conv2, *bn2, *relu, x);             // [N, 64, 56, 56]
    x = (*conv3_1)(x);                                       // [N, 64, 28, 28]
    x = (*block3_2)(x);
    x = (*block3_3)(x);
    x = (*block3_4)(x);
    const Tensor out1 = (*block3_5)(x);  // [N, 64, 28, 28], the auxiliary net's input
    x = (*conv4_1)(out1);                // [N, 128, 14, 14]
    x = (*conv5_1)(x);
    x = (*block5_2)(x);
    x = (*block5_3)(x);
    x = (*block5_4)(x);
    x = (*block5_5)(x);
    x = (*block5_6)(x);
    x = (*conv6_1)(x);                                     // [N, 16, 14, 14]
    const Tensor x1 = (*avg_pool1)(x).flatten(1);          // S1 [N, 16]
    x = (*conv7)(x);                                       // [N, 32, 7, 7]
    const Tensor x2 = (*avg_pool2)(x).flatten(1);          // S2 [N, 32]
    const Tensor x3 = (*relu)((*conv8)(x)).flatten(1);     // S3 [N, 128]; bn8 is skipped, as in the reference
    const Tensor landmarks = (*fc)(cat({x1, x2, x3}, 1));  // [N, 196]
    return {out1, landmarks};
}

// ---- AuxiliaryNet ----

AuxiliaryNet::AuxiliaryNet(PFLDArgs a) : nn::Module("AuxiliaryNet"), args(a) {
    NB_CHECK_VALUE(a.width > 0 && std::isfinite(a.width), "AuxiliaryNet: width must be positive, got ", a.width);
    const int64_t c64 = pfld_channels(64, a.width), c128 = pfld_channels(128, a.width),
                  c32 = pfld_channels(32, a.width);
    conv1 = register_module("conv1", conv_bn(c64, c128, 3, 2));
    conv2 = register_module("conv2", conv_bn(c128, c128, 3, 1));
    conv3 = register_module("conv3", conv_bn(c128, c32, 3, 2));
    conv4 = register_module("conv4", conv_bn(c32, c128, 7, 1));  // padding 1, the helper's default: 7x7 -> 3x3
    max_pool1 = register_module("max_pool1", std::make_shared<nn::MaxPool2d>(3));
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(c128, c32));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(c32, 3));
}

Tensor AuxiliaryNet::forward(const Tensor& out1) {  // out1: [N, 64, 28, 28]
    check_input(*this, out1, pfld_channels(64, args.width), 28, "the backbone's block3_5 output");
    Tensor x = (*conv1)(out1);       // [N, 128, 14, 14]
    x = (*conv2)(x);                 // [N, 128, 14, 14]
    x = (*conv3)(x);                 // [N, 32, 7, 7]
    x = (*conv4)(x);                 // [N, 128, 3, 3]
    x = (*max_pool1)(x).flatten(1);  // [N, 128]
    return (*fc2)((*fc1)(x));        // [N, 3]; no activation between fc1 and fc2, as the reference
}

// ---- PFLD ----

PFLD::PFLD(PFLDArgs a) : nn::Module("PFLD"), args(a) {
    NB_CHECK_VALUE(a.width > 0 && std::isfinite(a.width), "PFLD: width must be positive, got ", a.width);
    backbone = register_module("backbone", std::make_shared<PFLDInference>(a));
    auxiliarynet = register_module("auxiliarynet", std::make_shared<AuxiliaryNet>(a));
}

std::vector<Tensor> PFLD::forward_outputs(const Tensor& x) {  // x: [N, 3, 112, 112]
    check_input(*this, x, 3, 112, kWhyBackbone);
    std::vector<Tensor> out = backbone->call_outputs(x);  // {features, landmarks}
    out.push_back((*auxiliarynet)(out[0]));               // angles
    return out;
}

Tensor PFLD::forward(const Tensor& x) {
    check_input(*this, x, 3, 112, kWhyBackbone);
    return (*backbone)(x);
}

}  // namespace nabla::models
