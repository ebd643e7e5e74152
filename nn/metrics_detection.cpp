// nn/metrics_detection.cpp — YOLOv5 v6.0 detection metrics: box conversions and IoU, val.py's process_batch
// (match_predictions), utils/metrics.py's ap_per_class and compute_ap, fitness. Definitions in
// nn/metrics_detection.h and docs/metrics.md §4. numpy's interp, linspace and trapz are
// re-implemented exactly (np_interp, np_linspace) so that the numbers agree with ultralytics' to rounding.
// Longer than most files: the pieces share those helpers and are one algorithm, read top to bottom as in val.py.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "nn/metrics.h"
#include "nn/metrics_detail.h"
#include "ops/factory.h"

namespace nabla::metrics {

using detail::host_doubles;

namespace {

// np.linspace(start, stop, num): start + i·step, the last point exactly stop.
std::vector<double> np_linspace(double start, double stop, int64_t num) {
    std::vector<double> y(num);
    const double step = (stop - start) / static_cast<double>(num - 1);
    for (int64_t i = 0; i < num; ++i) y[i] = static_cast<double>(i) * step + start;
    y[num - 1] = stop;
    return y;
}

// np.interp(x, xp, fp, left, right) for a non-decreasing xp (numpy's arr_interp, including repeated xp values: the
// segment used starts at the last xp <= x).
double np_interp(double x, const std::vector<double>& xp, const std::vector<double>& fp, double left, double right) {
    const size_t n = xp.size();
    if (x < xp[0]) return left;
    if (x > xp[n - 1]) return right;
    const size_t j = static_cast<size_t>(std::upper_bound(xp.begin(), xp.end(), x) - xp.begin()) - 1;
    if (j == n - 1 || xp[j] == x) return fp[j];
    const double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    double y = slope * (x - xp[j]) + fp[j];
    if (std::isnan(y)) {
        y = slope * (x - xp[j + 1]) + fp[j + 1];
        if (std::isnan(y) && fp[j] == fp[j + 1]) y = fp[j];
    }
    return y;
}

// A class id stored as a float (ultralytics keeps classes in float tensors); it must be an integer.
int64_t class_id(const char* metric, double v) {
    NB_CHECK_VALUE(std::isfinite(v) && v == std::round(v), metric, ": class ids must be integers, got ", v);
    return static_cast<int64_t>(v);
}

void check_boxes(const char* fn, const Tensor& x) {
    NB_CHECK(x.dim() >= 1 && x.size(-1) == 4, fn, ": expected boxes [..., 4], got ", x.shape());
}

double mean_of(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// ap_per_class on plain arrays: tp [n, k] row-major (0/1), conf [n], pred_cls [n], target_cls [m].
APPerClass ap_per_class_impl(const std::vector<uint8_t>& tp, size_t k, const std::vector<double>& conf,
                             const std::vector<int64_t>& pred_cls, const std::vector<int64_t>& target_cls) {
    constexpr double eps = 1e-16;
    const size_t n = conf.size();
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return conf[a] > conf[b]; });

