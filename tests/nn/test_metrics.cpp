// tests/nn/test_metrics.cpp — nn/metrics.h: every metric on a tiny case worked out by hand (in the comments), then
// against golden values of independent PyTorch/numpy implementations (tests/fixtures/make_metrics.py), then the errors.
#include <cmath>
#include <limits>

#include "nn/metrics.h"
#include "support/support.h"

namespace {

using Catch::Detail::Approx;

Tensor vec(const std::vector<double>& v) { return t64(v); }
template <size_t N>
Tensor vec(const std::array<double, N>& v) {
    return t64(std::vector<double>(v.begin(), v.end()));
}

// The message of the nabla::Error of type E that f throws ("" if f throws nothing or something else).
template <class E, class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    } catch (...) {
        return "another exception";
    }
    return "";
}

// The one-dimensional Gaussian of SSIM's window, from its definition (docs/metrics.md §2):
// g(i) ∝ exp(−(i−5)²/(2·1.5²)).
double gauss_centre() {
    double sum = 0;
    for (int i = 0; i < 11; ++i) sum += std::exp(-(i - 5.0) * (i - 5.0) / 4.5);
    return 1.0 / sum;
}

}  // namespace

// ------------------------------------------------------------------------------------------------ image quality

TEST_CASE("psnr: known MSE, data ranges, shave, per image", "[nn][metrics]") {
    // MSE 0.01 on [0, 1] -> 10 log10(1 / 0.01) = 20 dB; the same images on 0..255 with data_range 255 and on
    // [-1, 1] (x·2 − 1, MSE 4x) with data_range 2 give the same 20 dB.
    Tensor a = zeros({1, 1, 2, 2}), b = full({1, 1, 2, 2}, 0.1, {.dtype = kFloat64});
    REQUIRE(metrics::psnr(a, b, 1.0) == Approx(20.0));
    REQUIRE(metrics::psnr(a * 255.0, b * 255.0, 255.0) == Approx(20.0));
    REQUIRE(metrics::psnr(a * 2.0 - 1.0, b * 2.0 - 1.0, 2.0) == Approx(20.0));
    REQUIRE(std::isinf(metrics::psnr(b, b, 1.0)));
    // Differences only on a 1-px border: infinite PSNR once it is shaved, 10 log10(16/12 / 0.25) dB before
    // (12 of 16 pixels differ by 0.5: MSE = 12·0.25/16 = 0.1875).
    Tensor x = zeros({1, 1, 4, 4}, {.dtype = kFloat64}), y = full({1, 1, 4, 4}, 0.5, {.dtype = kFloat64});
    y.narrow(2, 1, 2).narrow(3, 1, 2).zero_();
    REQUIRE(metrics::psnr(x, y, 1.0) == Approx(10 * std::log10(1 / 0.1875)));
    REQUIRE(std::isinf(metrics::psnr(x, y, 1.0, 1)));
    // Two images with MSE 0.01 and 0.0001: 20 and 40 dB; over both, MSE 0.00505.
    Tensor p = zeros({2, 1, 3, 3}, {.dtype = kFloat64});
    Tensor t = cat({full({1, 1, 3, 3}, 0.1, {.dtype = kFloat64}), full({1, 1, 3, 3}, 0.01, {.dtype = kFloat64})});
    auto per = metrics::psnr_per_image(p, t, 1.0);
    REQUIRE(per.size() == 2);
    REQUIRE(per[0] == Approx(20.0));
    REQUIRE(per[1] == Approx(40.0));
    REQUIRE(metrics::psnr(p, t, 1.0) == Approx(10 * std::log10(1 / 0.00505)));
}

TEST_CASE("rgb_to_y and shave_border", "[nn][metrics]") {
    // MATLAB rgb2ycbcr: black -> 16, white -> 235, pure red -> 16 + 65.481 (on 0..255; here divided by 255).
    Tensor rgb = t32({0, 1, 1, 0, 1, 0, 0, 1, 0}, {1, 3, 1, 3});  // pixels black, white, red
    REQUIRE_THAT(metrics::rgb_to_y(rgb), ClosesTo(t32({16 / 255.f, 235 / 255.f, 81.481f / 255.f}, {1, 1, 1, 3})));
    REQUIRE(metrics::rgb_to_y(rgb).dtype() == kFloat32);
    Tensor x = arange(0, 20, 1, {.dtype = kFloat64}).view({1, 4, 5});
    REQUIRE_THAT(metrics::shave_border(x, 1), ClosesTo(t64({6, 7, 8, 11, 12, 13}, {1, 2, 3})));
    REQUIRE(metrics::shave_border(x, 0).is_same(x));
}

