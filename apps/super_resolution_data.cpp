// apps/super_resolution_data.cpp — loading photos for SR, the HR/LR crops, the degradations and tiled upscaling.
#include "apps/super_resolution_data.h"

#include <fmt/format.h>

#include <algorithm>

#include "apps/models.h"
#include "autograd/grad_mode.h"
#include "nn/data/folder.h"
#include "nn/data/image.h"
#include "nn/data/transforms.h"
#include "ops/factory.h"
#include "ops/ops.h"

namespace nabla::apps {

Degradation parse_degradation(const std::string& name) {
    if (name == "maxpool") return Degradation::MaxPool;
    if (name == "bicubic") return Degradation::Bicubic;
    throw ValueError(fmt::format("--degradation: expected maxpool or bicubic, got '{}'", name));
}

Tensor to_unit(const Tensor& x) { return clamp((x + 1.0) / 2.0, 0.0, 1.0); }

Tensor degrade(const Tensor& hr, Degradation degradation) {  // hr: [3, H, W] in [-1, 1]
    if (hr.size(-1) % 2 || hr.size(-2) % 2)
        throw ShapeError(fmt::format("degrade: the HR image {} needs even sides for x2", shape_str(hr.shape())));
    if (degradation == Degradation::MaxPool) return max_pool2d(hr.unsqueeze(0), {.kernel_size = 2}).squeeze(0);
    const Int2 half{hr.size(-2) / 2, hr.size(-1) / 2};
    return clamp(data::resize(hr, half, data::Interpolation::Bicubic, /*antialias=*/true), -1.0, 1.0);
}

std::vector<Tensor> load_sr_images(const std::string& dir, int64_t min_side, std::vector<std::string>* names,
                                   bool strict) {
    std::vector<Tensor> images;
    int64_t corrupt = 0, small = 0;
    for (const auto& path : data::list_images(dir, /*recursive=*/true)) {
        try {
            Tensor image = data::read_image(path, data::ImageMode::RGB);
            if (std::min(image.size(1), image.size(2)) < min_side) {
                fmt::print(stderr, "skipping {}: {}x{} is smaller than {} pixels\n", path, image.size(2), image.size(1),
                           min_side);
                ++small;
                continue;
            }
            images.push_back(image);
            if (names) names->push_back(path);
        } catch (const Error& e) {
            if (strict) throw Error(fmt::format("{} (--strict-data)", e.what()));
            fmt::print(stderr, "WARNING: skipping an unreadable image: {}\n", e.what());
            ++corrupt;
        }
    }
    fmt::print("{}: {} images loaded, {} corrupt, {} smaller than {} pixels\n", dir, images.size(), corrupt, small,
               min_side);
    if (images.empty()) throw Error(fmt::format("super-resolution data: no usable image under {}", dir));
    return images;
}

SRDataset::SRDataset(std::vector<Tensor> images, int64_t hr_crop, Degradation degradation, bool train,
                     int64_t crops_per_image)
    : images_(std::move(images)),
      crop_(hr_crop),
      degradation_(degradation),
      train_(train),
      crops_per_image_(crops_per_image) {
    if (crop_ < 2 || crop_ % 2 || crops_per_image_ < 1)
        throw ValueError(
            fmt::format("SRDataset: the HR crop must be even and >= 2 and crops per image >= 1, got {} and {}", crop_,
                        crops_per_image_));
}

data::Example SRDataset::get(int64_t index, Generator& gen) const {
    const Tensor& image =
        images_[static_cast<size_t>(index % static_cast<int64_t>(images_.size()))];  // uint8 [3, H, W]
    const int64_t h = image.size(1), w = image.size(2);
    const data::CropBox box =
        train_ ? data::random_crop_box(h, w, {crop_, crop_}, gen) : data::center_crop_box(h, w, {crop_, crop_});
    Tensor hr = data::to_tensor(data::crop(image, box)) * 2.0 - 1.0;  // [3, c, c] in [-1, 1]
    if (train_ && gen.uniform() < 0.5) hr = data::hflip(hr);
    hr = hr.contiguous();
    return {degrade(hr, degradation_).contiguous(), hr};
}

Tensor upscale_tiled(nn::Module& model, const Tensor& lr, const Tiling& tiling) {
    const auto [tile, overlap, batch] = tiling;
    NB_CHECK_VALUE(tile > overlap && overlap >= 0 && batch >= 1,
                   "upscale_tiled: needs tile > overlap >= 0 and batch >= 1, got tile ", tile, ", overlap ", overlap,
                   ", batch ", batch);
    if (lr.dim() != 3)
        throw ShapeError(fmt::format("upscale_tiled: expected an LR image [C, h, w], got {}", shape_str(lr.shape())));
    autograd::NoGradGuard no_grad;
    const Device device = device_of(model);
    const int64_t h = lr.size(1), w = lr.size(2);
    const int64_t th = std::min(tile, h), tw = std::min(tile, w);  // every tile has this size
    auto starts = [&](int64_t size, int64_t t) {  // tile origins covering [0, size), the last one flush with the end
        std::vector<int64_t> s;
        for (int64_t p = 0;; p += tile - overlap) {
            s.push_back(std::min(p, size - t));
            if (p + t >= size) break;
        }
        return s;
    };
    // Where tiles overlap, each output pixel is a weighted mean that fades every tile out towards its edges, over the
    // width of the overlap, so that no seam shows. Weights stay positive: a pixel that one tile covers keeps its value.
    auto ramp = [&](int64_t n) {
        std::vector<float> r(static_cast<size_t>(n));
        const int64_t fade = std::max<int64_t>(2 * overlap, 1);
        for (int64_t i = 0; i < n; ++i)
            r[static_cast<size_t>(i)] = static_cast<float>(std::min({i + 1, n - i, fade})) / static_cast<float>(fade);
        return from_vector(r);
    };
    const Tensor weight = ramp(2 * th).unsqueeze(1) * ramp(2 * tw).unsqueeze(0);  // [2th, 2tw]
    std::vector<std::pair<int64_t, int64_t>> origins;
    for (const int64_t y : starts(h, th))
        for (const int64_t x : starts(w, tw)) origins.emplace_back(y, x);
    Tensor sum = zeros({3, 2 * h, 2 * w}), total = zeros({2 * h, 2 * w});
    for (size_t first = 0; first < origins.size(); first += static_cast<size_t>(batch)) {
        const size_t n = std::min(origins.size() - first, static_cast<size_t>(batch));
        std::vector<Tensor> tiles;
        for (size_t i = 0; i < n; ++i)
            tiles.push_back(lr.narrow(1, origins[first + i].first, th).narrow(2, origins[first + i].second, tw));
        const Tensor out = model(stack(tiles).to(device)).to(kCPU) * weight;  // [n, 3, 2th, 2tw], weighted
        for (size_t i = 0; i < n; ++i) {
            const auto [y, x] = origins[first + i];
            sum.narrow(1, 2 * y, 2 * th).narrow(2, 2 * x, 2 * tw).add_(out.select(0, static_cast<int64_t>(i)));
            total.narrow(0, 2 * y, 2 * th).narrow(1, 2 * x, 2 * tw).add_(weight);
        }
    }
    return sum / total;
}

}  // namespace nabla::apps
