// apps/detection.cpp — `nabla val` and `nabla detect` for YOLOv5 (see detection.h; docs/yolo_val.md): the confusion
// matrix and val.py's stats, the validation loop and its printout, the PR-curve and confusion-matrix pictures, loading
// weights into the right network, detect.py, and the two commands.
// Longer than most files: validation, its pictures and detection share the loading and the scale-back, and are read
// top to bottom as val.py and detect.py.
#include "apps/detection.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>

#include "apps/commands.h"
#include "apps/detection_data.h"
#include "apps/models.h"
#include "apps/progress.h"
#include "autograd/grad_mode.h"
#include "models/yolo/nms.h"
#include "nn/checkpoint.h"
#include "nn/data/draw.h"
#include "nn/data/folder.h"
#include "nn/data/functional.h"
#include "nn/data/image.h"
#include "nn/data/letterbox.h"
#include "nn/data/plot.h"
#include "ops/factory.h"
#include "ops/ops.h"

namespace nabla::apps {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The values of t in row-major order as doubles (any dtype and device).
std::vector<double> host(const Tensor& t) {
    const Tensor c = t.detach().to(kCPU).to(kFloat64).contiguous();
    const double* p = c.data_ptr<double>();
    return {p, p + c.numel()};
}

std::string class_name(const std::vector<std::string>& names, int64_t c) {
    return c >= 0 && c < static_cast<int64_t>(names.size()) ? names[static_cast<size_t>(c)] : std::to_string(c);
}

void check_rows(const char* fn, const Tensor& detections, const Tensor& labels) {
    NB_CHECK(detections.defined() && labels.defined() && detections.dim() == 2 && detections.size(1) == 6 &&
                 labels.dim() == 2 && labels.size(1) == 5,
             fn,
             ": expected detections [n, 6] (x1, y1, x2, y2, conf, cls) and labels [m, 5] (cls, x1, y1, x2, y2), got ",
             detections.defined() ? shape_str(detections.shape()) : "undefined", " and ",
             labels.defined() ? shape_str(labels.shape()) : "undefined");
}

// (label, detection, IoU) pairs sorted by IoU (descending; numpy's argsort()[::-1] of a stable ascending sort), then
// the first of each value of `key` kept, in ascending order of the key (np.unique(..., return_index=True)).
struct Pair {
    int64_t label, det;
    double iou;
};
void sort_by_iou(std::vector<Pair>& pairs) {
    std::stable_sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.iou < b.iou; });
    std::reverse(pairs.begin(), pairs.end());
}
template <class Key>
std::vector<Pair> unique_first(const std::vector<Pair>& pairs, Key key) {
    std::map<int64_t, Pair> first;
    for (const Pair& p : pairs) first.try_emplace(key(p), p);
    std::vector<Pair> out;
    for (const auto& kv : first) out.push_back(kv.second);
    return out;
}

}  // namespace

// --- the confusion matrix ---

ConfusionMatrix::ConfusionMatrix(int64_t nc, double conf, double iou_thres)
    : nc_(nc), conf_(conf), iou_thres_(iou_thres), matrix_(static_cast<size_t>((nc + 1) * (nc + 1)), 0) {
    NB_CHECK_VALUE(nc >= 0, "ConfusionMatrix: nc must be >= 0, got ", nc);
}

void ConfusionMatrix::process_batch(const Tensor& detections, const Tensor& labels) {
    check_rows("ConfusionMatrix::process_batch", detections, labels);
    std::vector<double> det;  // the rows above conf
    const std::vector<double> all = host(detections);
    for (size_t i = 0; i + 5 < all.size(); i += 6)
        if (all[i + 4] > conf_) det.insert(det.end(), all.begin() + i, all.begin() + i + 6);
    const std::vector<double> lab = host(labels);
    const int64_t n = static_cast<int64_t>(det.size() / 6), m = labels.size(0);
    auto cls = [&](double v) {
        const int64_t c = std::llround(v);
        NB_CHECK_VALUE(c >= 0 && c < nc_, "ConfusionMatrix: class ", v, " outside [0, ", nc_, ")");
        return c;
    };
    std::vector<Pair> pairs;  // torch.where(iou > iou_thres): label-major
    for (int64_t l = 0; l < m; ++l) {
        const double* g = lab.data() + 5 * l;
        for (int64_t d = 0; d < n; ++d) {
            const double* q = det.data() + 6 * d;
            const double iw = std::max(std::min(g[3], q[2]) - std::max(g[1], q[0]), 0.0);
            const double ih = std::max(std::min(g[4], q[3]) - std::max(g[2], q[1]), 0.0);
            const double inter = iw * ih;
            const double iou = inter / ((g[3] - g[1]) * (g[4] - g[2]) + (q[2] - q[0]) * (q[3] - q[1]) - inter);
            if (iou > iou_thres_) pairs.push_back({l, d, iou});
        }
    }
    if (pairs.size() > 1) {
        sort_by_iou(pairs);
        pairs = unique_first(pairs, [](const Pair& p) { return p.det; });
        sort_by_iou(pairs);
        pairs = unique_first(pairs, [](const Pair& p) { return p.label; });
    }
    const int64_t k = nc_ + 1;
    std::vector<int64_t> det_of_label(static_cast<size_t>(m), -1);
    std::vector<bool> matched(static_cast<size_t>(n), false);
    for (const Pair& p : pairs) det_of_label[p.label] = p.det, matched[p.det] = true;
    for (int64_t l = 0; l < m; ++l) {
        const int64_t truth = cls(lab[5 * l]);
        const int64_t d = det_of_label[l];
        ++matrix_[(d >= 0 ? cls(det[6 * d + 5]) : nc_) * k + truth];  // a correct or confused class, or missed
    }
    for (int64_t d = 0; d < n; ++d)
        if (!matched[d]) ++matrix_[cls(det[6 * d + 5]) * k + nc_];  // a detection of nothing
}