    std::map<int64_t, int64_t> counts;  // class -> labels, ascending as np.unique
    for (int64_t c : target_cls) ++counts[c];
    APPerClass out;
    const std::vector<double> px = np_linspace(0, 1, 1000);
    std::vector<std::vector<double>> p_curve, r_curve;  // [nc][1000]
    for (const auto& [c, n_l] : counts) {
        out.classes.push_back(c);
        out.num_targets.push_back(n_l);
        out.ap.emplace_back(k, 0.0);
        p_curve.emplace_back(px.size(), 0.0);
        r_curve.emplace_back(px.size(), 0.0);
        std::vector<size_t> rows;  // this class's detections, by descending confidence
        for (size_t i : order)
            if (pred_cls[i] == c) rows.push_back(i);
        if (rows.empty()) continue;
        // neg_conf is increasing, as np.interp needs: ultralytics interpolates on -px against -conf.
        std::vector<double> neg_conf(rows.size());
        std::vector<std::vector<double>> recall(k, std::vector<double>(rows.size())), precision = recall;
        for (size_t j = 0; j < k; ++j) {
            double tpc = 0, fpc = 0;
            for (size_t q = 0; q < rows.size(); ++q) {
                const double hit = tp[rows[q] * k + j] ? 1.0 : 0.0;
                tpc += hit;
                fpc += 1.0 - hit;
                recall[j][q] = tpc / (static_cast<double>(n_l) + eps);
                precision[j][q] = tpc / (tpc + fpc);
            }
        }
        for (size_t q = 0; q < rows.size(); ++q) neg_conf[q] = -conf[rows[q]];
        for (size_t g = 0; g < px.size(); ++g) {
            r_curve.back()[g] = np_interp(-px[g], neg_conf, recall[0], 0.0, recall[0].back());
            p_curve.back()[g] = np_interp(-px[g], neg_conf, precision[0], 1.0, precision[0].back());
        }
        for (size_t j = 0; j < k; ++j) out.ap.back()[j] = compute_ap(recall[j], precision[j]);
    }
    const size_t nc = out.classes.size();
    if (nc == 0) return out;
    // F1 per class and grid point; the grid point with the highest class-mean F1 (the first, as argmax).
    size_t best = 0;
    double best_f1 = -1;
    for (size_t g = 0; g < px.size(); ++g) {
        double mean_f1 = 0;
        for (size_t c = 0; c < nc; ++c)
            mean_f1 += 2 * p_curve[c][g] * r_curve[c][g] / (p_curve[c][g] + r_curve[c][g] + eps);
        mean_f1 /= static_cast<double>(nc);
        if (mean_f1 > best_f1) best_f1 = mean_f1, best = g;
    }
    for (size_t c = 0; c < nc; ++c) {
        const double p = p_curve[c][best], r = r_curve[c][best];
        out.p.push_back(p);
        out.r.push_back(r);
        out.f1.push_back(2 * p * r / (p + r + eps));
    }
    return out;
}

}  // namespace

Tensor xywh2xyxy(const Tensor& x) {
    check_boxes("xywh2xyxy", x);
    std::vector<double> v = host_doubles(x);
    for (size_t i = 0; i + 3 < v.size(); i += 4) {
        const double cx = v[i], cy = v[i + 1], w = v[i + 2], h = v[i + 3];
        v[i] = cx - w / 2, v[i + 1] = cy - h / 2, v[i + 2] = cx + w / 2, v[i + 3] = cy + h / 2;
    }
    return from_vector(v, x.shape()).to(x.dtype());
}

Tensor xyxy2xywh(const Tensor& x) {
    check_boxes("xyxy2xywh", x);
    std::vector<double> v = host_doubles(x);
    for (size_t i = 0; i + 3 < v.size(); i += 4) {
        const double x1 = v[i], y1 = v[i + 1], x2 = v[i + 2], y2 = v[i + 3];
        v[i] = (x1 + x2) / 2, v[i + 1] = (y1 + y2) / 2, v[i + 2] = x2 - x1, v[i + 3] = y2 - y1;
    }
    return from_vector(v, x.shape()).to(x.dtype());
}

Tensor box_iou(const Tensor& box1, const Tensor& box2) {
    NB_CHECK(box1.dim() == 2 && box1.size(1) == 4 && box2.dim() == 2 && box2.size(1) == 4,
             "box_iou: expected boxes [N, 4] and [M, 4], got ", box1.shape(), " and ", box2.shape());
    const std::vector<double> a = host_doubles(box1), b = host_doubles(box2);
    const int64_t N = box1.size(0), M = box2.size(0);
    std::vector<double> iou(N * M);
    for (int64_t i = 0; i < N; ++i) {
        const double* p = a.data() + 4 * i;
        const double area1 = (p[2] - p[0]) * (p[3] - p[1]);
        for (int64_t j = 0; j < M; ++j) {
            const double* q = b.data() + 4 * j;
            const double area2 = (q[2] - q[0]) * (q[3] - q[1]);
            const double iw = std::max(std::min(p[2], q[2]) - std::max(p[0], q[0]), 0.0);
            const double ih = std::max(std::min(p[3], q[3]) - std::max(p[1], q[1]), 0.0);
            iou[i * M + j] = iw * ih / (area1 + area2 - iw * ih);
        }
    }
    return from_vector(iou, {N, M}).to(box1.dtype());
}