TEST_CASE("ssim: identical images, constant images, a single bright pixel", "[nn][metrics]") {
    Tensor x = rand({2, 3, 16, 13}, {.dtype = kFloat64});
    REQUIRE(metrics::ssim(x, x) == Approx(1.0));
    REQUIRE(metrics::ssim(x, x, 1.0, metrics::SSIMPadding::Zeros) == Approx(1.0));
    // Constant images a and b: σ = 0, so SSIM = (2ab + C1) / (a² + b² + C1) at every position, C1 = (0.01 L)².
    const double a = 0.5, b = 0.25, c1 = 1e-4;
    Tensor ca = full({1, 1, 12, 14}, a, {.dtype = kFloat64}), cb = full({1, 1, 12, 14}, b, {.dtype = kFloat64});
    REQUIRE(metrics::ssim(ca, cb) == Approx((2 * a * b + c1) / (a * a + b * b + c1)));
    // The same on 0..255 with data_range 255 (C1 scales with L²).
    REQUIRE(metrics::ssim(ca * 255.0, cb * 255.0, 255.0) == Approx((2 * a * b + c1) / (a * a + b * b + c1)));
    // An 11x11 image, 'valid': one window. x is 0 but 1 at the centre, y = 2x. With w = g(5)² the centre weight:
    // μx = w, μy = 2w, σx² = w − w², σy² = 4σx², σxy = 2σx²; SSIM = (4w² + C1)(4σx² + C2) / ((5w² + C1)(5σx² + C2)).
    Tensor one = zeros({1, 1, 11, 11}, {.dtype = kFloat64});
    one.narrow(2, 5, 1).narrow(3, 5, 1).fill_(1.0);
    const double w = gauss_centre() * gauss_centre(), v = w - w * w, c2 = 9e-4;
    const double expected = (4 * w * w + c1) * (4 * v + c2) / ((5 * w * w + c1) * (5 * v + c2));
    REQUIRE(metrics::ssim(one, one * 2.0) == Approx(expected));
    // A 1x1 image with zero padding: the window sees the pixel with weight w and zeros elsewhere — the same stats.
    Tensor px = full({1, 1, 1, 1}, 1.0, {.dtype = kFloat64});
    REQUIRE(metrics::ssim(px, px * 2.0, 1.0, metrics::SSIMPadding::Zeros) == Approx(expected));
    // Float32 input gives the same value as float64 (computed in double).
    REQUIRE(metrics::ssim(one.to(kFloat32), (one * 2.0).to(kFloat32)) == Approx(expected));
}

TEST_CASE("psnr, ssim, rgb_to_y: PyTorch golden values", "[nn][metrics]") {
    auto g = load_fixture("metrics/image");  // sr, hr: [2, 3, 24, 20] in [0, 1]
    const Tensor &sr = g.at("sr"), &hr = g.at("hr");
    REQUIRE(metrics::psnr(sr, hr, 1.0) == Approx(g.at("psnr").item<double>()).epsilon(1e-12));
    REQUIRE_THAT(vec(metrics::psnr_per_image(sr, hr, 1.0)), ClosesTo(g.at("psnr_per_image"), 1e-10, 1e-12));
    REQUIRE(metrics::psnr(sr * 255.0, hr * 255.0, 255.0) == Approx(g.at("psnr_255").item<double>()).epsilon(1e-12));
    Tensor y_sr = metrics::rgb_to_y(sr), y_hr = metrics::rgb_to_y(hr);
    REQUIRE_THAT(y_sr, ClosesTo(g.at("y_sr"), 1e-12, 1e-12));
    REQUIRE(metrics::psnr(y_sr, y_hr, 1.0, 2) == Approx(g.at("psnr_y_shave2").item<double>()).epsilon(1e-12));
    REQUIRE(metrics::ssim(sr, hr) == Approx(g.at("ssim_valid").item<double>()).epsilon(1e-12));
    REQUIRE(metrics::ssim(sr, hr, 1.0, metrics::SSIMPadding::Zeros) ==
            Approx(g.at("ssim_zeros").item<double>()).epsilon(1e-12));
    REQUIRE_THAT(vec(metrics::ssim_per_image(sr, hr)), ClosesTo(g.at("ssim_valid_per_image"), 1e-12, 1e-12));
    REQUIRE(metrics::ssim(metrics::shave_border(y_sr * 255.0, 2), metrics::shave_border(y_hr * 255.0, 2), 255.0) ==
            Approx(g.at("ssim_y255_shave2").item<double>()).epsilon(1e-12));
    // float32 inputs: the same to float32 rounding of the inputs
    REQUIRE(metrics::ssim(sr.to(kFloat32), hr.to(kFloat32)) == Approx(g.at("ssim_valid").item<double>()).epsilon(1e-6));
}