std::vector<double> ConfusionMatrix::normalized() const {
    const int64_t k = nc_ + 1;
    std::vector<double> out(matrix_.size());
    for (int64_t j = 0; j < k; ++j) {
        double sum = 0;
        for (int64_t i = 0; i < k; ++i) sum += static_cast<double>(matrix_[i * k + j]);
        for (int64_t i = 0; i < k; ++i) out[i * k + j] = static_cast<double>(matrix_[i * k + j]) / (sum + 1e-6);
    }
    return out;
}

// --- val.py's stats and the metrics ---

void DetectionStats::update(const Tensor& detections, const Tensor& labels) {
    check_rows("DetectionStats::update", detections, labels);
    ++images;
    const std::vector<double> lab = host(labels);
    for (size_t i = 0; i < lab.size(); i += 5) target_cls.push_back(std::llround(lab[i]));
    const int64_t n = detections.size(0);
    if (n == 0) return;
    const std::vector<double> det = host(detections);
    for (int64_t i = 0; i < n; ++i) conf.push_back(det[6 * i + 4]), pred_cls.push_back(std::llround(det[6 * i + 5]));
    if (labels.size(0) == 0) {
        correct.resize(correct.size() + static_cast<size_t>(n) * iouv.size(), 0);
        return;
    }
    for (double v : host(metrics::match_predictions(detections, labels, iouv))) correct.push_back(v != 0);
}

DetectionValResult detection_results(const DetectionStats& s, const std::vector<std::string>& names) {
    DetectionValResult r;
    r.images = s.images;
    r.labels = static_cast<int64_t>(s.target_cls.size());
    r.stats = s;
    std::map<int64_t, int64_t> counts;
    for (int64_t c : s.target_cls) ++counts[c];
    // val.py: `if len(stats) and stats[0].any()` — without one correct detection every number stays 0.
    if (std::find(s.correct.begin(), s.correct.end(), 1) == s.correct.end()) {
        for (const auto& [c, n] : counts) r.classes.push_back({.cls = c, .name = class_name(names, c), .labels = n});
        return r;
    }
    const int64_t n = static_cast<int64_t>(s.conf.size()), k = static_cast<int64_t>(s.iouv.size());
    std::vector<double> tp(s.correct.begin(), s.correct.end()), pcls(s.pred_cls.begin(), s.pred_cls.end()),
        tcls(s.target_cls.begin(), s.target_cls.end());
    const metrics::APPerClass ap =
        metrics::ap_per_class(from_vector(tp, {n, k}), from_vector(s.conf, {n}), from_vector(pcls, {n}),
                              from_vector(tcls, {static_cast<int64_t>(tcls.size())}));
    const std::vector<double> ap50 = ap.ap50(), ap_mean = ap.ap_mean();
    for (size_t i = 0; i < ap.classes.size(); ++i)
        r.classes.push_back({.cls = ap.classes[i],
                             .name = class_name(names, ap.classes[i]),
                             .labels = ap.num_targets[i],
                             .p = ap.p[i],
                             .r = ap.r[i],
                             .ap50 = ap50[i],
                             .ap = ap_mean[i]});
    r.mp = ap.mp(), r.mr = ap.mr(), r.map50 = ap.map50(), r.map = ap.map();
    return r;
}

// --- the validation loop ---

