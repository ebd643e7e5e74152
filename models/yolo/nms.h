// models/yolo/nms.h — YOLOv5 v6.0's non_max_suppression (ultralytics utils/general.py) and the greedy NMS it calls
// (torchvision.ops.nms), on the host. docs/yolo_val.md §1 states the algorithm.
//
//   net.eval();
//   const Tensor pred = net.call_outputs(x)[0];                          // [B, N, 5 + nc]: cx cy w h, obj, classes
//   std::vector<Tensor> dets = non_max_suppression(pred, {.conf_thres = 0.25, .iou_thres = 0.45});
//   dets[b]                                                              // [n, 6]: x1 y1 x2 y2 conf cls, by conf
//
// Per image: rows with objectness > conf_thres; score = obj · class probability; multi_label keeps every
// (box, class) whose score > conf_thres (only when nc > 1), else each box's best class if its score passes; the
// top max_nms by score; then one greedy NMS over all classes at once, each box shifted by class · max_wh (0 when
// agnostic) so that boxes of different classes never overlap; the first max_det survivors. Computed in the
// prediction's dtype (float32 or float64), as the reference computes in its tensors' dtype.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace nabla::models {

struct NMSOptions {
    double conf_thres = 0.25;      // detect.py's default (val.py: 0.001)
    double iou_thres = 0.45;       // a box is suppressed by a higher-scoring one when their IoU exceeds this (val: 0.6)
    std::vector<int64_t> classes;  // keep only these classes (empty: all)
    bool agnostic = false;         // one NMS across classes (no class offset)
    bool multi_label = false;      // one row per (box, class) above conf_thres (val.py: true); ignored when nc == 1
    int64_t max_det = 300;         // detections kept per image
    int64_t max_nms = 30000;       // candidates given to the NMS per image, by score
    double max_wh = 4096;          // the class offset, larger than any box coordinate
    double time_limit = 10.0;      // seconds per call; the images left after it get no detections (0: no limit)
};

// prediction [B, N, 5 + nc] (cx, cy, w, h in pixels, objectness, class probabilities; float32 or float64, any
// device) -> B tensors [n, 6] (x1, y1, x2, y2, conf, cls) on the host in the prediction's dtype, sorted by conf
// (descending). A ShapeError names the shape when it is not [B, N, >= 6]; a ValueError a threshold outside [0, 1].
std::vector<Tensor> non_max_suppression(const Tensor& prediction, const NMSOptions& options = {});

// torchvision.ops.nms: boxes [n, 4] (x1, y1, x2, y2), scores [n] -> int64 [k] the indices kept, by descending score.
// Greedy: the highest-scoring box left is kept and every box whose IoU with it exceeds iou_threshold is dropped
// (ties in score keep index order). Computed in the boxes' dtype (float32 or float64).
Tensor nms(const Tensor& boxes, const Tensor& scores, double iou_threshold);

}  // namespace nabla::models
