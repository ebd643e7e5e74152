// apps/synth_image.cpp — the generators' shared helpers; the blur is a horizontal pass, then a vertical one, each
// through a scratch copy.
#include "apps/synth_image.h"

#include <algorithm>
#include <cmath>

#include "nn/data/transforms.h"

namespace nabla::apps {

double uniform(Generator& g, double low, double high) { return low + (high - low) * g.uniform(); }

std::vector<float> random_view(const Tensor& photo, int64_t size, Generator& g, double low, double high) {
    const int64_t h = photo.size(1), w = photo.size(2), short_side = std::min(h, w);
    const int64_t side = std::max<int64_t>(8, static_cast<int64_t>(short_side * uniform(g, low, high)));
    const int64_t top = g.randint(0, h - side + 1), left = g.randint(0, w - side + 1);
    Tensor view = data::resize(data::crop(photo, {top, left, side, side}), {size, size});
    if (g.uniform() < 0.5) view = data::hflip(view);
    view = view.contiguous();
    return {view.data_ptr<float>(), view.data_ptr<float>() + view.numel()};
}

void gaussian_blur_planes(std::vector<float>& v, int64_t planes, int64_t size, double sigma) {
    if (sigma <= 0) return;
    const int r = static_cast<int>(std::ceil(3 * sigma));
    std::vector<double> k(static_cast<size_t>(2 * r + 1));
    double total = 0;
    for (int i = -r; i <= r; ++i) total += k[i + r] = std::exp(-0.5 * i * i / (sigma * sigma));
    for (double& x : k) x /= total;
    const int64_t s = size;
    auto at = [&](int64_t c, int64_t y, int64_t x) { return v[static_cast<size_t>((c * s + y) * s + x)]; };
    std::vector<float> tmp(v.size());
    for (int pass = 0; pass < 2; ++pass) {  // 0: along rows, 1: along columns
        for (int64_t c = 0; c < planes; ++c)
            for (int64_t y = 0; y < s; ++y)
                for (int64_t x = 0; x < s; ++x) {
                    double acc = 0;
                    for (int i = -r; i <= r; ++i) {
                        const int64_t xi = std::clamp<int64_t>((pass == 0 ? x : y) + i, 0, s - 1);
                        acc += k[i + r] * (pass == 0 ? at(c, y, xi) : at(c, xi, x));
                    }
                    tmp[static_cast<size_t>((c * s + y) * s + x)] = static_cast<float>(acc);
                }
        v.swap(tmp);
    }
}

}  // namespace nabla::apps