DetectionValResult validate_detection(nn::Module& model, data::DataLoader& loader, int64_t nc,
                                      const std::vector<std::string>& names, const DetectionValOptions& o) {
    struct ModeGuard {  // the model's training mode comes back even when a batch throws
        nn::Module& m;
        bool was;
        ~ModeGuard() { m.train(was); }
    } guard{model, model.is_training()};
    model.eval();
    autograd::NoGradGuard no_grad;
    const Device device = device_of(model);  // the images go there; NMS, matching and metrics stay on the host
    DetectionStats stats;
    ConfusionMatrix confusion(nc);
    std::vector<double> loss_sum;
    double pre = 0, inference = 0, nms_time = 0;
    int64_t batches = 0;
    Shape input_shape;
    std::unique_ptr<ProgressBar> bar;
    if (!o.description.empty()) bar = std::make_unique<ProgressBar>(o.description, loader.size());
    auto t = Clock::now();
    for (auto& batch : loader) {
        pre += seconds_since(t);
        NB_CHECK(batch.size() >= 3 && batch[0].dim() == 4 && batch[2].dim() == 2 && batch[2].size(1) == 6,
                 "validate_detection: expected batches {images [B, 3, H, W], targets [n, 6], shapes [B, 6]} (examples "
                 "of validation_options through detection_collate), got ",
                 batch.size(), " tensors");
        const Tensor& images = batch[0];
        const int64_t B = images.size(0), H = images.size(2), W = images.size(3);
        if (input_shape.empty()) input_shape = images.shape();

        t = Clock::now();
        const std::vector<Tensor> out = model.call_outputs(images.to(device));
        NB_CHECK(!out.empty() && out[0].dim() == 3 && out[0].size(0) == B && out[0].size(2) == 5 + nc,
                 "validate_detection: the model's first eval output must be [", B, ", N, ", 5 + nc, "] for nc=", nc,
                 ", got ", out.empty() ? "nothing" : shape_str(out[0].shape()));
        const Tensor pred = out[0].to(kCPU);  // on a GPU the copy waits for the forward, so the time is the device's
        inference += seconds_since(t);
        if (o.loss) {
            const std::vector<double> items = o.loss({out.begin() + 1, out.end()}, batch[1].to(device));
            loss_sum.resize(std::max(loss_sum.size(), items.size()), 0.0);
            for (size_t i = 0; i < items.size(); ++i) loss_sum[i] += items[i];
        }

        t = Clock::now();
        const std::vector<Tensor> dets = models::non_max_suppression(
            pred,
            {.conf_thres = o.conf_thres, .iou_thres = o.iou_thres, .multi_label = o.multi_label, .max_det = o.max_det});
        nms_time += seconds_since(t);

        // targets (image, class, cx, cy, w, h normalised to the input) -> per image (class, x1, y1, x2, y2) pixels
        std::vector<std::vector<double>> labels(static_cast<size_t>(B));
        const std::vector<double> tg = host(batch[1]);
        for (size_t i = 0; i + 5 < tg.size(); i += 6) {
            const int64_t b = std::llround(tg[i]);
            NB_CHECK_VALUE(b >= 0 && b < B, "validate_detection: a target names image ", b, " of a batch of ", B);
            const double cx = tg[i + 2] * W, cy = tg[i + 3] * H, w = tg[i + 4] * W, h = tg[i + 5] * H;
            labels[b].insert(labels[b].end(), {tg[i + 1], cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2});
        }
        for (int64_t si = 0; si < B; ++si) {
            const LetterboxShape shape = LetterboxShape::from_tensor(batch[2].select(0, si));
            const Tensor predn = scale_coords(dets[si].to(kFloat64), shape);  // to the original image's pixels
            const auto m = static_cast<int64_t>(labels[si].size() / 5);
            Tensor labelsn = from_vector(labels[si], {m, 5});
            if (m > 0)
                labelsn = cat({labelsn.narrow(1, 0, 1), scale_coords(labelsn.narrow(1, 1, 4).contiguous(), shape)}, 1);
            stats.update(predn, labelsn);
            confusion.process_batch(predn, labelsn);
        }
        ++batches;
        if (bar) bar->update();
        t = Clock::now();
    }
    if (bar) bar->close();
    DetectionValResult r = detection_results(stats, names);
    r.confusion = confusion;
    r.input_shape = input_shape;
    for (double v : loss_sum) r.loss.push_back(v / static_cast<double>(std::max<int64_t>(batches, 1)));
    const double per_image = 1000.0 / static_cast<double>(std::max<int64_t>(stats.images, 1));
    r.pre_ms = pre * per_image, r.inference_ms = inference * per_image, r.nms_ms = nms_time * per_image;
    return r;
}

DetectionValResult validate_detection(nn::Module& model, data::DataLoader& loader,
                                      const std::vector<std::string>& names, const DetectionValOptions& options) {
    return validate_detection(model, loader, static_cast<int64_t>(names.size()), names, options);
}

