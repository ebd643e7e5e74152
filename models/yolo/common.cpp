// models/yolo/common.cpp — Conv, Bottleneck, C3, SPPF and Concat (docs/yolo.md §2): construction with ultralytics'
// names and widths, and their forward passes.
#include "models/yolo/common.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/trace/trace.h"
#include "nn/fusion.h"
#include "nn/linear.h"
#include "ops/ops.h"

namespace nabla::models {

int64_t autopad(int64_t k, std::optional<int64_t> p) { return p ? *p : k / 2; }

// ---- Conv ----

Conv::Conv(int64_t c1, int64_t c2, int64_t k, int64_t s, std::optional<int64_t> p, int64_t g, bool with_act)
    : nn::Module("Conv") {
    NB_CHECK_VALUE(c1 >= 1 && c2 >= 1 && k >= 1 && s >= 1 && g >= 1,
                   "Conv: channels, kernel, stride and groups must be positive, got c1 ", c1, ", c2 ", c2, ", k ", k,
                   ", s ", s, ", g ", g);
    conv = register_module(
        "conv", std::make_shared<nn::Conv2d>(
                    c1, c2, k, nn::Conv2dArgs{.stride = s, .padding = autopad(k, p), .groups = g, .bias = false}));
    bn = register_module("bn",
                         std::make_shared<nn::BatchNorm2d>(
                             c2, nn::BatchNorm2dArgs{.eps = kYoloBatchNormEps, .momentum = kYoloBatchNormMomentum}));
    act = with_act ? register_module("act", nn::ModulePtr(std::make_shared<nn::SiLU>()))
                   : register_module("act", nn::ModulePtr(std::make_shared<nn::Identity>()));
}

// act(bn(conv(x))), with the fusions of nn/fusion.h (ultralytics' fuse() folds the same BatchNorm for inference)
Tensor Conv::forward(const Tensor& x) { return nn::conv_bn_act(*conv, *bn, *act, x); }

// ---- Bottleneck ----

Bottleneck::Bottleneck(int64_t c1, int64_t c2, bool shortcut, int64_t g, double e, std::optional<int64_t> hidden)
    : nn::Module("Bottleneck"), add(shortcut && c1 == c2) {
    const int64_t c_ = hidden ? *hidden : static_cast<int64_t>(static_cast<double>(c2) * e);  // Python's int()
    NB_CHECK_VALUE(c_ >= 1, "Bottleneck: the hidden width must be positive, got ", c_, " (c2 ", c2, ", e ", e, ")");
    cv1 = register_module("cv1", std::make_shared<Conv>(c1, c_, 1, 1));
    cv2 = register_module("cv2", std::make_shared<Conv>(c_, c2, 3, 1, std::nullopt, g));
}

Tensor Bottleneck::forward(const Tensor& x) {
    Tensor y = (*cv2)((*cv1)(x));
    return add ? x + y : y;
}

// ---- C3 ----

C3Widths C3Widths::of(int64_t c2, int64_t n, double e) {
    const int64_t c_ = static_cast<int64_t>(static_cast<double>(c2) * e);
    C3Widths w{.cv1 = c_, .cv2 = c_, .m = {}};
    w.m.assign(static_cast<size_t>(std::max<int64_t>(n, 0)), Block{.hidden = c_, .out = c_});
    return w;
}

C3::C3(int64_t c1, int64_t c2, int64_t n, bool shortcut, int64_t g, double e, const std::optional<C3Widths>& widths)
    : nn::Module("C3") {
    NB_CHECK_VALUE(n >= 1, "C3: needs at least one bottleneck, got n = ", n);
    const C3Widths w = widths ? *widths : C3Widths::of(c2, n, e);
    NB_CHECK_VALUE(static_cast<int64_t>(w.m.size()) == n, "C3: n = ", n, " bottlenecks but widths for ", w.m.size());
    cv1 = register_module("cv1", std::make_shared<Conv>(c1, w.cv1, 1, 1));
    cv2 = register_module("cv2", std::make_shared<Conv>(c1, w.cv2, 1, 1));
    m = register_module("m", std::make_shared<nn::Sequential>());
    int64_t in = w.cv1;
    for (const C3Widths::Block& b : w.m) {  // e = 1.0 inside a C3: the hidden width is the block's own
        m->push_back(std::make_shared<Bottleneck>(in, b.out, shortcut, g, 1.0, b.hidden));
        in = b.out;
    }
    cv3 = register_module("cv3", std::make_shared<Conv>(in + w.cv2, c2, 1));
}

Tensor C3::forward(const Tensor& x) { return (*cv3)(cat({(*m)((*cv1)(x)), (*cv2)(x)}, 1)); }

// ---- SPPF ----

SPPF::SPPF(int64_t c1, int64_t c2, int64_t k, std::optional<int64_t> hidden) : nn::Module("SPPF") {
    const int64_t c_ = hidden ? *hidden : c1 / 2;
    NB_CHECK_VALUE(c_ >= 1 && k >= 1 && k % 2 == 1, "SPPF: needs a positive hidden width and an odd kernel, got c_ ",
                   c_, ", k ", k);
    cv1 = register_module("cv1", std::make_shared<Conv>(c1, c_, 1, 1));
    cv2 = register_module("cv2", std::make_shared<Conv>(4 * c_, c2, 1, 1));
    m = register_module("m", std::make_shared<nn::MaxPool2d>(k, nn::MaxPool2dArgs{.stride = 1, .padding = k / 2}));
}

Tensor SPPF::forward(const Tensor& x) {
    const Tensor x1 = (*cv1)(x);
    const Tensor y1 = (*m)(x1);
    const Tensor y2 = (*m)(y1);
    return (*cv2)(cat({x1, y1, y2, (*m)(y2)}, 1));
}

// ---- Concat ----

Concat::Concat(int64_t dimension) : nn::Module("Concat"), d(dimension) {}

Tensor Concat::forward(const std::vector<Tensor>& xs) { return cat(xs, d); }

Tensor Concat::operator()(const std::vector<Tensor>& xs) {
    trace::ModuleScope trace_scope([this] {
        std::string p = path();
        return p.empty() ? type_name() : p;
    });
    nn::CallScope scope(*this, xs);
    return scope.finish(forward(xs));
}

std::string Concat::extra_repr() const { return fmt::format("dimension={}", d); }

}  // namespace nabla::models
