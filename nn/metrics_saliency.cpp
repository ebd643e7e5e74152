// nn/metrics_saliency.cpp — salient-object metrics of U²-Net's evaluation: MAE and the dataset-level max
// F-measure (β² = 0.3). Definitions in nn/metrics.h and docs/metrics.md §1.
#include <algorithm>
#include <cmath>

#include "nn/metrics.h"
#include "nn/metrics_detail.h"

namespace nabla::metrics {

using detail::check_same_shape;
using detail::host_doubles;

double mae(const Tensor& pred, const Tensor& gt) {
    check_same_shape("mae", pred, gt, "gt");
    NB_CHECK(pred.numel() > 0, "mae: empty inputs ", pred.shape());
    const std::vector<double> p = host_doubles(pred), g = host_doubles(gt);
    double sum = 0;
    for (size_t i = 0; i < p.size(); ++i) sum += std::abs(p[i] - (g[i] > 0.5 ? 1.0 : 0.0));
    return sum / static_cast<double>(p.size());
}

void FMeasure::update(const Tensor& pred, const Tensor& gt) {
    check_same_shape("FMeasure::update", pred, gt, "gt");
    NB_CHECK(pred.dim() >= 3 && pred.numel() > 0,
             "FMeasure::update: expected non-empty images [N, 1, H, W] (one per "
             "index of dim 0), got pred ",
             pred.shape(), " and gt ", gt.shape());
    const std::vector<double> p = host_doubles(pred), g = host_doubles(gt);
    const int64_t N = pred.size(0), per = pred.numel() / N;
    for (int64_t n = 0; n < N; ++n) {
        // hist[b]: pixels whose highest passed threshold is b (255·P >= t exactly for t = 0..b), split by G.
        std::array<int64_t, kThresholds> all{}, fg{};
        int64_t num_fg = 0;
        for (int64_t i = n * per; i < (n + 1) * per; ++i) {
            const double v = 255.0 * p[i];
            const bool is_fg = g[i] > 0.5;
            num_fg += is_fg;
            if (!(v >= 0)) continue;  // below every threshold (or NaN)
            const auto b = static_cast<int64_t>(std::min(255.0, std::floor(v)));
            ++all[b];
            fg[b] += is_fg;
        }
        int64_t mask = 0, hit = 0;  // |M_t| and |M_t ∩ G|, summed from the top threshold down
        for (int t = kThresholds - 1; t >= 0; --t) {
            mask += all[t];
            hit += fg[t];
            precision_sum_[t] += mask > 0 ? double(hit) / double(mask) : 0.0;
            recall_sum_[t] += num_fg > 0 ? double(hit) / double(num_fg) : 0.0;
        }
    }
    num_images_ += N;
}

std::array<double, FMeasure::kThresholds> FMeasure::precision() const {
    std::array<double, kThresholds> out{};
    for (int t = 0; t < kThresholds; ++t) out[t] = num_images_ ? precision_sum_[t] / double(num_images_) : 0.0;
    return out;
}

std::array<double, FMeasure::kThresholds> FMeasure::recall() const {
    std::array<double, kThresholds> out{};
    for (int t = 0; t < kThresholds; ++t) out[t] = num_images_ ? recall_sum_[t] / double(num_images_) : 0.0;
    return out;
}

std::array<double, FMeasure::kThresholds> FMeasure::f_measure() const {
    const auto p = precision(), r = recall();
    std::array<double, kThresholds> f{};
    for (int t = 0; t < kThresholds; ++t) {
        const double den = beta2_ * p[t] + r[t];
        f[t] = den > 0 ? (1 + beta2_) * p[t] * r[t] / den : 0.0;
    }
    return f;
}

double FMeasure::max_f() const {
    const auto f = f_measure();
    return *std::max_element(f.begin(), f.end());
}

void FMeasure::reset() {
    precision_sum_.fill(0);
    recall_sum_.fill(0);
    num_images_ = 0;
}

void SaliencyMetrics::update(const Tensor& pred, const Tensor& gt) {
    check_same_shape("SaliencyMetrics::update", pred, gt, "gt");
    NB_CHECK(pred.dim() >= 3 && pred.numel() > 0,
             "SaliencyMetrics::update: expected non-empty images [N, 1, H, W] "
             "(one per index of dim 0), got pred ",
             pred.shape(), " and gt ", gt.shape());
    fmeasure_.update(pred, gt);
    for (int64_t n = 0; n < pred.size(0); ++n) mae_sum_ += metrics::mae(pred.select(0, n), gt.select(0, n));
}

double SaliencyMetrics::mae() const { return num_images() ? mae_sum_ / static_cast<double>(num_images()) : 0.0; }

void SaliencyMetrics::reset() {
    fmeasure_.reset();
    mae_sum_ = 0;
}

}  // namespace nabla::metrics