std::string detection_val_table(const DetectionValResult& r) {
    std::string s = fmt::format("{:>20}{:>11}{:>11}{:>11}{:>11}{:>11}{:>11}\n", "Class", "Images", "Labels", "P", "R",
                                "mAP@.5", "mAP@.5:.95");
    auto line = [&](const std::string& name, int64_t labels, double p, double rr, double ap50, double ap) {
        s += fmt::format("{:>20}{:>11}{:>11}{:>11.3g}{:>11.3g}{:>11.3g}{:>11.3g}\n", name, r.images, labels, p, rr,
                         ap50, ap);
    };
    line("all", r.labels, r.mp, r.mr, r.map50, r.map);
    if (r.classes.size() > 1)
        for (const DetectionClassResult& c : r.classes) line(c.name, c.labels, c.p, c.r, c.ap50, c.ap);
    std::string shape;
    for (int64_t d : r.input_shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    s += fmt::format("Speed: {:.1f}ms pre-process, {:.1f}ms inference, {:.1f}ms NMS per image at shape ({})\n",
                     r.pre_ms, r.inference_ms, r.nms_ms, shape);
    return s;
}

std::string detection_val_json(const DetectionValResult& r) {
    nlohmann::ordered_json j{
        {"images", r.images},  {"labels", r.labels},    {"P", r.mp}, {"R", r.mr}, {"mAP@.5", r.map50},
        {"mAP@.5:.95", r.map}, {"fitness", r.fitness()}};
    if (!r.loss.empty()) j["loss"] = r.loss;
    for (const DetectionClassResult& c : r.classes)
        j["classes"][c.name] = {{"class", c.cls}, {"labels", c.labels}, {"P", c.p},
                                {"R", c.r},       {"mAP@.5", c.ap50},   {"mAP@.5:.95", c.ap}};
    j["speed_ms"] = {{"pre-process", r.pre_ms}, {"inference", r.inference_ms}, {"NMS", r.nms_ms}};
    return j.dump();
}

// --- pictures ---

namespace {

// np.interp(x, xp, fp) for a non-decreasing xp: the segment starting at the last xp <= x (fp.back() at
// x == xp.back(), as numpy).
double interp(double x, const std::vector<double>& xp, const std::vector<double>& fp) {
    if (x < xp.front()) return fp.front();
    if (x > xp.back()) return fp.back();
    const size_t j = static_cast<size_t>(std::upper_bound(xp.begin(), xp.end(), x) - xp.begin()) - 1;
    if (j + 1 == xp.size() || xp[j] == x) return fp[j];
    return fp[j] + (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]) * (x - xp[j]);
}

// matplotlib's "Blues" (ColorBrewer's nine steps), linear between them: v in [0, 1].
data::Color blues(double v) {
    static const char* steps[] = {"f7fbff", "deebf7", "c6dbef", "9ecae1", "6baed6",
                                  "4292c6", "2171b5", "08519c", "08306b"};
    const double x = std::clamp(v, 0.0, 1.0) * 8;
    const int i = std::min(static_cast<int>(x), 7);
    const data::Color a = data::hex_color(steps[i]), b = data::hex_color(steps[i + 1]);
    const double f = x - i;
    return {a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f};
}

// A float32 [3, h, w] canvas as plain memory, for filling rectangles and pasting rendered tiles.
struct Canvas {
    int64_t h, w;
    std::vector<float> px;
    Canvas(int64_t h_, int64_t w_) : h(h_), w(w_), px(static_cast<size_t>(3 * h_ * w_), 1.0f) {}
    void fill(int64_t x0, int64_t y0, int64_t x1, int64_t y1, const data::Color& c) {
        for (int64_t ch = 0; ch < 3; ++ch)
            for (int64_t y = std::max<int64_t>(y0, 0); y < std::min(y1, h); ++y)
                for (int64_t x = std::max<int64_t>(x0, 0); x < std::min(x1, w); ++x)
                    px[(ch * h + y) * w + x] = static_cast<float>(c[ch]);
    }
    void paste(const Tensor& tile, int64_t x0, int64_t y0) {  // tile [3, th, tw] float32
        const Tensor t = tile.to(kFloat32).contiguous();
        const int64_t th = t.size(1), tw = t.size(2);
        const float* p = t.data_ptr<float>();
        for (int64_t ch = 0; ch < 3; ++ch)
            for (int64_t y = 0; y < th && y0 + y < h; ++y)
                for (int64_t x = 0; x < tw && x0 + x < w; ++x)
                    px[(ch * h + y0 + y) * w + x0 + x] = p[(ch * th + y) * tw + x];
    }
    Tensor tensor() const { return from_vector(px, {3, h, w}); }
};

std::string stacked(const std::string& text) {  // one character per line: a vertical label
    std::string s;
    for (char c : text) {
        if (!s.empty()) s += '\n';
        s += c;
    }
    return s;
}

}  // namespace

void plot_pr_curve(const DetectionStats& s, const std::vector<std::string>& names, const std::string& path) {
    const size_t k = s.iouv.size();
    std::vector<size_t> order(s.conf.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s.conf[a] > s.conf[b]; });
    std::map<int64_t, int64_t> counts;
    for (int64_t c : s.target_cls) ++counts[c];
    std::vector<double> px(1000);
    for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<double>(i) / 999.0;

    std::vector<data::Series> series;
    std::vector<double> mean(px.size(), 0.0), ap50;
    for (const auto& [c, n_l] : counts) {
        std::vector<double> mrec{0.0}, mpre{1.0};  // compute_ap's sentinels around the class's cumulative curve
        double tpc = 0, fpc = 0;
        for (size_t i : order) {
            if (s.pred_cls[i] != c) continue;
            const double hit = s.correct[i * k] ? 1.0 : 0.0;
            tpc += hit, fpc += 1 - hit;
            mrec.push_back(tpc / (static_cast<double>(n_l) + 1e-16));
            mpre.push_back(tpc / (tpc + fpc));
        }
        if (mrec.size() == 1) continue;  // no detection of this class: no curve, as ultralytics
        const double ap = metrics::compute_ap({mrec.begin() + 1, mrec.end()}, {mpre.begin() + 1, mpre.end()});
        mrec.push_back(1.0), mpre.push_back(0.0);
        for (size_t i = mpre.size() - 1; i-- > 0;) mpre[i] = std::max(mpre[i], mpre[i + 1]);  // the envelope
        data::Series curve{fmt::format("{} {:.3f}", class_name(names, c), ap), px, {}};
        for (double x : px) curve.y.push_back(interp(x, mrec, mpre));
        for (size_t g = 0; g < px.size(); ++g) mean[g] += curve.y[g];
        ap50.push_back(ap);
        series.push_back(std::move(curve));
    }
    double map50 = 0;
    for (double v : ap50) map50 += v / static_cast<double>(ap50.size());
    for (double& v : mean) v /= static_cast<double>(std::max<size_t>(series.size(), 1));
    if (series.size() >= 21) series.clear();  // too many for a legend: only the mean, as ultralytics' grey lines
    series.push_back({fmt::format("all classes {:.3f} mAP@0.5", map50), px, mean});
    if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
    data::plot_curves(path, "Precision (y) - Recall (x) at IoU 0.5", series, 800, 600);
}