std::vector<double> iou_thresholds() {
    // torch.linspace(0.5, 0.95, 10) in double: the first half counts up from 0.5, the second half down from 0.95.
    const double step = (0.95 - 0.5) / 9;
    std::vector<double> t(10);
    for (int i = 0; i < 10; ++i) t[i] = i < 5 ? 0.5 + step * i : 0.95 - step * (9 - i);
    return t;
}

Tensor match_predictions(const Tensor& detections, const Tensor& labels, const std::vector<double>& iouv) {
    NB_CHECK(detections.dim() == 2 && detections.size(1) == 6 && labels.dim() == 2 && labels.size(1) == 5,
             "match_predictions: expected detections [n, 6] (x1, y1, x2, y2, conf, cls) and labels [m, 5] (cls, x1, "
             "y1, x2, y2), got ",
             detections.shape(), " and ", labels.shape());
    NB_CHECK_VALUE(!iouv.empty(), "match_predictions: no IoU thresholds given");
    const int64_t n = detections.size(0), m = labels.size(0), k = static_cast<int64_t>(iouv.size());
    const std::vector<double> det = host_doubles(detections), lab = host_doubles(labels);
    struct Match {
        int64_t label, det;
        double iou;
    };
    std::vector<Match> matches;  // in torch.where's order: label-major
    for (int64_t l = 0; l < m; ++l) {
        const double* g = lab.data() + 5 * l;
        const int64_t gc = class_id("match_predictions", g[0]);
        const double area1 = (g[3] - g[1]) * (g[4] - g[2]);
        for (int64_t d = 0; d < n; ++d) {
            const double* q = det.data() + 6 * d;
            const double area2 = (q[2] - q[0]) * (q[3] - q[1]);
            const double iw = std::max(std::min(g[3], q[2]) - std::max(g[1], q[0]), 0.0);
            const double ih = std::max(std::min(g[4], q[3]) - std::max(g[2], q[1]), 0.0);
            const double iou = iw * ih / (area1 + area2 - iw * ih);
            if (iou >= iouv[0] && class_id("match_predictions", q[5]) == gc) matches.push_back({l, d, iou});
        }
    }
    if (matches.size() > 1) {
        // matches[matches[:, 2].argsort()[::-1]]: ascending (stable, as numpy's sort of short arrays), reversed.
        std::stable_sort(matches.begin(), matches.end(), [](const Match& a, const Match& b) { return a.iou < b.iou; });
        std::reverse(matches.begin(), matches.end());
        // np.unique(column, return_index=True): the first row of each value, in ascending order of the value.
        auto unique_first = [](const std::vector<Match>& in, auto key) {
            std::map<int64_t, Match> first;
            for (const Match& x : in) first.try_emplace(key(x), x);
            std::vector<Match> out;
            for (const auto& kv : first) out.push_back(kv.second);
            return out;
        };
        matches = unique_first(matches, [](const Match& x) { return x.det; });
        matches = unique_first(matches, [](const Match& x) { return x.label; });
    }
    std::vector<uint8_t> correct(n * k, 0);
    for (const Match& x : matches)
        for (int64_t j = 0; j < k; ++j) correct[x.det * k + j] = x.iou >= iouv[j];
    return from_vector(correct, {n, k}).to(kBool);
}

double compute_ap(const std::vector<double>& recall, const std::vector<double>& precision) {
    NB_CHECK(recall.size() == precision.size(), "compute_ap: recall has ", recall.size(), " points but precision ",
             precision.size());
    std::vector<double> mrec{0.0}, mpre{1.0};
    mrec.insert(mrec.end(), recall.begin(), recall.end());
    mpre.insert(mpre.end(), precision.begin(), precision.end());
    mrec.push_back(1.0);
    mpre.push_back(0.0);
    for (size_t i = mpre.size() - 1; i-- > 0;) mpre[i] = std::max(mpre[i], mpre[i + 1]);  // the envelope
    const std::vector<double> x = np_linspace(0, 1, 101);
    double ap = 0, prev = np_interp(x[0], mrec, mpre, mpre.front(), mpre.back());
    for (size_t i = 1; i < x.size(); ++i) {
        const double y = np_interp(x[i], mrec, mpre, mpre.front(), mpre.back());
        ap += (x[i] - x[i - 1]) * (y + prev) / 2.0;
        prev = y;
    }
    return ap;
}

