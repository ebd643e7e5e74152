// nn/metrics.cpp — image-quality metrics: PSNR, SSIM, the Y channel (torchmetrics' peak_signal_noise_ratio and
// structural_similarity_index_measure). Definitions in nn/metrics.h and docs/metrics.md §2.
// Plain loops in double on the host: metrics run once per validation image, and double keeps them independent of
// the input dtype.
#include "nn/metrics.h"

#include <cmath>
#include <limits>

#include "nn/metrics_detail.h"
#include "ops/factory.h"

namespace nabla::metrics {

namespace detail {
std::vector<double> host_doubles(const Tensor& t) {
    Tensor c = t.detach().to(kCPU).to(kFloat64).contiguous();
    const double* p = c.data_ptr<double>();
    return std::vector<double>(p, p + c.numel());
}

void check_same_shape(const char* metric, const Tensor& pred, const Tensor& target, const char* second) {
    NB_CHECK(pred.shape() == target.shape(), metric, ": pred ", pred.shape(), " and ", second, " ", target.shape(),
             " must have the same shape");
}
}  // namespace detail

using detail::check_same_shape;
using detail::host_doubles;

namespace {

void check_data_range(const char* metric, double data_range) {
    NB_CHECK_VALUE(data_range > 0, metric, ": data_range must be > 0, got ", data_range);
}

double psnr_of(const double* p, const double* t, int64_t n, double data_range) {
    double se = 0;
    for (int64_t i = 0; i < n; ++i) se += (p[i] - t[i]) * (p[i] - t[i]);
    const double mse = se / static_cast<double>(n);
    return mse == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(data_range * data_range / mse);
}

// The normalised 11-tap Gaussian, σ = 1.5; the 11x11 window is its outer product (fspecial('gaussian', 11, 1.5)).
constexpr int64_t kWin = 11;
std::array<double, kWin> gaussian_window() {
    std::array<double, kWin> g{};
    double sum = 0;
    for (int64_t i = 0; i < kWin; ++i) sum += g[i] = std::exp(-double((i - 5) * (i - 5)) / (2 * 1.5 * 1.5));
    for (double& v : g) v /= sum;
    return g;
}

// out [Ho, Wo] = the window (separable: rows, then columns) over in [H, W] zero-padded by `pad`.
void gaussian_filter(const std::vector<double>& in, int64_t H, int64_t W, int64_t pad, std::vector<double>& out) {
    static const std::array<double, kWin> g = gaussian_window();
    const int64_t Ho = H + 2 * pad - kWin + 1, Wo = W + 2 * pad - kWin + 1;
    std::vector<double> rows(H * Wo, 0.0);  // [H, Wo]
    for (int64_t h = 0; h < H; ++h)
        for (int64_t wo = 0; wo < Wo; ++wo) {
            double s = 0;
            for (int64_t k = 0; k < kWin; ++k) {
                const int64_t w = wo - pad + k;
                if (w >= 0 && w < W) s += g[k] * in[h * W + w];
            }
            rows[h * Wo + wo] = s;
        }
    out.assign(Ho * Wo, 0.0);
    for (int64_t ho = 0; ho < Ho; ++ho)
        for (int64_t k = 0; k < kWin; ++k) {
            const int64_t h = ho - pad + k;
            if (h < 0 || h >= H) continue;
            for (int64_t wo = 0; wo < Wo; ++wo) out[ho * Wo + wo] += g[k] * rows[h * Wo + wo];
        }
}

// Mean SSIM of each image n of pred, target [N, C, H, W].
std::vector<double> ssim_images(const char* metric, const Tensor& pred, const Tensor& target, double data_range,
                                SSIMPadding padding) {
    check_data_range(metric, data_range);
    check_same_shape(metric, pred, target);
    NB_CHECK(pred.dim() == 4, metric, ": expected images [N, C, H, W], got pred ", pred.shape(), " and target ",
             target.shape());
    const int64_t N = pred.size(0), C = pred.size(1), H = pred.size(2), W = pred.size(3);
    const int64_t pad = padding == SSIMPadding::Zeros ? kWin / 2 : 0;
    NB_CHECK(H + 2 * pad >= kWin && W + 2 * pad >= kWin && C > 0, metric, ": images pred ", pred.shape(),
             " and target ", target.shape(), " are smaller than the 11x11 window (use SSIMPadding::Zeros)");
    const double c1 = (0.01 * data_range) * (0.01 * data_range), c2 = (0.03 * data_range) * (0.03 * data_range);
    const std::vector<double> x = host_doubles(pred), y = host_doubles(target);
    const int64_t plane = H * W;
    std::vector<double> xx(plane), yy(plane), xy(plane), px, py;
    std::vector<double> mx, my, sxx, syy, sxy;
    std::vector<double> result(N, 0.0);
    for (int64_t n = 0; n < N; ++n) {
        double sum = 0;
        int64_t count = 0;
        for (int64_t c = 0; c < C; ++c) {
            const int64_t base = (n * C + c) * plane;
            px.assign(x.begin() + base, x.begin() + base + plane);
            py.assign(y.begin() + base, y.begin() + base + plane);
            for (int64_t i = 0; i < plane; ++i) {
                xx[i] = px[i] * px[i];
                yy[i] = py[i] * py[i];
                xy[i] = px[i] * py[i];
            }
            gaussian_filter(px, H, W, pad, mx);
            gaussian_filter(py, H, W, pad, my);
            gaussian_filter(xx, H, W, pad, sxx);
            gaussian_filter(yy, H, W, pad, syy);
            gaussian_filter(xy, H, W, pad, sxy);
            for (size_t i = 0; i < mx.size(); ++i) {
                const double vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i], cxy = sxy[i] - mx[i] * my[i];
                sum +=
                    (2 * mx[i] * my[i] + c1) * (2 * cxy + c2) / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
            }
            count += static_cast<int64_t>(mx.size());
        }
        result[n] = sum / static_cast<double>(count);
    }
    return result;
}

}  // namespace

