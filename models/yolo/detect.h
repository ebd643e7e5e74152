// models/yolo/detect.h — Detect, the head of YOLOv5 (ultralytics/yolov5 v6.0), with ultralytics' state-dict names:
// `m.<level>.weight|bias` (a 1x1 Conv2d with bias per level) and the buffer `anchors` [nl, na, 2] in grid units
// (pixels / stride). docs/yolo.md §4 (anchors, strides, bias init) and §5 (decoding).
//
//   training: {raw_0, ..., raw_{nl-1}}, raw_i = m_i(x_i) viewed [B, na, no, H_i, W_i] and permuted to
//             [B, na, H_i, W_i, no] (no = nc + 5; channel a * no + k of the conv is anchor a, output k)
//   eval:     {decoded [B, N, no], raw_0, ...}, N = na * sum H_i W_i; with y = sigmoid(raw) on every output,
//             xy = (2 y_xy - 0.5 + cell) * stride, wh = (2 y_wh)^2 * anchor in pixels, then objectness and classes.
// The strides come from the model (YOLOv5 finds them with a dry run); a Detect built alone needs `stride` set before
// an eval forward, initialize_biases or the anchors' conversion to grid units.
#pragma once
#include <memory>
#include <vector>

#include "nn/container.h"
#include "nn/conv.h"

namespace nabla::models {

class Detect : public nn::Module {
public:
    // nc classes; anchors: per level its (w, h) pairs in pixels, flattened ({10, 13, 16, 30, 33, 23} for P3/8), the
    // same count on every level; ch: the channels of each level's input. The anchors buffer starts in pixels:
    // to_grid_units divides it by the strides.
    Detect(int64_t nc, const std::vector<std::vector<double>>& anchors, const std::vector<int64_t>& ch);

    using nn::Module::forward;
    using nn::Module::operator();
    // xs: one map [B, ch_i, H_i, W_i] per level. As the header says: the raw maps, and in eval the decoded rows first.
    std::vector<Tensor> forward(const std::vector<Tensor>& xs);
    std::vector<Tensor> operator()(const std::vector<Tensor>& xs);  // forward inside a CallScope
    // One level's eval decoding: raw [B, na, H, W, no] -> [B, na * H * W, no].
    Tensor decode(const Tensor& raw, int64_t level) const;

    // Build steps, in the order YOLOv5 runs them once `stride` is known:
    void to_grid_units();       // anchors /= stride per level
    void check_anchor_order();  // reverses the levels of `anchors` if their areas grow the other way than the strides
    // ultralytics' _initialize_biases: per level, the bias viewed [na, no] gets += ln(8 / (640 / s)^2) on the
    // objectness and += ln(0.6 / (nc - 0.99)) on every class, over PyTorch's default random bias.
    void initialize_biases();

    const int64_t nc, no, nl, na;
    const std::vector<int64_t> ch;
    std::vector<double> stride;         // pixels per cell of each level; not in the state dict (as ultralytics)
    Tensor anchors;                     // buffer [nl, na, 2]
    std::shared_ptr<nn::ModuleList> m;  // of nn::Conv2d(ch_i, na * no, 1) with bias
};

}  // namespace nabla::models