void plot_confusion_matrix(const ConfusionMatrix& cm, const std::vector<std::string>& names, const std::string& path) {
    const int64_t nc = cm.nc(), k = nc + 1;
    std::vector<std::string> rows, cols;  // predicted (y), true (x)
    for (int64_t c = 0; c < nc; ++c) rows.push_back(class_name(names, c).substr(0, 16));
    cols = rows;
    rows.push_back("background FN");
    cols.push_back("background FP");
    size_t longest = 0;
    for (const auto& r : rows) longest = std::max(longest, r.size());
    const int64_t chars = static_cast<int64_t>(std::max<size_t>(longest, 13));
    const int64_t cell = std::clamp<int64_t>(720 / k, 8, 56), side = cell * k;
    const bool annotate = nc < 30 && cell >= 28;  // seaborn annotates below 30 classes; "0.00" needs 24 pixels
    const int64_t left = 10 + 6 + 10 + 6 * chars + 6, top = 40;
    const std::string title = "Confusion matrix (columns: true class, normalised)";
    const int64_t height = top + side + 6 + 8 * chars + 24;
    const int64_t width = std::max(left + side + 80, left + data::text_size(title, 2).w + 10);
    Canvas canvas(height, width);
    const std::vector<double> v = cm.normalized();
    for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j) {
            const double x = v[i * k + j];
            if (x < 0.005) continue;  // blank, as the reference's NaN cells
            const data::Color c = blues(x);
            if (!annotate) {
                canvas.fill(left + j * cell, top + i * cell, left + (j + 1) * cell, top + (i + 1) * cell, c);
                continue;
            }
            Tensor tile = zeros({3, cell, cell});
            for (int64_t ch = 0; ch < 3; ++ch) tile.select(0, ch).fill_(c[ch]);
            const std::string text = fmt::format("{:.2f}", x);
            const Int2 ts = data::text_size(text);
            tile = data::draw_text(tile, (cell - ts.w) / 2, (cell - ts.h) / 2, text,
                                   x > 0.5 ? data::Color{1, 1, 1} : data::Color{0, 0, 0});
            canvas.paste(tile, left + j * cell, top + i * cell);
        }
    const data::Color grey{0.8, 0.8, 0.8};  // a frame around the grid
    canvas.fill(left - 1, top - 1, left + side + 1, top, grey);
    canvas.fill(left - 1, top + side, left + side + 1, top + side + 1, grey);
    canvas.fill(left - 1, top, left, top + side, grey);
    canvas.fill(left + side, top, left + side + 1, top + side, grey);
    for (int64_t b = 0; b < 200 && b < side; ++b)  // a colour bar, 1 at the top
        canvas.fill(left + side + 20, top + b, left + side + 36, top + b + 1,
                    blues(1.0 - static_cast<double>(b) / 199));
    Tensor image = canvas.tensor();
    const data::Color black{0, 0, 0};
    image = data::draw_text(image, left, 12, title, black, 2);
    for (int64_t i = 0; i < k; ++i) {
        const Int2 ts = data::text_size(rows[i]);
        image = data::draw_text(image, left - 6 - ts.w, top + i * cell + (cell - 8) / 2, rows[i], black);
    }
    for (int64_t j = 0; j < k; ++j)
        image = data::draw_text(image, left + j * cell + (cell - 6) / 2, top + side + 6, stacked(cols[j]), black);
    image = data::draw_text(image, 10, top + side / 2 - 36, stacked("Predicted"), black);
    image = data::draw_text(image, left + side / 2 - 12, height - 16, "True", black);
    image = data::draw_text(image, left + side + 40, top, "1.0", black);
    image = data::draw_text(image, left + side + 40, top + std::min<int64_t>(200, side) - 8, "0.0", black);
    if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
    data::write_png(path, data::to_uint8(image));
}

void plot_detection_val(const DetectionValResult& r, const std::vector<std::string>& names, const std::string& dir) {
    fs::create_directories(dir);
    plot_pr_curve(r.stats, names, (fs::path(dir) / "PR_curve.png").string());
    plot_confusion_matrix(r.confusion, names, (fs::path(dir) / "confusion_matrix.png").string());
}

// --- weights ---

int64_t yolo_nc_from_state_dict(const TensorMap& state) {
    const Tensor* anchors = nullptr;
    std::string detect;  // "model.24"
    for (const auto& [key, t] : state) {
        const std::string suffix = ".anchors";
        if (key.rfind("model.", 0) == 0 && key.size() > suffix.size() &&
            key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0)
            anchors = &t, detect = key.substr(0, key.size() - suffix.size());
    }
    NB_CHECK_VALUE(anchors && anchors->dim() == 3 && anchors->size(2) == 2,
                   "YOLOv5 weights: no Detect anchors `model.<i>.anchors` [nl, na, 2] among the ", state.size(),
                   " tensors (not YOLOv5 weights?)");
    const auto conv = state.find(detect + ".m.0.weight");
    NB_CHECK_VALUE(conv != state.end() && conv->second.dim() == 4, "YOLOv5 weights: ", detect,
                   ".anchors but no Detect conv ", detect, ".m.0.weight");
    const int64_t na = anchors->size(1), rows = conv->second.size(0);
    NB_CHECK_VALUE(na > 0 && rows % na == 0 && rows / na > 5, "YOLOv5 weights: ", detect, ".m.0.weight has ", rows,
                   " outputs, not na (nc + 5) for na = ", na);
    return rows / na - 5;
}