TEST_CASE("psnr, ssim: errors name the metric and the shapes", "[nn][metrics]") {
    Tensor a = zeros({1, 3, 16, 16}), b = zeros({1, 3, 16, 15});
    REQUIRE(error_of<ShapeError>([&] { metrics::psnr(a, b, 1.0); }) ==
            "psnr: pred [1, 3, 16, 16] and target [1, 3, 16, 15] must have the same shape");
    REQUIRE(error_of<ValueError>([&] { metrics::psnr(a, a, 0.0); }) == "psnr: data_range must be > 0, got 0");
    REQUIRE(error_of<ShapeError>([&] { metrics::ssim(a, b); }) ==
            "ssim: pred [1, 3, 16, 16] and target [1, 3, 16, 15] must have the same shape");
    REQUIRE(error_of<ValueError>([&] { metrics::ssim(a, a, -1.0); }) == "ssim: data_range must be > 0, got -1");
    Tensor s = zeros({1, 1, 10, 12});
    REQUIRE(error_of<ShapeError>([&] { metrics::ssim(s, s); }) ==
            "ssim: images pred [1, 1, 10, 12] and target [1, 1, 10, 12] are smaller than the 11x11 window (use "
            "SSIMPadding::Zeros)");
    Tensor three = zeros({3, 16, 16});
    REQUIRE(error_of<ShapeError>([&] { metrics::ssim(three, three); }) ==
            "ssim: expected images [N, C, H, W], got pred [3, 16, 16] and target [3, 16, 16]");
    REQUIRE(error_of<ShapeError>([&] { metrics::psnr(a, a, 1.0, 8); }) ==
            "shave_border: cannot shave 8 px off each side of [1, 3, 16, 16]");
    REQUIRE(error_of<ShapeError>([&] {
                metrics::rgb_to_y(zeros({1, 4, 2, 2}));
            }) == "rgb_to_y: expected RGB images [N, 3, H, W], got [1, 4, 2, 2]");
}

// -------------------------------------------------------------------------------------------- salient object

TEST_CASE("mae and max F-measure: two 2x2 images by hand", "[nn][metrics]") {
    // Image 1: P = [1.0 0.6; 0.4 0.0], G = [1 1; 0 0]. 255P = 255, 153, 102, 0.
    //   MAE = (0 + 0.4 + 0.4 + 0) / 4 = 0.2.
    //   t = 0: M = all 4, Prec 2/4, Rec 1 | t 1..102: 3 px, Prec 2/3, Rec 1 | t 103..153: Prec 1, Rec 1
    //   t 154..255: only the 1.0 px, Prec 1, Rec 1/2.
    // Image 2: P = [0.8 0.2; 0.2 0.2], G = [0 1; 0 0]. 255P = 204, 51, 51, 51.
    //   MAE = (0.8 + 0.8 + 0.2 + 0.2) / 4 = 0.5.
    //   t 0..51: M = all 4, Prec 1/4, Rec 1 | t 52..204: the 0.8 px (background), Prec 0, Rec 0
    //   t 205..255: M empty, Prec 0/0 -> 0, Rec 0.
    // Means over the two images, F = 1.3 P R / (0.3 P + R):
    //   t = 0:       P = 3/8,  R = 1   -> F = 0.4875 / 1.1125
    //   t 1..51:     P = 11/24, R = 1  -> F = 1.3·11/24 / (0.3·11/24 + 1) = 14.3 / 27.3 = 11/21  <- max
    //   t 52..102:   P = 1/3, R = 1/2  -> F = 1.3/6 / 0.6
    //   t 103..153:  P = 1/2, R = 1/2  -> F = 0.5
    //   t 154..255:  P = 1/2, R = 1/4  -> F = 0.1625 / 0.4 = 0.40625
    // (The mean of per-image max F would be (1 + 1.3·0.25 / 1.075) / 2 = 0.651: a different number.)
    Tensor p1 = t64({1.0, 0.6, 0.4, 0.0}, {1, 1, 2, 2}), g1 = t64({1, 1, 0, 0}, {1, 1, 2, 2});
    Tensor p2 = t64({0.8, 0.2, 0.2, 0.2}, {1, 1, 2, 2}), g2 = t64({0, 1, 0, 0}, {1, 1, 2, 2});
    REQUIRE(metrics::mae(p1, g1) == Approx(0.2));
    REQUIRE(metrics::mae(p2, g2) == Approx(0.5));
    metrics::FMeasure f;
    f.update(p1, g1);
    f.update(p2, g2);
    REQUIRE(f.num_images() == 2);
    REQUIRE(f.max_f() == Approx(11.0 / 21.0));
    const auto prec = f.precision(), rec = f.recall(), fm = f.f_measure();
    const std::vector<std::array<double, 4>> rows = {// t, P, R, F
                                                     {0, 3.0 / 8, 1, 0.4875 / 1.1125},  {30, 11.0 / 24, 1, 11.0 / 21},
                                                     {80, 1.0 / 3, 0.5, 1.3 / 6 / 0.6}, {120, 0.5, 0.5, 0.5},
                                                     {180, 0.5, 0.25, 0.40625},         {230, 0.5, 0.25, 0.40625}};
    for (const auto& [t, P, R, F] : rows) {
        INFO("threshold " << t);
        REQUIRE(prec[int(t)] == Approx(P));
        REQUIRE(rec[int(t)] == Approx(R));
        REQUIRE(fm[int(t)] == Approx(F));
    }
    // The same two images as one batch [2, 1, 2, 2], through SaliencyMetrics; soft GT values binarise at > 0.5.
    metrics::SaliencyMetrics sod;
    sod.update(cat({p1, p2}), cat({g1 * 0.9 + 0.05, g2 * 0.9 + 0.05}));  // G in {0.05, 0.95}
    REQUIRE(sod.num_images() == 2);
    REQUIRE(sod.mae() == Approx(0.35));
    REQUIRE(sod.max_f() == Approx(11.0 / 21.0));
    sod.reset();
    REQUIRE(sod.num_images() == 0);
    REQUIRE(sod.max_f() == 0.0);
}

