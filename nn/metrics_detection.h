// nn/metrics_detection.h — detection metrics as YOLOv5 v6.0 computes them (ultralytics utils/metrics.py and val.py:
// box_iou, xywh2xyxy, process_batch, ap_per_class, compute_ap, fitness), in namespace nabla::metrics.
// The algorithm, with its quirks, is written down in docs/metrics.md §4. Everything is
// computed in double on the host (ultralytics uses float32 IoUs; only an IoU within float rounding of a threshold
// can differ).
//   metrics::DetectionMetrics val;
//   for each image: val.update(detections, labels);   // [n, 6] x1 y1 x2 y2 conf cls; [m, 5] cls x1 y1 x2 y2
//   val.map50(); val.map(); val.mp(); val.mr(); val.fitness();
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "core/tensor.h"

namespace nabla::metrics {

// Boxes: [..., 4]. xywh = centre x, centre y, width, height; xyxy = corners (x1, y1) top left, (x2, y2) bottom right.
Tensor xywh2xyxy(const Tensor& x);
Tensor xyxy2xywh(const Tensor& x);

// torchvision.ops.box_iou: box1 [N, 4], box2 [M, 4] (xyxy) -> IoU [N, M] in box1's dtype. As ultralytics, no eps:
// two empty boxes give 0/0 = NaN (which passes no threshold).
Tensor box_iou(const Tensor& box1, const Tensor& box2);

// iouv = torch.linspace(0.5, 0.95, 10): the IoU thresholds of mAP@0.5:0.95.
std::vector<double> iou_thresholds();

// val.py process_batch: which detections are true positives at each IoU threshold.
//   detections [n, 6] (x1, y1, x2, y2, conf, cls), labels [m, 5] (cls, x1, y1, x2, y2), same pixel space
//   -> correct, bool [n, iouv.size()].
// Candidates (label, detection) have IoU >= iouv[0] and the same class; sorted by IoU (descending), each detection
// keeps its best label, then each label keeps the candidate with the lowest detection index (the highest score when
// detections come sorted from NMS — ultralytics' quirk, kept); correct[d, j] = IoU(pair) >= iouv[j].
Tensor match_predictions(const Tensor& detections, const Tensor& labels,
                         const std::vector<double>& iouv = iou_thresholds());

// AP of one precision/recall curve (ultralytics compute_ap, method 'interp'): sentinels (r=0, p=1) in front and
// (r=1, p=0) at the end, the precision envelope (running max from the right), then the trapezoid integral of
// np.interp(linspace(0, 1, 101), recall, envelope). recall and precision: same length, recall non-decreasing.
double compute_ap(const std::vector<double>& recall, const std::vector<double>& precision);

// The result of ap_per_class: one entry per class present in the labels (ascending class id).
struct APPerClass {
    std::vector<int64_t> classes;         // [nc]
    std::vector<int64_t> num_targets;     // [nc] labels of each class
    std::vector<double> p, r, f1;         // [nc] at the confidence that maximises the class-mean F1
    std::vector<std::vector<double>> ap;  // [nc][num IoU thresholds]
    std::vector<double> ap50() const;     // [nc] AP at the first threshold (0.5)
    std::vector<double> ap_mean() const;  // [nc] AP averaged over the thresholds (AP@0.5:0.95)
    // Means over the classes (0 when there are none; ultralytics would give NaN).
    double mp() const;
    double mr() const;
    double map50() const;
    double map() const;
};

// utils/metrics.py ap_per_class: tp [n, k] (bool or 0/1, e.g. match_predictions' rows of all images), conf [n],
// pred_cls [n], target_cls [m] (class ids: integers, stored in any dtype).
//   Detections are sorted by conf (descending, stable). Per class c of the labels: n_l labels, n_p detections (a
//   class with either 0 keeps AP, P, R = 0 and still counts in the means); cumulative TP/FP; recall = TPc/(n_l+1e-16),
//   precision = TPc/(TPc+FPc); AP[c][j] = compute_ap(recall[:, j], precision[:, j]). P and R curves (column 0) are
//   np.interp'ed on the score grid linspace(0, 1, 1000) (left = 1 for P, 0 for R); F1 = 2PR/(P+R+1e-16); the
//   reported P, R, F1 are taken at the grid point with the highest class-mean F1 (the first such).
APPerClass ap_per_class(const Tensor& tp, const Tensor& conf, const Tensor& pred_cls, const Tensor& target_cls);

// fitness = 0.1·mAP@0.5 + 0.9·mAP@0.5:0.95 (ultralytics weights [0, 0, 0.1, 0.9] on [P, R, mAP@0.5, mAP@0.5:0.95]).
double fitness(double map50, double map);

// Accumulates val.py's stats image by image and computes the metrics of the whole set (cached until the next update).
// An image without detections adds only its labels; detections of an image without labels are all false positives.
// As val.py, when no detection of any image is a true positive at IoU 0.5 every metric is 0.
class DetectionMetrics {
public:
    explicit DetectionMetrics(std::vector<double> iouv = iou_thresholds()) : iouv_(std::move(iouv)) {}
    // detections [n, 6] x1 y1 x2 y2 conf cls, labels [m, 5] cls x1 y1 x2 y2 (n or m may be 0), same pixel space.
    void update(const Tensor& detections, const Tensor& labels);
    const APPerClass& results() const;
    double mp() const { return results().mp(); }
    double mr() const { return results().mr(); }
    double map50() const { return results().map50(); }
    double map() const { return results().map(); }
    double fitness() const { return metrics::fitness(map50(), map()); }
    int64_t num_images() const { return num_images_; }
    int64_t num_detections() const { return static_cast<int64_t>(conf_.size()); }
    void reset();

private:
    std::vector<double> iouv_;
    std::vector<uint8_t> tp_;  // [num_detections, iouv.size()] row-major
    std::vector<double> conf_;
    std::vector<int64_t> pred_cls_, target_cls_;
    int64_t num_images_ = 0;
    mutable std::optional<APPerClass> results_;
};

}  // namespace nabla::metrics