LoadedDetector load_detector(const std::string& model_name, const std::string& weights, const std::string& data_yaml,
                             Device device) {
    find_model(model_name);  // an unknown name lists the known ones
    NB_CHECK_VALUE(model_name.rfind("yolov5", 0) == 0, model_name, " is not a YOLOv5 model (yolov5n, s, m, l, x)");
    // The run's options (names, depth_multiple): a checkpoint's "config", which `nabla export` carries into its
    // weights-only files.
    Metadata meta;
    const TensorMap state = nn::load_weights(weights, /*prefer_ema=*/true, &meta);
    const auto it = meta.find("config");
    const nlohmann::json config = parse_config(it == meta.end() ? "" : it->second);

    LoadedDetector d;
    d.img_size = config_int(config, "img_size", d.img_size);
    models::YOLOv5Args args;
    try {
        args.nc = yolo_nc_from_state_dict(state);
        args.channels = models::YOLOv5::channels_from_state_dict(state);
        // The run's depth_multiple: its --set (a bad value is an error naming the key) over the config's field;
        // 0 when neither has one (the model's own then).
        const double depth =
            ModelArgs(set_of_config(config)).get_double("depth_multiple", config_double(config, "depth_multiple", 0.0));
        if (depth > 0) args.depth_multiple = depth;
        d.model = std::make_shared<models::YOLOv5>(model_name, args);
        d.model->load_state_dict(state, true);
    } catch (const Error& e) {
        throw ValueError(fmt::format("{}: the weights do not fit {}: {}", weights, model_name, e.what()));
    }
    d.model->eval();
    d.model->to(device);
    const int64_t nc = d.model->nc;
    if (config.contains("names") && config["names"].is_array() && static_cast<int64_t>(config["names"].size()) == nc) {
        for (const auto& n : config["names"]) d.names.push_back(n.is_string() ? n.get<std::string>() : n.dump());
    } else if (!data_yaml.empty()) {
        const DataYaml cfg = find_data_yaml(data_yaml);
        if (cfg.nc != nc)
            throw ValueError(
                fmt::format("--data {}: nc={} but the weights {} have {} classes", cfg.file, cfg.nc, weights, nc));
        d.names = cfg.names;
    } else {
        for (int64_t c = 0; c < nc; ++c) d.names.push_back(std::to_string(c));
    }
    return d;
}

namespace {

// ultralytics' check_img_size: the size rounded up to a multiple of the largest stride, with a warning.
int64_t check_img_size(int64_t img_size, const models::YOLOv5& model) {
    const auto s = static_cast<int64_t>(*std::max_element(model.stride.begin(), model.stride.end()));
    NB_CHECK_VALUE(img_size > 0, "--img-size must be positive, got ", img_size);
    const int64_t size = (img_size + s - 1) / s * s;
    if (size != img_size)
        fmt::print(stderr, "WARNING: --img-size {} must be a multiple of max stride {}, updating to {}\n", img_size, s,
                   size);
    return size;
}

}  // namespace

int64_t inference_size(int64_t img_size, const LoadedDetector& detector) {
    if (img_size > 0) return img_size;
    return detector.img_size > 0 ? detector.img_size : 640;
}

DetectionValResult evaluate_detection(const DetectionEvalOptions& o) {
    NB_CHECK_VALUE(o.task == "val" || o.task == "test", "--task must be val or test, got '", o.task, "'");
    const LoadedDetector d = load_detector(o.model, o.weights, "", o.device);
    const DataYaml cfg = find_data_yaml(o.data);
    if (cfg.nc != d.model->nc)
        throw ValueError(fmt::format("--data {}: nc={} but the weights {} have {} classes", cfg.file, cfg.nc, o.weights,
                                     d.model->nc));
    const std::vector<std::string>& sources = o.task == "val" ? cfg.val : cfg.test;
    if (sources.empty()) throw ValueError(fmt::format("--data {}: has no {} split", cfg.file, o.task));
    const int64_t img_size = check_img_size(inference_size(o.img_size, d), *d.model);
    const auto stride = static_cast<int64_t>(*std::max_element(d.model->stride.begin(), d.model->stride.end()));
    auto set = make_detection_dataset(sources, cfg.nc, validation_options(img_size, o.batch, stride), o.task + ": ");
    data::DataLoader loader(set, {.batch_size = o.batch, .num_workers = o.workers}, detection_collate);
    const DetectionValResult r = validate_detection(
        *d.model, loader, cfg.nc, cfg.names,
        {.conf_thres = o.conf_thres, .iou_thres = o.iou_thres, .max_det = o.max_det, .description = "val " + o.model});
    const std::string out = o.output.empty() ? "runs/val/" + o.model : o.output;
    plot_detection_val(r, cfg.names, out);
    const std::string json = detection_val_json(r);
    std::ofstream(fs::path(out) / "results.json") << nlohmann::json::parse(json).dump(2) << "\n";
    fmt::print("{}{}\nResults saved to {}\n", detection_val_table(r), json, out);
    return r;
}

// --- detect ---

