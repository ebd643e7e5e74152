// nn/metrics.h — the evaluation metrics of Nabla's trainers, in namespace nabla::metrics (torchmetrics / the papers'
// evaluation scripts; detection metrics in nn/metrics_detection.h, included below).
//   image quality  (PANet, torchmetrics.functional.peak_signal_noise_ratio / structural_similarity_index_measure):
//                  psnr, ssim, rgb_to_y, shave_border            — docs/metrics.md §2
//   salient object (U²-Net, the SOD evaluation toolbox):
//                  mae, FMeasure (max F, β² = 0.3), SaliencyMetrics — docs/metrics.md §1
//   landmarks      (PFLD test.py): nme_inter_ocular, ced, ced_auc (Simpson / 0.1), failure_rate — docs/metrics.md §3
// Metrics are not autograd ops: they read already prepared tensors (any float dtype, any device, any strides),
// compute in double on the host and return plain numbers. A wrong shape is a ShapeError naming the metric and both
// shapes; an argument out of range (data_range <= 0, ...) is a ValueError.
//   double db = metrics::psnr(sr, hr, 1.0);                         // sr, hr: [N, 3, H, W] in [0, 1]
//   double y_db = metrics::psnr(metrics::rgb_to_y(sr), metrics::rgb_to_y(hr), 1.0, /*shave=*/2);   // paper style
//   metrics::SaliencyMetrics sod;  sod.update(pred, gt);  sod.mae();  sod.max_f();   // pred, gt: [N, 1, H, W]
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace nabla::metrics {

// ---------------------------------------------------------------------------------------------- image quality

// x[..., b:H-b, b:W-b]: the border that super-resolution papers leave out ("shave `scale` px"). A view; b = 0 is x.
Tensor shave_border(const Tensor& x, int64_t border);

// Paper-style luma: Y of MATLAB's rgb2ycbcr (BT.601, studio swing) on the [0, 1] scale:
//   Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255   for R, G, B in [0, 1]; Y ∈ [16/255, 235/255].
// rgb: [N, 3, H, W] -> [N, 1, H, W], same dtype. Multiply by 255 for MATLAB's 0..255 Y (and use data_range 255).
Tensor rgb_to_y(const Tensor& rgb);

// PSNR = 10 log10(data_range² / MSE), the MSE over all elements (after shaving `shave` px off the last two dims).
// +inf for identical inputs. data_range is the span of the values: 1 for [0, 1], 2 for [-1, 1], 255 for 0..255.
double psnr(const Tensor& pred, const Tensor& target, double data_range, int64_t shave = 0);
// One PSNR per index of dim 0 (pred, target: [N, ...]); their mean is the "average PSNR over a test set" of papers.
std::vector<double> psnr_per_image(const Tensor& pred, const Tensor& target, double data_range, int64_t shave = 0);

// How the 11x11 window meets the border.
//   Valid: only windows inside the image, output (H-10) x (W-10) — MATLAB's ssim_index (filter2 'valid'), the papers,
//          torchmetrics (which pads and then crops the same border). The default.
//   Zeros: zero padding 5, output H x W — pytorch-ssim, the seed code (slightly lower: the border windows see zeros).
enum class SSIMPadding { Valid, Zeros };

// Mean SSIM (Wang et al. 2004) over N, C and the window positions; pred, target: [N, C, H, W].
//   Window: 11x11 Gaussian, σ = 1.5, normalised (MATLAB fspecial('gaussian', 11, 1.5)), per channel.
//   μ = w*x; σx² = w*(x²) − μx²; σxy = w*(xy) − μxμy; C1 = (0.01 L)², C2 = (0.03 L)², L = data_range;
//   SSIM = (2μxμy + C1)(2σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)).
// Compute on [0, 1] data with data_range 1 (or Y·255 with 255); on [-1, 1] data the luminance term is not shift
// invariant and the result is wrong even with data_range 2 (docs/metrics.md §2, pitfall 1) — map to [0, 1] first.
double ssim(const Tensor& pred, const Tensor& target, double data_range = 1.0,
            SSIMPadding padding = SSIMPadding::Valid);
std::vector<double> ssim_per_image(const Tensor& pred, const Tensor& target, double data_range = 1.0,
                                   SSIMPadding padding = SSIMPadding::Valid);

// -------------------------------------------------------------------------------------------- salient object
// P = the predicted saliency in [0, 1] at the ground truth's size; G = the ground truth in [0, 1] (GT/255),
// binarised at G > 0.5 by these functions.

// MAE = mean |P − [G > 0.5]| over all elements (one image, or a batch of equal-size images).
double mae(const Tensor& pred, const Tensor& gt);

// The dataset-level max F-measure. For every threshold t = 0..255, the mask M_t = [255·P >= t]; per image
//   Prec_t = |M_t ∩ G| / |M_t|,  Rec_t = |M_t ∩ G| / |G|   (0/0 -> 0, e.g. an empty mask or an empty G),
// averaged over all images seen; then F_t = (1+β²) Prec_t Rec_t / (β² Prec_t + Rec_t) (0 when both are 0) and
// maxF = max_t F_t. (The mean of per-image max F is a different, higher number.)
class FMeasure {
public:
    static constexpr int kThresholds = 256;
    explicit FMeasure(double beta2 = 0.3) : beta2_(beta2) {}
    // pred, gt: [N, ...] of the same shape (dim >= 3, e.g. [N, 1, H, W]); one image per index of dim 0.
    void update(const Tensor& pred, const Tensor& gt);
    double max_f() const;
    std::array<double, kThresholds> precision() const;  // mean Prec_t over the images, t = 0..255
    std::array<double, kThresholds> recall() const;
    std::array<double, kThresholds> f_measure() const;  // F_t
    int64_t num_images() const { return num_images_; }
    void reset();

private:
    double beta2_;
    std::array<double, kThresholds> precision_sum_{}, recall_sum_{};
    int64_t num_images_ = 0;
};

// Mean MAE over images and the max F-measure, accumulated image by image.
class SaliencyMetrics {
public:
    void update(const Tensor& pred, const Tensor& gt);  // [N, ...] as FMeasure::update
    double mae() const;                                 // mean over the images of the per-image MAE
    double max_f() const { return fmeasure_.max_f(); }
    const FMeasure& fmeasure() const { return fmeasure_; }
    int64_t num_images() const { return fmeasure_.num_images(); }
    void reset();

private:
    FMeasure fmeasure_;
    double mae_sum_ = 0;
};

// ------------------------------------------------------------------------------------------------- landmarks

// Per-image NME: nme_i = Σ_j ||p_j − g_j||₂ / (L · ||g_left − g_right||₂). pred, gt: [N, L, 2] or [N, 2L]
// (x0, y0, x1, y1, ... as PFLD outputs). A zero normaliser is a ValueError naming the image.
std::vector<double> nme(const Tensor& pred, const Tensor& gt, int64_t left, int64_t right);
// Inter-ocular NME (outer eye corners): L = 98 (WFLW) points 60 and 72; L = 68 (300W) 36 and 45; L = 29 (COFW)
// 8 and 9. Other L: a ValueError (use nme with the points of your layout).
std::vector<double> nme_inter_ocular(const Tensor& pred, const Tensor& gt);

// CED(x_k) = #{nme_i <= x_k} / N on x_k = k · threshold / (steps − 1), k = 0..steps−1 (0, 1e-4, ..., 0.1 by default).
std::vector<double> ced(const std::vector<double>& nmes, double threshold = 0.1, int64_t steps = 1001);
// AUC@threshold = Simpson(CED, x) / threshold — scipy.integrate.simps (composite 1/3 rule; steps must be odd).
double ced_auc(const std::vector<double>& nmes, double threshold = 0.1, int64_t steps = 1001);
// FR@threshold = #{nme_i > threshold} / N = 1 − CED(threshold).
double failure_rate(const std::vector<double>& nmes, double threshold = 0.1);

}  // namespace nabla::metrics

#include "nn/metrics_detection.h"  // IWYU pragma: export
