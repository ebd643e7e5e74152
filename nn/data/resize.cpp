// nn/data/resize.cpp — resize (torchvision.transforms.functional.resize): ops/interpolate without antialias, and
// here the antialiased filter of torch.nn.functional.interpolate(antialias=True) (PIL's resampling):
//   scale = in / out; support = r * max(scale, 1) with r = 1 (bilinear: triangle filter) or 2 (bicubic, a = -0.5)
//   out[i] = sum_j w_ij in[j] over j in [trunc(c - support + 0.5), trunc(c + support + 0.5)) clipped to the input,
//   c = scale (i + 0.5), w_ij = filter((j - c + 0.5) / max(scale, 1)) normalised to sum 1;
// applied separably, rows first, then columns.
#include <algorithm>
#include <cmath>

#include "nn/data/functional.h"
#include "ops/factory.h"
#include "ops/interpolate.h"

namespace nabla::data {
namespace {

double aa_filter(double x, Interpolation mode) {
    x = std::abs(x);
    if (mode == Interpolation::Bilinear) return x < 1 ? 1 - x : 0;
    constexpr double a = -0.5;
    if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
    return 0;
}

// Per output index: the first input index, the number of taps and their weights (max_taps per index).
struct Taps {
    std::vector<int64_t> first, count;
    std::vector<double> weights;
    int64_t max_taps = 0;
};

Taps aa_taps(int64_t in, int64_t out, Interpolation mode) {
    const double scale = static_cast<double>(in) / static_cast<double>(out);
    const double radius = mode == Interpolation::Bilinear ? 1.0 : 2.0;
    const double support = scale >= 1.0 ? radius * scale : radius;
    const double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
    Taps t;
    t.max_taps = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
    t.first.resize(out);
    t.count.resize(out);
    t.weights.assign(static_cast<size_t>(out * t.max_taps), 0.0);
    for (int64_t i = 0; i < out; ++i) {
        const double center = scale * (static_cast<double>(i) + 0.5);
        const int64_t lo = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
        const int64_t n =
            std::min<int64_t>(std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in) - lo, t.max_taps);
        double* w = &t.weights[static_cast<size_t>(i * t.max_taps)];
        double total = 0;
        for (int64_t j = 0; j < n; ++j)
            total += w[j] = aa_filter((static_cast<double>(j + lo) - center + 0.5) * invscale, mode);
        if (total != 0)
            for (int64_t j = 0; j < n; ++j) w[j] /= total;
        t.first[i] = lo;
        t.count[i] = std::max<int64_t>(n, 0);
    }
    return t;
}

// x: [P, H, W] contiguous -> [P, oh, ow]
template <class T>
void aa_resize_planes(const T* x, T* y, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow,
                      Interpolation mode) {
    const Taps tx = aa_taps(w, ow, mode), ty = aa_taps(h, oh, mode);
    std::vector<double> rows(static_cast<size_t>(h * ow));  // one plane after the horizontal pass
    for (int64_t p = 0; p < planes; ++p) {
        const T* xp = x + p * h * w;
        for (int64_t r = 0; r < h; ++r)
            for (int64_t i = 0; i < ow; ++i) {
                const double* wt = &tx.weights[static_cast<size_t>(i * tx.max_taps)];
                const T* src = xp + r * w + tx.first[i];
                double s = 0;
                for (int64_t j = 0; j < tx.count[i]; ++j) s += wt[j] * static_cast<double>(src[j]);
                rows[static_cast<size_t>(r * ow + i)] = s;
            }
        T* yp = y + p * oh * ow;
        for (int64_t i = 0; i < oh; ++i) {
            const double* wt = &ty.weights[static_cast<size_t>(i * ty.max_taps)];
            for (int64_t c = 0; c < ow; ++c) {
                double s = 0;
                for (int64_t j = 0; j < ty.count[i]; ++j)
                    s += wt[j] * rows[static_cast<size_t>((ty.first[i] + j) * ow + c)];
                yp[i * ow + c] = static_cast<T>(s);
            }
        }
    }
}

InterpolateMode interpolate_mode(Interpolation mode) {
    switch (mode) {
        case Interpolation::Nearest: return InterpolateMode::Nearest;
        case Interpolation::Bilinear: return InterpolateMode::Bilinear;
        case Interpolation::Bicubic: return InterpolateMode::Bicubic;
    }
    return InterpolateMode::Nearest;
}

}  // namespace

Tensor resize(const Tensor& image, Int2 size, Interpolation mode, bool antialias) {
    NB_CHECK(image.defined() && image.dim() >= 2, "resize: expected an image [..., H, W], got ",
             image.defined() ? shape_str(image.shape()) : "undefined");
    NB_CHECK_VALUE(size.h > 0 && size.w > 0, "resize: size must be positive, got ", size, " for image ", image.shape());
    const int64_t d = image.dim() - 2, h = image.size(d), w = image.size(d + 1);
    NB_CHECK(h > 0 && w > 0, "resize: the image is empty: ", image.shape());
    if (!is_floating(image.dtype())) {
        NB_CHECK_VALUE(mode == Interpolation::Nearest, "resize: ", dtype_name(image.dtype()), " image ", image.shape(),
                       " (a mask?) can only be resized with Nearest");
        return resize(image.to(kFloat32), size, mode, false).to(image.dtype());
    }
    if (size.h == h && size.w == w) return image.detach();
    Shape out_shape = image.shape();
    out_shape[d] = size.h;
    out_shape[d + 1] = size.w;
    const int64_t planes = image.numel() / (h * w);
    Tensor x = image.detach().contiguous();
    if (!antialias || mode == Interpolation::Nearest) {
        InterpolateOptions options;
        options.size = size;
        options.mode = interpolate_mode(mode);
        Tensor y = interpolate(x.reshape({planes, 1, h, w}), options);
        return y.reshape(out_shape);
    }
    Tensor y = empty(out_shape, {.dtype = image.dtype()});
    x = x.to(kCPU).contiguous();
    dispatch_floating(image.dtype(), "resize", [&]<class T>() {
        aa_resize_planes<T>(x.data_ptr<T>(), y.data_ptr<T>(), planes, h, w, size.h, size.w, mode);
    });
    return y;
}

}  // namespace nabla::data