DetectInput detect_input(const Tensor& image, int64_t img_size, int64_t stride, bool auto_pad) {
    NB_CHECK(image.defined() && image.dim() == 3 && image.size(0) == 3,
             "detect_input: expected an image [3, H, W], got ",
             image.defined() ? shape_str(image.shape()) : "undefined");
    const data::Letterbox lb =
        data::letterbox(image.to(kFloat32), {.new_shape = img_size, .auto_pad = auto_pad, .stride = stride});
    // detect.py's scale_coords without ratio_pad: the gain and the padding recomputed from the two shapes
    const double h0 = static_cast<double>(image.size(1)), w0 = static_cast<double>(image.size(2));
    const double h = static_cast<double>(lb.image.size(1)), w = static_cast<double>(lb.image.size(2));
    const double gain = std::min(h / h0, w / w0);
    return {lb.image.contiguous(),
            {image.size(1), image.size(2), gain, gain, (w - w0 * gain) / 2, (h - h0 * gain) / 2}};
}

std::string detection_txt(const Tensor& detections, int64_t height0, int64_t width0, bool save_conf) {
    NB_CHECK(detections.defined() && detections.dim() == 2 && detections.size(1) == 6,
             "detection_txt: expected detections [n, 6] (x1, y1, x2, y2, conf, cls), got ",
             detections.defined() ? shape_str(detections.shape()) : "undefined");
    const std::vector<double> d = host(detections);
    const double W = static_cast<double>(width0), H = static_cast<double>(height0);
    std::string s;
    for (size_t i = 0; i + 5 < d.size(); i += 6) {
        const double* r = d.data() + i;
        s += fmt::format("{:g} {:g} {:g} {:g} {:g}", r[5], (r[0] + r[2]) / 2 / W, (r[1] + r[3]) / 2 / H,
                         (r[2] - r[0]) / W, (r[3] - r[1]) / H);
        s += save_conf ? fmt::format(" {:g}\n", r[4]) : "\n";
    }
    return s;
}

Tensor detect_image(models::YOLOv5& model, const Tensor& image, const DetectOptions& o, Int2* input_size) {
    const int64_t img_size = check_img_size(o.img_size, model);
    const auto stride = static_cast<int64_t>(*std::max_element(model.stride.begin(), model.stride.end()));
    const DetectInput in = detect_input(image, img_size, stride);
    if (input_size) *input_size = {in.image.size(1), in.image.size(2)};
    const Tensor pred = model.call_outputs(in.image.unsqueeze(0).to(device_of(model)))[0].to(kCPU);  // NMS: host
    return scale_coords(models::non_max_suppression(pred, {.conf_thres = o.conf_thres,
                                                           .iou_thres = o.iou_thres,
                                                           .classes = o.classes,
                                                           .agnostic = o.agnostic_nms,
                                                           .max_det = o.max_det})
                            .at(0),
                        in.shape);
}

Tensor draw_detections(const Tensor& image, const Tensor& detections, const std::vector<std::string>& names) {
    if (detections.size(0) == 0) return image;
    const std::vector<double> rows = host(detections);
    std::vector<data::Color> colors;
    std::vector<std::string> texts;
    for (size_t i = 0; i + 5 < rows.size(); i += 6) {
        const int64_t c = std::llround(rows[i + 5]);
        colors.push_back(data::palette(c));
        texts.push_back(fmt::format("{} {:.2f}", class_name(names, c), rows[i + 4]));
    }
    const int64_t line =
        std::max<int64_t>(std::llround(static_cast<double>(image.size(1) + image.size(2)) / 2 * 0.003), 2);
    return data::draw_boxes(image, detections.narrow(1, 0, 4), colors, texts, line);
}

std::vector<DetectResult> detect(const DetectOptions& o) {
    const LoadedDetector d = load_detector(o.model, o.weights, o.data, o.device);
    if (!fs::exists(o.source)) throw ValueError(fmt::format("--source {}: no such file or folder", o.source));
    const std::vector<std::string> files =
        fs::is_directory(o.source) ? data::list_images(o.source) : std::vector<std::string>{o.source};
    if (files.empty()) throw ValueError(fmt::format("--source {}: no images (.png .jpg .jpeg .bmp)", o.source));
    DetectOptions checked = o;  // the size rounded to the stride once, with its warning, before anything is written
    checked.img_size = check_img_size(inference_size(o.img_size, d), *d.model);
    const fs::path out = o.output.empty() ? "runs/detect/" + o.model : o.output;
    fs::create_directories(out);
    if (o.save_txt) fs::create_directories(out / "labels");
    autograd::NoGradGuard no_grad;
    std::vector<DetectResult> results;
    for (size_t f = 0; f < files.size(); ++f) {
        const auto start = Clock::now();
        const Tensor image = data::to_tensor(data::read_image(files[f], data::ImageMode::RGB));  // [3, H, W] in [0, 1]
        const int64_t H = image.size(1), W = image.size(2);
        Int2 seen{};  // the letterboxed size the model saw
        const Tensor dets = detect_image(*d.model, image, checked, &seen);
        DetectResult r{.image = files[f], .detections = dets};
        const std::string stem = fs::path(files[f]).stem().string();
        std::map<int64_t, int64_t> per_class;
        for (const double c : host(dets.select(1, 5).contiguous())) ++per_class[std::llround(c)];
        const Tensor drawn = draw_detections(image, dets, d.names);
        r.picture = (out / (stem + ".png")).string();
        data::write_png(r.picture, data::to_uint8(drawn));
        if (o.save_txt) {
            r.label_file = (out / "labels" / (stem + ".txt")).string();
            std::ofstream txt(r.label_file);
            txt << detection_txt(dets, H, W, o.save_conf);
            if (!txt) throw Error(fmt::format("detect: cannot write {}", r.label_file));
        }
        std::string found;
        for (const auto& [c, n] : per_class)
            found += fmt::format("{} {}{}, ", n, class_name(d.names, c), n > 1 ? "s" : "");
        fmt::print("image {}/{} {}: {}x{} {}Done. ({:.3f}s)\n", f + 1, files.size(), files[f], seen.h, seen.w, found,
                   seconds_since(start));
        results.push_back(std::move(r));
    }
    fmt::print("Results saved to {}{}\n", out.string(),
               o.save_txt ? fmt::format(" (labels in {})", (out / "labels").string()) : "");
    return results;
}