// ---------------------------------------------------------------------------------------------- image quality

Tensor shave_border(const Tensor& x, int64_t border) {
    NB_CHECK_VALUE(border >= 0, "shave_border: border must be >= 0, got ", border);
    if (border == 0) return x;
    NB_CHECK(x.dim() >= 2 && x.size(-2) > 2 * border && x.size(-1) > 2 * border, "shave_border: cannot shave ", border,
             " px off each side of ", x.shape());
    return x.narrow(-2, border, x.size(-2) - 2 * border).narrow(-1, border, x.size(-1) - 2 * border);
}

Tensor rgb_to_y(const Tensor& rgb) {
    NB_CHECK(rgb.dim() == 4 && rgb.size(1) == 3, "rgb_to_y: expected RGB images [N, 3, H, W], got ", rgb.shape());
    const int64_t N = rgb.size(0), plane = rgb.size(2) * rgb.size(3);
    const std::vector<double> v = host_doubles(rgb);
    std::vector<double> y(N * plane);
    for (int64_t n = 0; n < N; ++n) {
        const double* r = v.data() + n * 3 * plane;
        for (int64_t i = 0; i < plane; ++i)
            y[n * plane + i] = (16.0 + 65.481 * r[i] + 128.553 * r[plane + i] + 24.966 * r[2 * plane + i]) / 255.0;
    }
    return from_vector(y, {N, 1, rgb.size(2), rgb.size(3)}).to(rgb.dtype());
}

double psnr(const Tensor& pred, const Tensor& target, double data_range, int64_t shave) {
    check_data_range("psnr", data_range);
    check_same_shape("psnr", pred, target);
    NB_CHECK(pred.numel() > 0, "psnr: empty inputs ", pred.shape());
    const std::vector<double> p = host_doubles(shave_border(pred, shave)),
                              t = host_doubles(shave_border(target, shave));
    return psnr_of(p.data(), t.data(), static_cast<int64_t>(p.size()), data_range);
}

std::vector<double> psnr_per_image(const Tensor& pred, const Tensor& target, double data_range, int64_t shave) {
    check_data_range("psnr_per_image", data_range);
    check_same_shape("psnr_per_image", pred, target);
    NB_CHECK(pred.dim() >= 2 && pred.numel() > 0, "psnr_per_image: expected non-empty images [N, ...], got pred ",
             pred.shape(), " and target ", target.shape());
    const std::vector<double> p = host_doubles(shave_border(pred, shave)),
                              t = host_doubles(shave_border(target, shave));
    const int64_t N = pred.size(0), per = static_cast<int64_t>(p.size()) / N;
    std::vector<double> out(N);
    for (int64_t n = 0; n < N; ++n) out[n] = psnr_of(p.data() + n * per, t.data() + n * per, per, data_range);
    return out;
}

double ssim(const Tensor& pred, const Tensor& target, double data_range, SSIMPadding padding) {
    const std::vector<double> per = ssim_images("ssim", pred, target, data_range, padding);
    double sum = 0;  // every image has the same number of window positions: the mean of means is the overall mean
    for (double v : per) sum += v;
    return sum / static_cast<double>(per.size());
}

std::vector<double> ssim_per_image(const Tensor& pred, const Tensor& target, double data_range, SSIMPadding padding) {
    return ssim_images("ssim_per_image", pred, target, data_range, padding);
}

}  // namespace nabla::metrics