TEST_CASE("mae and max F-measure: golden values", "[nn][metrics]") {
    auto g = load_fixture("metrics/saliency");  // pred float32 [4, 1, 17, 13], gt with soft values and an empty image
    const Tensor &pred = g.at("pred"), &gt = g.at("gt");
    metrics::SaliencyMetrics sod;
    for (int64_t n = 0; n < pred.size(0); ++n) sod.update(pred.narrow(0, n, 1), gt.narrow(0, n, 1));
    REQUIRE(sod.mae() == Approx(g.at("mae").item<double>()).epsilon(1e-12));
    REQUIRE(sod.max_f() == Approx(g.at("max_f").item<double>()).epsilon(1e-12));
    REQUIRE_THAT(vec(sod.fmeasure().precision()), ClosesTo(g.at("precision"), 1e-12, 1e-12));
    REQUIRE_THAT(vec(sod.fmeasure().recall()), ClosesTo(g.at("recall"), 1e-12, 1e-12));
    REQUIRE_THAT(vec(sod.fmeasure().f_measure()), ClosesTo(g.at("f_measure"), 1e-12, 1e-12));
    for (int64_t n = 0; n < pred.size(0); ++n)
        REQUIRE(metrics::mae(pred.select(0, n), gt.select(0, n)) ==
                Approx(g.at("mae_per_image").select(0, n).item<double>()).epsilon(1e-12));
    metrics::FMeasure batch;  // one update with the whole batch gives the same curve
    batch.update(pred, gt);
    REQUIRE(batch.max_f() == Approx(g.at("max_f").item<double>()).epsilon(1e-12));
}

TEST_CASE("saliency metrics: errors", "[nn][metrics]") {
    REQUIRE(error_of<ShapeError>([] {
                metrics::mae(zeros({1, 1, 4, 4}), zeros({1, 1, 4, 5}));
            }) == "mae: pred [1, 1, 4, 4] and gt [1, 1, 4, 5] must have the same shape");
    metrics::FMeasure f;
    REQUIRE(error_of<ShapeError>([&] {
                f.update(zeros({4, 4}), zeros({4, 4}));
            }) ==
            "FMeasure::update: expected non-empty images [N, 1, H, W] (one per index of dim 0), got pred [4, 4] and "
            "gt [4, 4]");
    REQUIRE(error_of<ShapeError>([&] {
                f.update(zeros({1, 1, 4, 4}), zeros({1, 1, 5, 4}));
            }) == "FMeasure::update: pred [1, 1, 4, 4] and gt [1, 1, 5, 4] must have the same shape");
    REQUIRE(f.num_images() == 0);
}

// ------------------------------------------------------------------------------------------------- landmarks

TEST_CASE("nme: inter-ocular normalisation for 98 and 68 points", "[nn][metrics]") {
    // Image 0: every point at (0, 0) but point 72 at (4, 0): d = ||g60 − g72|| = 4. Every prediction is off by
    //   (0.3, 0.4), an error of 0.5: NME = 98·0.5 / (98·4) = 0.125.
    // Image 1: point 72 at (0, 2): d = 2; only point 10 is off, by (3, 4) = 5: NME = 5 / (98·2).
    std::vector<double> gt(2 * 98 * 2, 0.0), pred;
    gt[72 * 2] = 4;
    gt[98 * 2 + 72 * 2 + 1] = 2;
    pred = gt;
    for (int j = 0; j < 98; ++j) pred[2 * j] += 0.3, pred[2 * j + 1] += 0.4;
    pred[98 * 2 + 10 * 2] += 3, pred[98 * 2 + 10 * 2 + 1] += 4;
    auto nme = metrics::nme_inter_ocular(t64(pred, {2, 98, 2}), t64(gt, {2, 98, 2}));
    REQUIRE(nme.size() == 2);
    REQUIRE(nme[0] == Approx(0.125));
    REQUIRE(nme[1] == Approx(5.0 / 196.0));
    auto flat = metrics::nme_inter_ocular(t64(pred, {2, 196}), t64(gt, {2, 196}));  // PFLD's [N, 196] output
    REQUIRE(flat == nme);
    // 68 points: the outer eye corners are 36 and 45; d = ||(1, 1) − (4, 5)|| = 5, one point off by 1.
    std::vector<double> g68(68 * 2, 0.0);
    g68[36 * 2] = 1, g68[36 * 2 + 1] = 1, g68[45 * 2] = 4, g68[45 * 2 + 1] = 5;
    std::vector<double> p68 = g68;
    p68[0] += 1;
    REQUIRE(metrics::nme_inter_ocular(t64(p68, {1, 68, 2}), t64(g68, {1, 68, 2}))[0] == Approx(1.0 / (68 * 5)));
    // Any normalising pair through nme: points 0 and 36 are sqrt(2) apart.
    REQUIRE(metrics::nme(t64(p68, {1, 68, 2}), t64(g68, {1, 68, 2}), 0, 36)[0] == Approx(1.0 / (68 * std::sqrt(2))));
}

