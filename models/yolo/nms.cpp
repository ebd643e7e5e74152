// models/yolo/nms.cpp — non_max_suppression and the greedy NMS (see nms.h; docs/yolo_val.md §1). Plain loops on the
// host, templated on the prediction's dtype so that the products and the comparisons with the thresholds round as
// the reference's float32 tensors do (a threshold is compared in the tensor's dtype, the NMS's IoU in double, as
// torchvision's kernel does).
#include "models/yolo/nms.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <numeric>

#include "ops/factory.h"

namespace nabla::models {
namespace {

// torchvision's CPU nms kernel: boxes [n][4] x1 y1 x2 y2, scores [n] -> the kept indices by descending score.
template <class T>
std::vector<int64_t> greedy_nms(const T* boxes, const T* scores, int64_t n, double iou_threshold) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
    std::vector<T> areas(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const T* b = boxes + 4 * i;
        areas[i] = (b[2] - b[0]) * (b[3] - b[1]);
    }
    std::vector<uint8_t> suppressed(static_cast<size_t>(n), 0);
    std::vector<int64_t> keep;
    for (int64_t oi = 0; oi < n; ++oi) {
        const int64_t i = order[oi];
        if (suppressed[i]) continue;
        keep.push_back(i);
        const T* a = boxes + 4 * i;
        for (int64_t oj = oi + 1; oj < n; ++oj) {
            const int64_t j = order[oj];
            if (suppressed[j]) continue;
            const T* b = boxes + 4 * j;
            const T w = std::max(T(0), std::min(a[2], b[2]) - std::max(a[0], b[0]));
            const T h = std::max(T(0), std::min(a[3], b[3]) - std::max(a[1], b[1]));
            const T inter = w * h;
            const T iou = inter / (areas[i] + areas[j] - inter);
            if (static_cast<double>(iou) > iou_threshold) suppressed[j] = 1;
        }
    }
    return keep;
}

// One image: x [N, no] row-major -> rows x1 y1 x2 y2 conf cls, flattened, by descending conf.
template <class T>
std::vector<T> nms_image(const T* x, int64_t N, int64_t no, const NMSOptions& o, bool multi_label) {
    using Row = std::array<T, 6>;
    const int64_t nc = no - 5;
    const T conf_thres = static_cast<T>(o.conf_thres);
    std::vector<Row> rows;
    std::vector<T> scores(static_cast<size_t>(nc));
    for (int64_t i = 0; i < N; ++i) {
        const T* r = x + i * no;
        if (!(r[4] > conf_thres)) continue;  // the objectness candidates
        for (int64_t j = 0; j < nc; ++j) scores[j] = r[5 + j] * r[4];
        const Row box{r[0] - r[2] / T(2), r[1] - r[3] / T(2), r[0] + r[2] / T(2), r[1] + r[3] / T(2), 0, 0};
        auto add = [&](int64_t j) {
            Row row = box;
            row[4] = scores[j], row[5] = static_cast<T>(j);
            if (o.classes.empty() || std::find(o.classes.begin(), o.classes.end(), j) != o.classes.end())
                rows.push_back(row);
        };
        if (multi_label) {  // (x[:, 5:] > conf_thres).nonzero(): box-major, then class
            for (int64_t j = 0; j < nc; ++j)
                if (scores[j] > conf_thres) add(j);
        } else {  // the best class (the first of equal maxima), if its score passes
            const int64_t j = std::max_element(scores.begin(), scores.end()) - scores.begin();
            if (scores[j] > conf_thres) add(j);
        }
    }
    if (static_cast<int64_t>(rows.size()) > o.max_nms) {
        std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a[4] > b[4]; });
        rows.resize(static_cast<size_t>(o.max_nms));
    }
    const int64_t n = static_cast<int64_t>(rows.size());
    std::vector<T> boxes(static_cast<size_t>(4 * n)), conf(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const T offset = o.agnostic ? T(0) : rows[i][5] * static_cast<T>(o.max_wh);
        for (int k = 0; k < 4; ++k) boxes[4 * i + k] = rows[i][k] + offset;
        conf[i] = rows[i][4];
    }
    std::vector<int64_t> keep = greedy_nms(boxes.data(), conf.data(), n, o.iou_thres);
    if (static_cast<int64_t>(keep.size()) > o.max_det) keep.resize(static_cast<size_t>(o.max_det));
    std::vector<T> out;
    for (int64_t i : keep) out.insert(out.end(), rows[i].begin(), rows[i].end());
    return out;
}