// --- the commands ---

void add_detection_commands(CLI::App& app) {
    auto* val = app.add_subcommand("val",
                                   "Validate YOLOv5 weights on a data.yaml's split: P, R, mAP@.5, mAP@.5:.95 "
                                   "(`nabla val MODEL --help`)");
    auto* det =
        app.add_subcommand("detect", "Detect objects in images with YOLOv5 weights (`nabla detect MODEL --help`)");
    val->require_subcommand(1);
    det->require_subcommand(1);
    for (const char* size : {"n", "s", "m", "l", "x"}) {
        const std::string name = std::string("yolov5") + size;
        const char* kImgSizeHelp =
            "Inference size (pixels, the long side); 0: the size the weights were trained at (their config), else "
            "640";
        const std::string weights_help =
            "YOLOv5 weights: a checkpoint (its EMA weights if any) or a state dict with ultralytics' keys; nc and "
            "every layer's width are read from them (pruned weights load too); default: the shipped " +
            shipped_weights_path(name) + ", when it exists";
        {
            auto o = std::make_shared<DetectionEvalOptions>();
            o->model = name;
            auto* cmd = val->add_subcommand(name, "Validate " + name +
                                                      " as val.py: the table, JSON, PR_curve.png and "
                                                      "confusion_matrix.png");
            cmd->add_option("--weights", o->weights, weights_help)->check(CLI::ExistingFile);
            cmd->add_option("--data", o->data, "A data.yaml, or a folder holding one")->required();
            cmd->add_option("--task", o->task, "The split to validate: val or test")
                ->capture_default_str()
                ->check(CLI::IsMember({"val", "test"}));
            cmd->add_option("--img-size", o->img_size, kImgSizeHelp)->capture_default_str();
            cmd->add_option("--batch", o->batch, "Batch size")->capture_default_str()->check(CLI::PositiveNumber);
            cmd->add_option("--conf-thres", o->conf_thres, "NMS confidence threshold")->capture_default_str();
            cmd->add_option("--iou-thres", o->iou_thres, "NMS IoU threshold")->capture_default_str();
            cmd->add_option("--max-det", o->max_det, "Detections kept per image")->capture_default_str();
            cmd->add_option("--workers", o->workers, "Data loading threads")->capture_default_str();
            cmd->add_option("--output", o->output,
                            "Folder for the plots and results.json (default: runs/val/" + name + ")");
            add_device_option(cmd, o->device,
                              "where the model runs; each batch is copied there and the decoded boxes back to the "
                              "host, where NMS, the matching and the metrics run (the inference time includes that "
                              "copy)");
            add_precision_option(cmd);
            cmd->callback([o] {
                DetectionEvalOptions resolved = *o;  // (o keeps what was typed, for a later parse)
                resolved.weights = resolve_weights(o->weights, o->model, "val");
                evaluate_detection(resolved);
            });
        }
        {
            auto o = std::make_shared<DetectOptions>();
            o->model = name;
            auto* cmd = det->add_subcommand(name, "Detect with " + name +
                                                      " as detect.py: <stem>.png with the boxes and "
                                                      "labels/<stem>.txt with --save-txt");
            cmd->add_option("--weights", o->weights, weights_help)->check(CLI::ExistingFile);
            cmd->add_option("--source", o->source, "An image or a folder of images")->required();
            cmd->add_option("--data", o->data,
                            "A data.yaml (or its folder) for the class names when the weights carry none");
            cmd->add_option("--img-size", o->img_size, kImgSizeHelp)->capture_default_str();
            cmd->add_option("--conf-thres", o->conf_thres, "NMS confidence threshold")->capture_default_str();
            cmd->add_option("--iou-thres", o->iou_thres, "NMS IoU threshold")->capture_default_str();
            cmd->add_option("--max-det", o->max_det, "Detections kept per image")->capture_default_str();
            cmd->add_option("--classes", o->classes, "Keep only these classes (e.g. --classes 0 2)");
            cmd->add_flag("--agnostic-nms", o->agnostic_nms, "One NMS across classes");
            cmd->add_flag("--save-txt", o->save_txt, "Write labels/<stem>.txt: cls cx cy w h (normalised)");
            cmd->add_flag("--save-conf", o->save_conf, "With --save-txt: the confidence as a sixth column");
            cmd->add_option("--output", o->output, "Folder for the pictures (default: runs/detect/" + name + ")");
            add_device_option(cmd, o->device,
                              "where the model runs; each letterboxed image is copied there and the decoded boxes "
                              "back to the host, where NMS runs and the boxes are drawn and written");
            add_precision_option(cmd);
            cmd->callback([o] {
                DetectOptions resolved = *o;
                resolved.weights = resolve_weights(o->weights, o->model, "detect");
                detect(resolved);
            });
        }
    }
}

}  // namespace nabla::apps