TEST_CASE("ced, ced_auc, failure_rate on crafted NMEs", "[nn][metrics]") {
    // NMEs 0.02005, 0.05005 (twice), 0.12 on the grid x_k = k·1e-4, k = 0..1000:
    //   CED = 0 up to x_200, 1/4 from x_201, 3/4 from x_501 (0.12 never counts): FR@0.1 = 1/4.
    // Simpson's weights are h/3·(1, 4, 2, 4, ..., 2, 4, 1). A step of height c starting at an odd node K:
    //   c·h/3·(4·#odd + 2·#even + 1) over K..1000. K = 201: 400 odd, 399 even -> 2399; K = 501: 250, 249 -> 1499.
    //   AUC = (0.25·2399 + 0.5·1499)·(1e-4/3) / 0.1 = 1349.25 / 3000 = 0.44975
    //   (the exact area of the step function would give 0.449625).
    const std::vector<double> nmes = {0.02005, 0.05005, 0.12, 0.05005};
    auto c = metrics::ced(nmes);
    REQUIRE(c.size() == 1001);
    REQUIRE(c[0] == 0.0);
    REQUIRE(c[200] == 0.0);
    REQUIRE(c[201] == 0.25);
    REQUIRE(c[500] == 0.25);
    REQUIRE(c[501] == 0.75);
    REQUIRE(c[1000] == 0.75);
    REQUIRE(metrics::ced_auc(nmes) == Approx(1349.25 / 3000));
    REQUIRE(metrics::failure_rate(nmes) == 0.25);
    REQUIRE(metrics::failure_rate(nmes, 0.05) == 0.75);
    // All NMEs 0: CED is 1 everywhere, AUC 1; all above the threshold: AUC 0, FR 1.
    REQUIRE(metrics::ced_auc({0.0, 0.0}) == Approx(1.0));
    REQUIRE(metrics::ced_auc({0.2}) == 0.0);
    REQUIRE(metrics::failure_rate({0.2}) == 1.0);
    // Another grid: threshold 0.08 with 5 points (h = 0.02): NME 0.03 -> CED 0, 0, 1, 1, 1;
    //   Simpson = 0.02/3·(0 + 4·0 + 1) + 0.02/3·(1 + 4·1 + 1) = 0.14/3 -> AUC = 0.14/3/0.08.
    REQUIRE(metrics::ced_auc({0.03}, 0.08, 5) == Approx(0.14 / 3 / 0.08));
}

TEST_CASE("nme, ced_auc, failure_rate: golden values of PFLD's test.py", "[nn][metrics]") {
    auto g = load_fixture("metrics/landmarks");
    auto nme98 = metrics::nme_inter_ocular(g.at("pred98"), g.at("gt98"));
    REQUIRE_THAT(vec(nme98), ClosesTo(g.at("nme98"), 1e-12, 1e-10));
    REQUIRE_THAT(vec(metrics::nme_inter_ocular(g.at("pred68"), g.at("gt68"))), ClosesTo(g.at("nme68"), 1e-12, 1e-10));
    REQUIRE_THAT(vec(metrics::ced(nme98)), ClosesTo(g.at("ced98"), 1e-12, 0));
    REQUIRE(metrics::ced_auc(nme98) == Approx(g.at("auc98").item<double>()).epsilon(1e-10));
    REQUIRE(metrics::failure_rate(nme98) == Approx(g.at("fr98").item<double>()).epsilon(1e-12));
}

TEST_CASE("landmark metrics: errors", "[nn][metrics]") {
    REQUIRE(error_of<ShapeError>([] {
                metrics::nme_inter_ocular(zeros({2, 98, 2}), zeros({2, 68, 2}));
            }) == "nme_inter_ocular: pred [2, 98, 2] and gt [2, 68, 2] must have the same shape");
    REQUIRE(error_of<ShapeError>([] {
                metrics::nme_inter_ocular(zeros({2, 98, 3}), zeros({2, 98, 3}));
            }) == "nme_inter_ocular: expected landmarks [N, L, 2] or [N, 2L], got pred [2, 98, 3] and gt [2, 98, 3]");
    REQUIRE(error_of<ValueError>([] {
                metrics::nme_inter_ocular(zeros({1, 50, 2}), zeros({1, 50, 2}));
            }) ==
            "nme_inter_ocular: no outer eye corners known for 50 landmarks (98, 68 or 29); call nme with the points "
            "of your layout");
    REQUIRE(error_of<ValueError>([] {
                metrics::nme_inter_ocular(zeros({1, 98, 2}), zeros({1, 98, 2}));
            }) == "nme: image 0 has zero distance between its normalising points 60 and 72");
    REQUIRE(error_of<ValueError>([] { metrics::ced_auc({0.1}, 0.1, 1000); }) ==
            "ced_auc: Simpson's rule needs an odd number of steps (>= 3), got 1000");
    REQUIRE(error_of<ValueError>([] { metrics::failure_rate({}); }) == "failure_rate: no NMEs given");
}