std::vector<double> APPerClass::ap50() const {
    std::vector<double> out;
    for (const auto& row : ap) out.push_back(row.empty() ? 0.0 : row[0]);
    return out;
}

std::vector<double> APPerClass::ap_mean() const {
    std::vector<double> out;
    for (const auto& row : ap) out.push_back(mean_of(row));
    return out;
}

double APPerClass::mp() const { return mean_of(p); }
double APPerClass::mr() const { return mean_of(r); }
double APPerClass::map50() const { return mean_of(ap50()); }
double APPerClass::map() const { return mean_of(ap_mean()); }

APPerClass ap_per_class(const Tensor& tp, const Tensor& conf, const Tensor& pred_cls, const Tensor& target_cls) {
    NB_CHECK(tp.dim() == 2 && tp.size(1) > 0 && conf.dim() == 1 && pred_cls.dim() == 1 && target_cls.dim() == 1 &&
                 conf.size(0) == tp.size(0) && pred_cls.size(0) == tp.size(0),
             "ap_per_class: expected tp [n, k], conf [n], pred_cls [n], target_cls [m], got tp ", tp.shape(), ", conf ",
             conf.shape(), ", pred_cls ", pred_cls.shape(), ", target_cls ", target_cls.shape());
    std::vector<uint8_t> hits;
    for (double v : host_doubles(tp)) hits.push_back(v != 0);
    std::vector<int64_t> pcls, tcls;
    for (double v : host_doubles(pred_cls)) pcls.push_back(class_id("ap_per_class", v));
    for (double v : host_doubles(target_cls)) tcls.push_back(class_id("ap_per_class", v));
    return ap_per_class_impl(hits, static_cast<size_t>(tp.size(1)), host_doubles(conf), pcls, tcls);
}

double fitness(double map50, double map) { return 0.1 * map50 + 0.9 * map; }

void DetectionMetrics::update(const Tensor& detections, const Tensor& labels) {
    NB_CHECK(detections.dim() == 2 && detections.size(1) == 6 && labels.dim() == 2 && labels.size(1) == 5,
             "DetectionMetrics::update: expected detections [n, 6] (x1, y1, x2, y2, conf, cls) and labels [m, 5] "
             "(cls, x1, y1, x2, y2), got ",
             detections.shape(), " and ", labels.shape());
    results_.reset();
    ++num_images_;
    const std::vector<double> lab = host_doubles(labels);
    for (size_t i = 0; i < lab.size(); i += 5) target_cls_.push_back(class_id("DetectionMetrics::update", lab[i]));
    if (detections.size(0) == 0) return;
    const std::vector<double> det = host_doubles(detections);
    for (size_t i = 0; i < det.size(); i += 6) {
        conf_.push_back(det[i + 4]);
        pred_cls_.push_back(class_id("DetectionMetrics::update", det[i + 5]));
    }
    if (labels.size(0) == 0) {
        tp_.resize(tp_.size() + detections.size(0) * iouv_.size(), 0);
        return;
    }
    for (double v : host_doubles(match_predictions(detections, labels, iouv_))) tp_.push_back(v != 0);
}

const APPerClass& DetectionMetrics::results() const {
    if (results_) return *results_;
    // val.py: `if len(stats) and stats[0].any()` — without a single true positive every metric stays 0.
    if (std::find(tp_.begin(), tp_.end(), 1) != tp_.end()) {
        results_ = ap_per_class_impl(tp_, iouv_.size(), conf_, pred_cls_, target_cls_);
    } else {
        APPerClass zero;
        for (int64_t c : std::set<int64_t>(target_cls_.begin(), target_cls_.end())) {
            zero.classes.push_back(c);
            zero.num_targets.push_back(std::count(target_cls_.begin(), target_cls_.end(), c));
            zero.p.push_back(0), zero.r.push_back(0), zero.f1.push_back(0);
            zero.ap.emplace_back(iouv_.size(), 0.0);
        }
        results_ = zero;
    }
    return *results_;
}

void DetectionMetrics::reset() {
    tp_.clear();
    conf_.clear();
    pred_cls_.clear();
    target_cls_.clear();
    num_images_ = 0;
    results_.reset();
}

}  // namespace nabla::metrics
