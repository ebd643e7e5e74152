// models/yolo/loss.h — YOLOv5 v6.0's training loss (ultralytics' ComputeLoss), independent of the network class
// (docs/yolo_loss.md). Each target is matched to the anchors whose shape is within a ratio anchor_t of its own, and
// trains the cell holding its centre plus the nearest horizontal and vertical neighbour cells (build_targets). At
// those cells the box is scored by CIoU, the objectness target is the (detached) IoU, and the classes by BCE:
//   YoloLossOptions options = scale_loss_gains({}, nc, 640, 3);  // train.py's scaling of the hyp gains
//   YoloLoss loss = yolo_loss(preds, targets, anchors, nc, options);
//   loss.total.backward();                                       // loss.items: lbox, lobj, lcls, total / bs
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace nabla::models {

// The loss's hyperparameters, with the names and the defaults of ultralytics' hyp.scratch.yaml.
struct YoloLossOptions {
    double box = 0.05;             // gain of the box (CIoU) term
    double obj = 1.0;              // gain of the objectness term
    double cls = 0.5;              // gain of the class term
    double cls_pw = 1.0;           // BCE pos_weight of the classes
    double obj_pw = 1.0;           // BCE pos_weight of the objectness
    double anchor_t = 4.0;         // a target matches an anchor when max(w/aw, aw/w, h/ah, ah/h) < anchor_t
    double fl_gamma = 0.0;         // > 0: both BCEs become focal losses (gamma fl_gamma, alpha 0.25)
    double label_smoothing = 0.0;  // class targets 1 - eps/2 (positive) and eps/2 (negative)
    double gr = 1.0;               // objectness target (1 - gr) + gr * IoU
    std::vector<double> balance;   // objectness weight per level; empty: default_balance(nl)
    bool autobalance = false;      // adapt balance from each level's objectness loss (returned in YoloLoss::balance)
    int64_t ssi = 1;               // autobalance: the level (of stride 16) whose balance the others are divided by
    bool sort_obj_iou = false;     // write the objectness targets in ascending IoU (the highest wins a shared cell)
};

// ultralytics' objectness balance (docs/yolo_loss.md §2): [4.0, 1.0, 0.4] for 3 levels, else the first nl of
// [4.0, 1.0, 0.25, 0.06, 0.02].
std::vector<double> default_balance(int64_t nl);

// train.py's scaling of the gains before training (docs/yolo_loss.md §4):
//   box *= 3/nl    cls *= nc/80 * 3/nl    obj *= (img_size/640)^2 * 3/nl
YoloLossOptions scale_loss_gains(YoloLossOptions options, int64_t nc, int64_t img_size, int64_t nl);

// The targets of one level (docs/yolo_loss.md §1), one row per (target, anchor, cell) match, in ultralytics' order:
// the centre cells first, then the left, up, right and down neighbours; within each, anchor-major, then targets.
struct YoloLevelTargets {
    Tensor tcls;          // [n] int64 class
    Tensor tbox;          // [n, 4] (x - gi, y - gj, w, h) in grid units; x - gi lies in [-0.5, 1.5]
    Tensor b, a, gj, gi;  // [n] int64 image, anchor, grid row (clamped to [0, ny-1]), grid column ([0, nx-1])
    Tensor anch;          // [n, 2] the anchor (w, h) in grid units
};

// p: the nl maps [B, na, ny, nx, no] (only their shapes and device are used); targets [n, 6] (image index, class,
// x, y, w, h normalised to the image); anchors [nl, na, 2] in grid units. Computed in targets' dtype (anchors cast to
// it) on the host; the tensors are returned on p's device. A ShapeError naming build_targets and the shapes when they
// do not fit, a ValueError for an image index outside [0, B).
std::vector<YoloLevelTargets> build_targets(const std::vector<Tensor>& p, const Tensor& targets, const Tensor& anchors,
                                            double anchor_t = 4.0);

// ultralytics' bbox_iou (docs/yolo_loss.md §3) of paired boxes: box1 and box2 [n, 4] (xywh, or corners with
// x1y1x2y2) -> [n]. Each variant subtracts a penalty from the IoU: GIoU the empty part of the enclosing box, DIoU the
// squared centre distance over the enclosing diagonal, CIoU that plus the aspect-ratio term v * alpha (alpha carries
// no gradient).
enum class IoUKind { IoU, GIoU, DIoU, CIoU };
Tensor bbox_iou(const Tensor& box1, const Tensor& box2, bool x1y1x2y2 = true, IoUKind kind = IoUKind::IoU,
                double eps = 1e-7);

struct YoloLoss {
    Tensor total;                 // 0-dim, (lbox + lobj + lcls) * batch size: the value to call backward() on
    Tensor items;                 // [4] detached: lbox, lobj, lcls (gains applied), and their sum (total / batch size)
    std::vector<double> balance;  // the balance used next (updated when options.autobalance)
};

// The loss of docs/yolo_loss.md §2 and §5. preds: the nl raw maps [B, na, ny, nx, 5 + nc] of Detect in training mode
// (floating point, one dtype); targets [n, 6] as build_targets (n may be 0); anchors [nl, na, 2] in grid units.
// Computed in the dtype of preds. A ShapeError naming yolo_loss and the shapes when they do not fit; a ValueError for a
// class outside [0, nc) or an image index outside [0, B).
YoloLoss yolo_loss(const std::vector<Tensor>& preds, const Tensor& targets, const Tensor& anchors, int64_t nc,
                   const YoloLossOptions& options = {});

}  // namespace nabla::models