// ------------------------------------------------------------------------------------------------- detection

TEST_CASE("box_iou, xywh2xyxy, xyxy2xywh, iou_thresholds", "[nn][metrics]") {
    // [0,0,2,2] vs [1,1,3,3]: intersection 1, union 4 + 4 − 1 = 7.
    Tensor a = t32({0, 0, 2, 2}, {1, 4}), b = t32({1, 1, 3, 3, 0, 0, 2, 2, 5, 5, 6, 6}, {3, 4});
    REQUIRE_THAT(metrics::box_iou(a, b), ClosesTo(t32({1.f / 7, 1, 0}, {1, 3})));
    REQUIRE(metrics::box_iou(a, b).dtype() == kFloat32);
    Tensor xywh = t64({2, 3, 4, 6, 10, 10, 1, 2}, {2, 4});
    REQUIRE_THAT(metrics::xywh2xyxy(xywh), ClosesTo(t64({0, 0, 4, 6, 9.5, 9, 10.5, 11}, {2, 4})));
    REQUIRE_THAT(metrics::xyxy2xywh(metrics::xywh2xyxy(xywh)), ClosesTo(xywh));
    REQUIRE_THAT(vec(metrics::iou_thresholds()), ClosesTo(linspace(0.5, 0.95, 10, {.dtype = kFloat64}), 1e-15, 0));
}

namespace {
// One image: labels L0 class 0 [0,0,10,10] and L1 class 1 [20,20,30,30]; detections sorted by confidence:
//   D0 [0,0,10,8.2]   0.9 cls 0: IoU 0.82 with L0 -> correct at 0.50..0.80 (7 thresholds)
//   D1 [0,0,10,10]    0.8 cls 0: IoU 1 with L0, but L0 keeps D0, its lowest-index candidate (the quirk): wrong
//   D2 [20,20,30,30]  0.7 cls 0: on L1 but the wrong class: wrong
//   D3 [20,20,30,26.2] 0.6 cls 1: IoU 0.62 with L1 -> correct at 0.50, 0.55, 0.60
Tensor hand_labels() { return t64({0, 0, 0, 10, 10, 1, 20, 20, 30, 30}, {2, 5}); }
Tensor hand_detections() {
    return t64({0, 0, 10, 8.2, 0.9, 0, 0, 0, 10, 10, 0.8, 0, 20, 20, 30, 30, 0.7, 0, 20, 20, 30, 26.2, 0.6, 1}, {4, 6});
}
}  // namespace

TEST_CASE("match_predictions: ultralytics process_batch by hand", "[nn][metrics]") {
    Tensor correct = metrics::match_predictions(hand_detections(), hand_labels());
    REQUIRE(correct.dtype() == kBool);
    std::vector<double> expected(40, 0.0);
    for (int j = 0; j < 7; ++j) expected[j] = 1;       // D0
    for (int j = 0; j < 3; ++j) expected[30 + j] = 1;  // D3
    REQUIRE_THAT(correct.to(kFloat64), ClosesTo(t64(expected, {4, 10}), 0, 0));
    // Without labels nothing matches; without detections the matrix is empty.
    REQUIRE(metrics::match_predictions(hand_detections(), zeros({0, 5})).to(kFloat64).sum().item<double>() == 0);
    REQUIRE(metrics::match_predictions(zeros({0, 6}), hand_labels()).shape() == Shape{0, 10});
}

TEST_CASE("compute_ap by hand", "[nn][metrics]") {
    // recall (0.5, 1), precision (1, 0.5): with the sentinels mrec = 0, 0.5, 1, 1 and envelope 1, 1, 0.5, 0.
    // np.interp on x = 0, 0.01, ..., 1: 1 up to 0.5, then 1 − (x − 0.5)/1 down to 0.51 at x = 0.99, and 0 at x = 1
    // (the last of the repeated recall 1). Trapezoids: 0.5 + (0.49 − 0.49²/2) + 0.01·(0.51 + 0)/2 = 0.8725.
    REQUIRE(metrics::compute_ap({0.5, 1.0}, {1.0, 0.5}) == Approx(0.8725));
    // A perfect detector: 1 everywhere but x = 1, so the last trapezoid loses half its area: 0.995.
    REQUIRE(metrics::compute_ap({1.0}, {1.0}) == Approx(0.995));
    REQUIRE(metrics::compute_ap({0.0, 0.0}, {0.0, 0.0}) == 0.0);
    auto g = load_fixture("metrics/compute_ap");  // repeated recall values, golden from numpy
    std::vector<double> r(7), p(7);
    for (int i = 0; i < 7; ++i)
        r[i] = g.at("recall").select(0, i).item<double>(), p[i] = g.at("precision").select(0, i).item<double>();
    REQUIRE(metrics::compute_ap(r, p) == Approx(g.at("ap").item<double>()).epsilon(1e-12));
}