template <class T>
std::vector<Tensor> nms_batch(const Tensor& pred, const NMSOptions& o) {
    const int64_t B = pred.size(0), N = pred.size(1), no = pred.size(2);
    const bool multi_label = o.multi_label && no - 5 > 1;  // ultralytics: multi_label &= nc > 1
    const T* p = pred.data_ptr<T>();
    const auto start = std::chrono::steady_clock::now();
    std::vector<Tensor> out;
    bool timed_out = false;
    for (int64_t b = 0; b < B; ++b) {
        std::vector<T> rows;
        if (!timed_out) rows = nms_image(p + b * N * no, N, no, o, multi_label);
        const int64_t n = static_cast<int64_t>(rows.size() / 6);
        out.push_back(from_vector(rows, {n, 6}));
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (!timed_out && o.time_limit > 0 && elapsed > o.time_limit && b + 1 < B) {
            fmt::print(stderr, "WARNING: NMS time limit {}s exceeded: images {}..{} of the batch get no detections\n",
                       o.time_limit, b + 1, B - 1);
            timed_out = true;
        }
    }
    return out;
}

}  // namespace

std::vector<Tensor> non_max_suppression(const Tensor& prediction, const NMSOptions& options) {
    NB_CHECK(prediction.defined() && prediction.dim() == 3 && prediction.size(2) >= 6,
             "non_max_suppression: expected prediction [B, N, 5 + nc] (cx, cy, w, h, obj, classes...), got ",
             prediction.defined() ? shape_str(prediction.shape()) : "undefined");
    NB_CHECK_VALUE(options.conf_thres >= 0 && options.conf_thres <= 1, "non_max_suppression: conf_thres ",
                   options.conf_thres, " must lie in [0, 1]");
    NB_CHECK_VALUE(options.iou_thres >= 0 && options.iou_thres <= 1, "non_max_suppression: iou_thres ",
                   options.iou_thres, " must lie in [0, 1]");
    NB_CHECK_VALUE(options.max_det >= 0 && options.max_nms >= 0, "non_max_suppression: max_det ", options.max_det,
                   " and max_nms ", options.max_nms, " must be >= 0");
    const Tensor p = prediction.detach().to(kCPU);
    if (p.dtype() == kFloat64) return nms_batch<double>(p.contiguous(), options);
    return nms_batch<float>(p.to(kFloat32).contiguous(), options);
}

Tensor nms(const Tensor& boxes, const Tensor& scores, double iou_threshold) {
    NB_CHECK(boxes.defined() && scores.defined() && boxes.dim() == 2 && boxes.size(1) == 4 && scores.dim() == 1 &&
                 scores.size(0) == boxes.size(0),
             "nms: expected boxes [n, 4] and scores [n], got ",
             boxes.defined() ? shape_str(boxes.shape()) : "undefined", " and ",
             scores.defined() ? shape_str(scores.shape()) : "undefined");
    std::vector<int64_t> keep;
    if (boxes.dtype() == kFloat64) {
        const Tensor b = boxes.detach().to(kCPU).contiguous(), s = scores.detach().to(kCPU).to(kFloat64).contiguous();
        keep = greedy_nms(b.data_ptr<double>(), s.data_ptr<double>(), b.size(0), iou_threshold);
    } else {
        const Tensor b = boxes.detach().to(kCPU).to(kFloat32).contiguous();
        const Tensor s = scores.detach().to(kCPU).to(kFloat32).contiguous();
        keep = greedy_nms(b.data_ptr<float>(), s.data_ptr<float>(), b.size(0), iou_threshold);
    }
    return from_vector(keep, {static_cast<int64_t>(keep.size())});
}

}  // namespace nabla::models
