// models/yolo/common.h — the building blocks of YOLOv5 (ultralytics/yolov5 v6.0), with the same module and member
// names, so that the state-dict keys of a model built from them are ultralytics' own (docs/yolo.md §2).
//
//   Conv        Conv2d(c1, c2, k, s, autopad, groups g, no bias) -> BatchNorm2d(eps 1e-3, momentum 0.03) -> SiLU
//               members conv, bn, act; autopad: padding k / 2 unless given (layer 0 of v6.0 gives 2 for k 6)
//   Bottleneck  cv1 = Conv(c1, c_, 1), cv2 = Conv(c_, c2, 3, groups g); x + cv2(cv1(x)) when shortcut and c1 == c2
//   C3          cv1, cv2 = Conv(c1, c_, 1); m = Sequential of n Bottlenecks c_ -> c_ (e 1.0); cv3 = Conv(2 c_, c2, 1)
//               on cat[m(cv1(x)), cv2(x)]
//   SPPF        cv1 = Conv(c1, c1 / 2, 1); m = MaxPool2d(k, 1, k / 2) applied three times; cv2 = Conv(4 c_, c2, 1)
//               on cat[x', m(x'), m(m(x')), m(m(m(x')))]
//   Concat      cat of its inputs along `d` (the channels)
// The hidden widths (c_) follow ultralytics' rules by default; each can also be given explicitly, which is how a
// network pruned channel by channel is the same classes with other widths (models/yolo/yolo.h: YOLOv5Args).
#pragma once
#include <memory>
#include <optional>
#include <vector>

#include "nn/activation.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/normalization.h"
#include "nn/pooling.h"

namespace nabla::models {

// The BatchNorm2d of every Conv: ultralytics' initialize_weights sets eps 1e-3 and momentum 0.03 on all of them.
inline constexpr double kYoloBatchNormEps = 1e-3;
inline constexpr double kYoloBatchNormMomentum = 0.03;

// 'same' padding for an odd kernel: k / 2, or p when given (ultralytics' autopad).
int64_t autopad(int64_t k, std::optional<int64_t> p = std::nullopt);

class Conv : public nn::Module {
public:
    // act = false puts an Identity where the SiLU would be (ultralytics' act=False).
    Conv(int64_t c1, int64_t c2, int64_t k = 1, int64_t s = 1, std::optional<int64_t> p = std::nullopt, int64_t g = 1,
         bool act = true);
    Tensor forward(const Tensor& x) override;  // act(bn(conv(x)))

    std::shared_ptr<nn::Conv2d> conv;  // bias-free
    std::shared_ptr<nn::BatchNorm2d> bn;
    nn::ModulePtr act;  // SiLU or Identity
};

class Bottleneck : public nn::Module {
public:
    // The hidden width is int(c2 * e), or `hidden` when given.
    Bottleneck(int64_t c1, int64_t c2, bool shortcut = true, int64_t g = 1, double e = 0.5,
               std::optional<int64_t> hidden = std::nullopt);
    Tensor forward(const Tensor& x) override;  // x + cv2(cv1(x)) when add, else cv2(cv1(x))

    const bool add;  // shortcut and c1 == c2
    std::shared_ptr<Conv> cv1, cv2;
};

// The out channels of each Conv of a C3 (cv3's are the C3's c2): cv1, cv2 and, per bottleneck, its cv1 (hidden) and
// cv2 (out); bottleneck k reads bottleneck k - 1's out (the first reads cv1's), cv3 reads the last out + cv2.
struct C3Widths {
    int64_t cv1 = 0, cv2 = 0;
    struct Block {
        int64_t hidden = 0, out = 0;
    };
    std::vector<Block> m;
    // Ultralytics' widths: c_ = int(c2 * e) for cv1 and cv2, and n bottlenecks c_ -> c_ with hidden c_.
    static C3Widths of(int64_t c2, int64_t n, double e = 0.5);
};

class C3 : public nn::Module {
public:
    // n bottlenecks; their hidden widths as C3Widths::of(c2, n, e) unless `widths` is given (then n must equal
    // widths.m.size()).
    C3(int64_t c1, int64_t c2, int64_t n = 1, bool shortcut = true, int64_t g = 1, double e = 0.5,
       const std::optional<C3Widths>& widths = std::nullopt);
    Tensor forward(const Tensor& x) override;  // cv3(cat[m(cv1(x)), cv2(x)])

    std::shared_ptr<Conv> cv1, cv2, cv3;
    std::shared_ptr<nn::Sequential> m;  // of Bottleneck
};

class SPPF : public nn::Module {
public:
    // The hidden width is c1 / 2 (half the input), or `hidden` when given.
    SPPF(int64_t c1, int64_t c2, int64_t k = 5, std::optional<int64_t> hidden = std::nullopt);
    Tensor forward(const Tensor& x) override;

    std::shared_ptr<Conv> cv1, cv2;
    std::shared_ptr<nn::MaxPool2d> m;  // k, stride 1, padding k / 2: keeps the size
};

class Concat : public nn::Module {
public:
    explicit Concat(int64_t dimension = 1);
    using nn::Module::forward;
    using nn::Module::operator();
    Tensor forward(const std::vector<Tensor>& xs);     // cat(xs, d)
    Tensor operator()(const std::vector<Tensor>& xs);  // forward inside a CallScope (hooks see the call)
    std::string extra_repr() const override;

    const int64_t d;
};

}  // namespace nabla::models