TEST_CASE("DetectionMetrics and ap_per_class: the hand case", "[nn][metrics]") {
    // Class 0 (1 label): D0 TP (at j < 7), D1 FP, D2 FP: recall 1, 1, 1, precision 1, 1/2, 1/3 -> AP 0.995 (a
    //   perfect curve, see compute_ap) for j < 7, 0 for j >= 7.
    // Class 1 (1 label): D3 TP for j < 3: AP 0.995, then 0.
    // mAP@0.5 = 0.995; mAP@0.5:0.95 = (0.995·0.7 + 0.995·0.3) / 2 = 0.4975; fitness = 0.0995 + 0.9·0.4975 = 0.54725.
    // P/R: at scores <= 0.6 class 0 has P 1/3, R 1 (F1 1/2) and class 1 P 1, R 1 (F1 1): mean F1 0.75, the best
    //   (above 0.6 class 1 has R 0): P = (1/3, 1), R = (1, 1), mp = 2/3, mr = 1.
    metrics::DetectionMetrics val;
    val.update(hand_detections(), hand_labels());
    const auto& res = val.results();
    REQUIRE(res.classes == std::vector<int64_t>{0, 1});
    REQUIRE(res.num_targets == std::vector<int64_t>{1, 1});
    for (int j = 0; j < 10; ++j) {
        INFO("threshold " << j);
        REQUIRE(res.ap[0][j] == Approx(j < 7 ? 0.995 : 0.0));
        REQUIRE(res.ap[1][j] == Approx(j < 3 ? 0.995 : 0.0));
    }
    REQUIRE(res.p[0] == Approx(1.0 / 3));
    REQUIRE(res.p[1] == Approx(1.0));
    REQUIRE(res.r == std::vector<double>{1.0, 1.0});
    REQUIRE(res.f1[0] == Approx(0.5));
    REQUIRE(val.map50() == Approx(0.995));
    REQUIRE(val.map() == Approx(0.4975));
    REQUIRE(val.mp() == Approx(2.0 / 3));
    REQUIRE(val.mr() == Approx(1.0));
    REQUIRE(val.fitness() == Approx(0.54725));
    // A second image with one more class-1 label and no detections: class 1 recall tops at 1/2, its AP@0.5 is the
    // area under 1 up to 0.5 then the line down to 0 at 1: 0.75 (exact on the 101-point grid).
    val.update(zeros({0, 6}), t64({1, 50, 50, 60, 60}, {1, 5}));
    REQUIRE(val.num_images() == 2);
    REQUIRE(val.results().num_targets == std::vector<int64_t>{1, 2});
    REQUIRE(val.results().ap[1][0] == Approx(0.75));
    // A class that is only predicted, never labelled, is not a class of the results; a label class without
    // detections counts as AP 0 in the mean.
    val.update(t64({0, 0, 5, 5, 0.3, 7}, {1, 6}), t64({2, 0, 0, 5, 5}, {1, 5}));
    REQUIRE(val.results().classes == std::vector<int64_t>{0, 1, 2});
    REQUIRE(val.results().ap[2][0] == 0.0);
    REQUIRE(val.map50() == Approx((0.995 + 0.75 + 0) / 3));
    // ap_per_class on the same rows as tensors gives the same as the accumulator for the first image alone.
    auto direct = metrics::ap_per_class(metrics::match_predictions(hand_detections(), hand_labels()),
                                        t64({0.9, 0.8, 0.7, 0.6}), t64({0, 0, 0, 1}), t64({0, 1}));
    REQUIRE(direct.map() == Approx(0.4975));
    REQUIRE(direct.mp() == Approx(2.0 / 3));
    // No true positive anywhere: every metric is 0 (val.py's stats[0].any() check), and reset empties everything.
    metrics::DetectionMetrics none;
    none.update(t64({100, 100, 110, 110, 0.9, 0}, {1, 6}), hand_labels());
    REQUIRE(none.results().classes == std::vector<int64_t>{0, 1});
    REQUIRE(none.map50() == 0.0);
    REQUIRE(none.mp() == 0.0);
    REQUIRE(none.fitness() == 0.0);
    val.reset();
    REQUIRE(val.num_images() == 0);
    REQUIRE(val.results().classes.empty());
    REQUIRE(val.map() == 0.0);
}

