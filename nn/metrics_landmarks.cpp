// nn/metrics_landmarks.cpp — facial-landmark metrics as PFLD's test.py computes them: per-image NME normalised by
// the inter-ocular distance, the cumulative error distribution (CED), its AUC (scipy's Simpson rule) and the
// failure rate. Definitions in nn/metrics.h and docs/metrics.md §3.
#include <cmath>

#include "nn/metrics.h"
#include "nn/metrics_detail.h"

namespace nabla::metrics {

using detail::host_doubles;

namespace {

// The number of landmarks L of pred/gt [N, L, 2] or [N, 2L] (checked).
int64_t num_landmarks(const char* metric, const Tensor& pred, const Tensor& gt) {
    NB_CHECK(pred.shape() == gt.shape(), metric, ": pred ", pred.shape(), " and gt ", gt.shape(),
             " must have the same shape");
    const bool pairs = pred.dim() == 3 && pred.size(2) == 2;
    const bool flat = pred.dim() == 2 && pred.size(1) % 2 == 0;
    NB_CHECK((pairs || flat) && pred.numel() > 0, metric, ": expected landmarks [N, L, 2] or [N, 2L], got pred ",
             pred.shape(), " and gt ", gt.shape());
    return pairs ? pred.size(1) : pred.size(1) / 2;
}

// CED's grid: x_k = k · threshold / (steps − 1), as np.arange(0, threshold + step, step) with
// step = threshold / (steps − 1).
std::vector<double> ced_grid(const char* metric, double threshold, int64_t steps) {
    NB_CHECK_VALUE(threshold > 0, metric, ": threshold must be > 0, got ", threshold);
    NB_CHECK_VALUE(steps >= 2, metric, ": steps must be >= 2, got ", steps);
    const double step = threshold / static_cast<double>(steps - 1);
    std::vector<double> x(steps);
    for (int64_t k = 0; k < steps; ++k) x[k] = static_cast<double>(k) * step;
    return x;
}

std::vector<double> ced_on(const char* metric, const std::vector<double>& nmes, const std::vector<double>& x) {
    NB_CHECK_VALUE(!nmes.empty(), metric, ": no NMEs given");
    std::vector<double> out(x.size());
    for (size_t k = 0; k < x.size(); ++k) {
        int64_t below = 0;
        for (double e : nmes) below += e <= x[k];
        out[k] = static_cast<double>(below) / static_cast<double>(nmes.size());
    }
    return out;
}

}  // namespace

std::vector<double> nme(const Tensor& pred, const Tensor& gt, int64_t left, int64_t right) {
    const int64_t L = num_landmarks("nme", pred, gt);
    NB_CHECK_VALUE(left >= 0 && left < L && right >= 0 && right < L, "nme: normalising points ", left, " and ", right,
                   " out of range for ", L, " landmarks");
    const std::vector<double> p = host_doubles(pred), g = host_doubles(gt);
    const int64_t N = pred.size(0);
    std::vector<double> out(N);
    for (int64_t n = 0; n < N; ++n) {
        const double* pn = p.data() + n * 2 * L;
        const double* gn = g.data() + n * 2 * L;
        const double d = std::hypot(gn[2 * left] - gn[2 * right], gn[2 * left + 1] - gn[2 * right + 1]);
        NB_CHECK_VALUE(d > 0, "nme: image ", n, " has zero distance between its normalising points ", left, " and ",
                       right);
        double sum = 0;
        for (int64_t j = 0; j < L; ++j) sum += std::hypot(pn[2 * j] - gn[2 * j], pn[2 * j + 1] - gn[2 * j + 1]);
        out[n] = sum / (static_cast<double>(L) * d);
    }
    return out;
}

std::vector<double> nme_inter_ocular(const Tensor& pred, const Tensor& gt) {
    const int64_t L = num_landmarks("nme_inter_ocular", pred, gt);
    switch (L) {
        case 98: return nme(pred, gt, 60, 72);
        case 68: return nme(pred, gt, 36, 45);
        case 29: return nme(pred, gt, 8, 9);
        default:
            throw ValueError(
                nabla::detail::concat("nme_inter_ocular: no outer eye corners known for ", L,
                                      " landmarks (98, 68 or 29); call nme with the points of your layout"));
    }
}

std::vector<double> ced(const std::vector<double>& nmes, double threshold, int64_t steps) {
    return ced_on("ced", nmes, ced_grid("ced", threshold, steps));
}

double ced_auc(const std::vector<double>& nmes, double threshold, int64_t steps) {
    NB_CHECK_VALUE(steps >= 3 && steps % 2 == 1, "ced_auc: Simpson's rule needs an odd number of steps (>= 3), got ",
                   steps);
    const std::vector<double> x = ced_grid("ced_auc", threshold, steps);
    const std::vector<double> y = ced_on("ced_auc", nmes, x);
    // scipy.integrate.simps with x: Simpson's rule on each pair of intervals [x0, x1, x2], spacings h0 and h1.
    double area = 0;
    for (int64_t i = 0; i + 2 < steps; i += 2) {
        const double h0 = x[i + 1] - x[i], h1 = x[i + 2] - x[i + 1];
        const double hsum = h0 + h1, hprod = h0 * h1, h0divh1 = h0 / h1;
        area += hsum / 6.0 * (y[i] * (2 - 1.0 / h0divh1) + y[i + 1] * (hsum * hsum / hprod) + y[i + 2] * (2 - h0divh1));
    }
    return area / threshold;
}

double failure_rate(const std::vector<double>& nmes, double threshold) {
    NB_CHECK_VALUE(!nmes.empty(), "failure_rate: no NMEs given");
    int64_t failed = 0;
    for (double e : nmes) failed += e > threshold;
    return static_cast<double>(failed) / static_cast<double>(nmes.size());
}

}  // namespace nabla::metrics
