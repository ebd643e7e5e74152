// apps/segmentation_data.cpp — SegmentationDataset, the pair finder, U²-Net's normalisation, and the ellipse-pair
// generator.
#include "apps/segmentation_data.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nn/data/image.h"
#include "nn/data/transforms.h"
#include "ops/factory.h"
#include "ops/ops.h"

namespace nabla::apps {
namespace fs = std::filesystem;

namespace {

const std::vector<double> kImageNetMean{0.485, 0.456, 0.406};
const std::vector<double> kImageNetStd{0.229, 0.224, 0.225};

}  // namespace

Tensor normalize_for_segmentation(const Tensor& image01) {
    const double peak = max(image01).item<double>();
    const Tensor scaled = peak > 1e-6 ? image01 / peak : image01;
    return data::normalize(scaled, kImageNetMean, kImageNetStd);
}

Tensor mask_to_unit(const Tensor& mask_u8) {
    Tensor m = mask_u8.to(kFloat32);
    const double peak = max(m).item<double>();
    return peak > 1e-6 ? m / peak : m;
}

Tensor denormalize_for_display(const Tensor& image) {
    Tensor mean = from_vector(std::vector<double>(kImageNetMean), {3, 1, 1}).to(kFloat32);
    Tensor std = from_vector(std::vector<double>(kImageNetStd), {3, 1, 1}).to(kFloat32);
    return clamp(image * std + mean, 0.0, 1.0);
}

SegmentationDataset::SegmentationDataset(std::vector<data::ImagePair> pairs, SegmentationTransform transform)
    : pairs_(std::move(pairs)), transform_(transform) {
    if (transform_.size < 1 || transform_.crop < 0 || transform_.crop > transform_.size)
        throw ValueError(fmt::format("SegmentationDataset: need size >= 1 and 0 <= crop <= size, got size {} crop {}",
                                     transform_.size, transform_.crop));
}

data::Example SegmentationDataset::get(int64_t index, Generator& gen) const {
    const auto& pair = pairs_.at(static_cast<size_t>(index));
    Tensor image = data::to_tensor(data::read_image(pair.image, data::ImageMode::RGB));  // [3, H, W] in [0, 1]
    Tensor mask = data::read_image(pair.mask, data::ImageMode::Gray);                    // uint8 [1, H, W]
    if (image.size(1) != mask.size(1) || image.size(2) != mask.size(2))
        throw ShapeError(fmt::format("SegmentationDataset: image {} is {}x{} but its mask {} is {}x{}", pair.image,
                                     image.size(2), image.size(1), pair.mask, mask.size(2), mask.size(1)));
    const Int2 size{transform_.size, transform_.size};
    image = data::resize(image, size, data::Interpolation::Bilinear);
    mask = mask_to_unit(data::resize(mask, size, data::Interpolation::Nearest));
    if (transform_.train) {
        if (transform_.crop > 0 && transform_.crop < transform_.size) {
            const auto box =
                data::random_crop_box(transform_.size, transform_.size, {transform_.crop, transform_.crop}, gen);
            image = data::crop(image, box);
            mask = data::crop(mask, box);
        }
        if (gen.uniform() < 0.5) {
            image = data::hflip(image);
            mask = data::hflip(mask);
        }
    }
    return {normalize_for_segmentation(image).contiguous(), mask.contiguous()};
}

namespace {

// A list file: one pair per line, "image mask" (whitespace-separated; relative paths from the list's folder),
// blank lines and lines starting with '#' skipped. Every missing file is reported at once.
std::vector<data::ImagePair> read_pair_list(const std::string& list) {
    std::ifstream f(list);
    if (!f) throw Error(fmt::format("segmentation data: cannot read the list file {}", list));
    const fs::path base = fs::path(list).parent_path();
    std::vector<data::ImagePair> pairs;
    std::vector<std::string> problems;
    std::string line;
    for (int64_t number = 1; std::getline(f, line); ++number) {
        std::istringstream words(line);
        std::string image, mask, extra;
        if (!(words >> image) || image.starts_with("#")) continue;
        if (!(words >> mask) || (words >> extra)) {
            problems.push_back(fmt::format("line {}: expected 'image mask', got '{}'", number, line));
            continue;
        }
        data::ImagePair pair{(base / image).string(), (base / mask).string()};
        for (const auto* path : {&pair.image, &pair.mask})
            if (!fs::is_regular_file(*path)) problems.push_back(fmt::format("line {}: no file {}", number, *path));
        pairs.push_back(std::move(pair));
    }
    if (!problems.empty()) {
        const size_t shown = std::min<size_t>(problems.size(), 10);
        throw Error(fmt::format("segmentation data: {} has {} problem(s): {}{}", list, problems.size(),
                                fmt::join(problems.begin(), problems.begin() + static_cast<ptrdiff_t>(shown), "; "),
                                problems.size() > shown ? "; ..." : ""));
    }
    if (pairs.empty()) throw Error(fmt::format("segmentation data: {} lists no pairs", list));
    return pairs;
}

}  // namespace

std::vector<data::ImagePair> find_segmentation_pairs(const std::string& dir) {
    if (fs::is_regular_file(dir)) return read_pair_list(dir);
    if (!fs::is_directory(dir))
        throw Error(fmt::format("segmentation data: {} is neither a folder nor a list file", dir));
    if (fs::is_directory(fs::path(dir) / "images") && fs::is_directory(fs::path(dir) / "masks"))
        return data::pair_by_stem((fs::path(dir) / "images").string(), (fs::path(dir) / "masks").string());
    std::string image_dir, mask_dir;  // DUTS: DUTS-TR-Image + DUTS-TR-Mask
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_directory()) continue;
        if (name.ends_with("-Image")) image_dir = entry.path().string();
        if (name.ends_with("-Mask")) mask_dir = entry.path().string();
    }
    if (image_dir.empty() || mask_dir.empty())
        throw Error(
            fmt::format("segmentation data: {} has neither images/ + masks/ nor DUTS' *-Image/ + *-Mask/ "
                        "folders",
                        dir));
    return data::pair_by_stem(image_dir, mask_dir);
}