TEST_CASE("DetectionMetrics, match_predictions, ap_per_class: golden values of ultralytics' algorithm",
          "[nn][metrics]") {
    auto g = load_fixture("metrics/detection");  // 10 images, 4 classes (class 3 only predicted), edge-case images
    const Tensor &dets = g.at("detections"), &labels = g.at("labels");  // [n, 7] and [m, 6], column 0 = image
    const int64_t images = g.at("num_images").item<int64_t>();
    metrics::DetectionMetrics val;
    std::vector<Tensor> corrects;
    for (int64_t img = 0; img < images; ++img) {
        auto rows = [&](const Tensor& t) {
            std::vector<int64_t> idx;
            for (int64_t i = 0; i < t.size(0); ++i)
                if (t.select(0, i).select(0, 0).item<int64_t>() == img) idx.push_back(i);
            return index_select(t, 0, from_vector(idx, {static_cast<int64_t>(idx.size())})).narrow(1, 1, t.size(1) - 1);
        };
        Tensor d = rows(dets), l = rows(labels);
        corrects.push_back(metrics::match_predictions(d, l));
        val.update(d, l);
    }
    REQUIRE_THAT(cat(corrects).to(kFloat64), ClosesTo(g.at("correct").to(kFloat64), 0, 0));
    const auto& res = val.results();
    REQUIRE(res.classes == std::vector<int64_t>{0, 1, 2});
    REQUIRE_THAT(vec(res.p), ClosesTo(g.at("p"), 1e-12, 1e-12));
    REQUIRE_THAT(vec(res.r), ClosesTo(g.at("r"), 1e-12, 1e-12));
    REQUIRE_THAT(vec(res.f1), ClosesTo(g.at("f1"), 1e-12, 1e-12));
    std::vector<double> ap;
    for (const auto& row : res.ap) ap.insert(ap.end(), row.begin(), row.end());
    REQUIRE_THAT(t64(ap, {3, 10}), ClosesTo(g.at("ap"), 1e-12, 1e-12));
    REQUIRE(val.mp() == Approx(g.at("mp").item<double>()).epsilon(1e-12));
    REQUIRE(val.mr() == Approx(g.at("mr").item<double>()).epsilon(1e-12));
    REQUIRE(val.map50() == Approx(g.at("map50").item<double>()).epsilon(1e-12));
    REQUIRE(val.map() == Approx(g.at("map").item<double>()).epsilon(1e-12));
    REQUIRE(val.fitness() == Approx(g.at("fitness").item<double>()).epsilon(1e-12));
    // ap_per_class from val.py's concatenated stats gives the same.
    auto direct = metrics::ap_per_class(g.at("tp"), g.at("conf"), g.at("pred_cls"), g.at("target_cls"));
    REQUIRE(direct.map() == Approx(g.at("map").item<double>()).epsilon(1e-12));
    REQUIRE(direct.mr() == Approx(g.at("mr").item<double>()).epsilon(1e-12));
}

TEST_CASE("detection metrics: errors", "[nn][metrics]") {
    REQUIRE(error_of<ShapeError>([] {
                metrics::box_iou(zeros({2, 4}), zeros({3, 5}));
            }) == "box_iou: expected boxes [N, 4] and [M, 4], got [2, 4] and [3, 5]");
    REQUIRE(error_of<ShapeError>([] {
                metrics::xywh2xyxy(zeros({2, 5}));
            }) == "xywh2xyxy: expected boxes [..., 4], got [2, 5]");
    REQUIRE(error_of<ShapeError>([] {
                metrics::match_predictions(zeros({2, 5}), zeros({1, 5}));
            }) ==
            "match_predictions: expected detections [n, 6] (x1, y1, x2, y2, conf, cls) and labels [m, 5] (cls, x1, "
            "y1, x2, y2), got [2, 5] and [1, 5]");
    metrics::DetectionMetrics val;
    REQUIRE(error_of<ShapeError>([&] {
                val.update(zeros({2, 6}), zeros({1, 4}));
            }) ==
            "DetectionMetrics::update: expected detections [n, 6] (x1, y1, x2, y2, conf, cls) and labels [m, 5] (cls, "
            "x1, y1, x2, y2), got [2, 6] and [1, 4]");
    REQUIRE(error_of<ShapeError>([] {
                metrics::ap_per_class(zeros({3, 10}), zeros({2}), zeros({3}), zeros({1}));
            }) ==
            "ap_per_class: expected tp [n, k], conf [n], pred_cls [n], target_cls [m], got tp [3, 10], conf [2], "
            "pred_cls [3], target_cls [1]");
    REQUIRE(error_of<ValueError>([] {
                metrics::ap_per_class(zeros({1, 10}), zeros({1}), t64({0.5}), zeros({1}));
            }) == "ap_per_class: class ids must be integers, got 0.5");
    REQUIRE(error_of<ShapeError>([] { metrics::compute_ap({0.5}, {}); }) ==
            "compute_ap: recall has 1 points but precision 0");
}