void generate_ellipse_pairs(const std::string& dir, int64_t count, int64_t size, uint64_t seed) {
    fs::create_directories(fs::path(dir) / "images");
    fs::create_directories(fs::path(dir) / "masks");
    Generator g(seed);
    const auto s = static_cast<size_t>(size);
    for (int64_t n = 0; n < count; ++n) {
        std::vector<float> image(3 * s * s), mask(s * s, 0.0f);
        // Background: a colour gradient with noise and faint stripes, so the net cannot use the colour alone.
        double bg[3], fg[3];
        for (int c = 0; c < 3; ++c) bg[c] = 0.15 + 0.5 * g.uniform();
        const double stripe = 2 + 6 * g.uniform();
        for (int64_t k = 0, shapes = 1 + g.randint(0, 3); k < shapes; ++k) {
            for (int c = 0; c < 3; ++c) fg[c] = std::fmod(bg[c] + 0.3 + 0.4 * g.uniform(), 1.0);
            const double cy = (0.2 + 0.6 * g.uniform()) * size, cx = (0.2 + 0.6 * g.uniform()) * size;
            const double ry = (0.08 + 0.2 * g.uniform()) * size, rx = (0.08 + 0.2 * g.uniform()) * size;
            const double angle = 3.14159265358979 * g.uniform(), ca = std::cos(angle), sa = std::sin(angle);
            for (size_t y = 0; y < s; ++y)
                for (size_t x = 0; x < s; ++x) {
                    const double dy = static_cast<double>(y) - cy, dx = static_cast<double>(x) - cx;
                    const double u = (dx * ca + dy * sa) / rx, v = (-dx * sa + dy * ca) / ry;
                    if (u * u + v * v > 1) continue;
                    mask[y * s + x] = 1.0f;
                    for (size_t c = 0; c < 3; ++c) image[(c * s + y) * s + x] = static_cast<float>(fg[c]);
                }
        }
        for (size_t y = 0; y < s; ++y)
            for (size_t x = 0; x < s; ++x)
                for (size_t c = 0; c < 3; ++c) {
                    float& p = image[(c * s + y) * s + x];
                    if (mask[y * s + x] == 0.0f)
                        p = static_cast<float>(bg[c] * (0.7 + 0.3 * static_cast<double>(x + y) / (2.0 * size)) +
                                               0.05 * std::sin(static_cast<double>(x) / stripe));
                    p = std::clamp(static_cast<float>(p + 0.06 * g.normal()), 0.0f, 1.0f);
                }
        const std::string stem = fmt::format("{:05}", n);
        data::write_png((fs::path(dir) / "images" / (stem + ".png")).string(),
                        data::to_uint8(from_vector(image, {3, size, size})));
        data::write_png((fs::path(dir) / "masks" / (stem + ".png")).string(),
                        data::to_uint8(from_vector(mask, {1, size, size})));
    }
}

}  // namespace nabla::apps
