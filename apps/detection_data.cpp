// apps/detection_data.cpp — image and label-file discovery, the label checks, DetectionDataset (LoadImagesAndLabels:
// mosaic or letterbox, then the augmentations), the rect batch shapes, the collate and the pictures of labelled
// batches (see detection_data.h; docs/yolo_data.md). The data.yaml is read in detection_yaml.cpp.
#include "apps/detection_data.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "nn/data/draw.h"
#include "nn/data/folder.h"
#include "nn/data/image.h"
#include "nn/data/transforms.h"
#include "ops/factory.h"
#include "ops/indexing.h"

namespace nabla::apps {
namespace fs = std::filesystem;

// ----------------------------------------------------------------------------------------------------------------
// images and label files
// ----------------------------------------------------------------------------------------------------------------
namespace {

bool is_image_name(const std::string& name) {
    std::string ext = fs::path(name).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext == ".bmp" || ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

}  // namespace

std::vector<std::string> image_files(const std::vector<std::string>& sources) {
    std::vector<std::string> files;
    for (const std::string& source : sources) {
        if (fs::is_directory(source)) {
            for (std::string& f : data::list_images(source, /*recursive=*/true)) files.push_back(std::move(f));
        } else if (fs::is_regular_file(source)) {
            std::ifstream list(source);
            const fs::path parent = fs::path(source).parent_path();
            for (std::string l; std::getline(list, l);) {
                while (!l.empty() && std::isspace(static_cast<unsigned char>(l.back()))) l.pop_back();
                const size_t a = l.find_first_not_of(" \t");
                if (a == std::string::npos) continue;
                const fs::path p(l.substr(a));
                if (is_image_name(p.string()))
                    files.push_back((p.is_absolute() ? p : parent / p).lexically_normal().string());
            }
        } else {
            throw Error(fmt::format("detection data: {} does not exist", source));
        }
    }
    std::sort(files.begin(), files.end());
    files.erase(std::unique(files.begin(), files.end()), files.end());
    if (files.empty()) throw Error(fmt::format("detection data: no images found in {}", fmt::join(sources, ", ")));
    return files;
}

std::string img2label_path(const std::string& image) {
    std::string p = fs::absolute(fs::path(image)).lexically_normal().string();
    if (const size_t k = p.rfind("/images/"); k != std::string::npos) p.replace(k, 8, "/labels/");
    return fs::path(p).replace_extension(".txt").string();
}

// ----------------------------------------------------------------------------------------------------------------
// label checks
// ----------------------------------------------------------------------------------------------------------------
BoxLabels read_label_file(const std::string& path, int64_t nc, int64_t* duplicates) {
    auto too_large = [&](const std::string& size) {  // "123456789 bytes", or "over N bytes" found while reading
        return Error(fmt::format("{}: label file is {}, over the limit of {} bytes ({} MiB)", path, size,
                                 kMaxLabelFileBytes, kMaxLabelFileBytes >> 20));
    };
    std::error_code size_error;  // (not a regular file: bounded while reading instead)
    if (const uintmax_t bytes = fs::file_size(path, size_error);
        !size_error && bytes > static_cast<uintmax_t>(kMaxLabelFileBytes))
        throw too_large(fmt::format("{} bytes", bytes));
    std::ifstream f(path);
    if (!f) throw Error(fmt::format("{}: cannot read the label file", path));
    BoxLabels rows;
    int64_t number = 0, bytes_read = 0;
    for (std::string line; std::getline(f, line);) {
        ++number;
        bytes_read += static_cast<int64_t>(line.size()) + 1;
        if (bytes_read > kMaxLabelFileBytes) throw too_large(fmt::format("over {} bytes", kMaxLabelFileBytes));
        auto fail = [&](const std::string& what) { throw Error(fmt::format("{}:{}: {}", path, number, what)); };
        std::vector<float> v;
        std::istringstream words(line);
        for (std::string w; words >> w;) {
            float x = 0;
            auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), x);
            if (ec != std::errc() || end != w.data() + w.size() || !std::isfinite(x))
                fail(fmt::format("'{}' is not a number", w.size() > 40 ? w.substr(0, 40) + "..." : w));
            v.push_back(x);
        }
        if (v.empty()) continue;
        BoxLabel row{};
        if (v.size() == 5) {
            for (size_t k = 0; k < 5; ++k) row[k] = v[k];
        } else if (v.size() > 8 && v.size() % 2 == 1) {  // a polygon: its bounding box, as segments2boxes
            float x1 = v[1], y1 = v[2], x2 = v[1], y2 = v[2];
            for (size_t k = 1; k < v.size(); k += 2)
                x1 = std::min(x1, v[k]), x2 = std::max(x2, v[k]), y1 = std::min(y1, v[k + 1]),
                y2 = std::max(y2, v[k + 1]);
            // float32 arithmetic, as numpy on the float32 array
            row = {v[0], static_cast<float>((x1 + x2) / 2), static_cast<float>((y1 + y2) / 2),
                   static_cast<float>(x2 - x1), static_cast<float>(y2 - y1)};
        } else {
            fail(
                fmt::format("{} values, expected 5 (class x_center y_center width height) or a polygon (class and "
                            "more than 3 x y pairs)",
                            v.size()));
        }
        if (row[0] != std::floor(row[0])) fail(fmt::format("class {} is not an integer", row[0]));
        if (row[0] < 0 || row[0] >= static_cast<double>(nc))
            fail(fmt::format("class {} is outside [0, {}) (nc = {})", row[0], nc, nc));  // (float: 1e30 has no int64)
        for (size_t k = 1; k < 5; ++k) {
            if (row[k] < 0) fail(fmt::format("negative coordinate {} (column {})", row[k], k + 1));
            if (row[k] > 1)
                fail(fmt::format("coordinate {} (column {}) is above 1: not normalised, or out of the image", row[k],
                                 k + 1));
        }
        rows.push_back(row);
    }
    std::sort(rows.begin(), rows.end());
    const size_t before = rows.size();
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    if (duplicates) *duplicates = static_cast<int64_t>(before - rows.size());
    return rows;
}

int64_t LabelScan::instances() const {
    int64_t n = 0;
    for (const LabeledImage& im : images) n += static_cast<int64_t>(im.labels.size());
    return n;
}

LabelScan verify_image_labels(const std::vector<std::string>& images, const LabelCheckOptions& o) {
    NB_CHECK_VALUE(o.nc >= 1, "verify_image_labels: nc must be >= 1, got ", o.nc);
    struct Result {
        LabeledImage item;
        int64_t missing = 0, found = 0, empty = 0, corrupt = 0, duplicates = 0;
        std::string message;
    };
    std::vector<Result> results(images.size());
    const int64_t n = static_cast<int64_t>(images.size());
#ifdef _OPENMP
    const int threads = o.threads > 0 ? static_cast<int>(o.threads) : omp_get_max_threads();
#endif
#pragma omp parallel for schedule(dynamic, 8) num_threads(threads)
    for (int64_t i = 0; i < n; ++i) {
        Result& r = results[static_cast<size_t>(i)];
        r.item.image = images[static_cast<size_t>(i)];
        r.item.label_file = img2label_path(r.item.image);
        try {
            const Tensor im = data::read_image(r.item.image, data::ImageMode::RGB);
            r.item.height = im.size(1);
            r.item.width = im.size(2);
            if (r.item.height < 10 || r.item.width < 10)
                throw Error(fmt::format("image size {}x{} is under 10 pixels", r.item.width, r.item.height));
            if (fs::is_regular_file(r.item.label_file)) {
                r.found = 1;
                r.item.labels = read_label_file(r.item.label_file, o.nc, &r.duplicates);
                if (r.item.labels.empty()) r.empty = 1;
                if (r.duplicates > 0)
                    r.message =
                        fmt::format("{}WARNING: {}: {} duplicate labels removed", o.prefix, r.item.image, r.duplicates);
            } else {
                r.missing = 1;
            }
        } catch (const std::exception& e) {
            r.corrupt = 1;
            r.message =
                fmt::format("{}WARNING: {}: ignoring corrupt image/label: {}", o.prefix, r.item.image, e.what());
        }
    }
    LabelScan scan;
    for (Result& r : results) {
        if (o.strict && r.corrupt) throw Error(r.message);
        scan.missing += r.missing, scan.found += r.found, scan.empty += r.empty, scan.corrupt += r.corrupt;
        scan.duplicates += r.duplicates;
        if (!r.message.empty()) scan.warnings.push_back(std::move(r.message));
        if (!r.corrupt) scan.images.push_back(std::move(r.item));
    }
    scan.summary = fmt::format("{}{} images, {} labels found, {} missing, {} empty, {} corrupt; {} boxes", o.prefix,
                               images.size(), scan.found, scan.missing, scan.empty, scan.corrupt, scan.instances());
    if (scan.found == 0 && !images.empty())
        scan.warnings.push_back(
            fmt::format("{}WARNING: no labels found (looked for {} and alike)", o.prefix, img2label_path(images[0])));
    if (!o.quiet) {
        for (const std::string& w : scan.warnings) fmt::print(stderr, "{}\n", w);
        fmt::print(stderr, "{}\n", scan.summary);
    }
    return scan;
}

// ----------------------------------------------------------------------------------------------------------------
// the dataset
// ----------------------------------------------------------------------------------------------------------------
DetectionDataOptions validation_options(int64_t img_size, int64_t batch_size, int64_t stride) {
    DetectionDataOptions o;
    o.img_size = img_size;
    o.augment = false;
    o.rect = true;
    o.batch_size = batch_size;
    o.stride = stride;
    o.pad = 0.5;
    return o;
}

std::vector<Int2> rect_batch_shapes(const std::vector<double>& ars, int64_t batch_size, int64_t img_size,
                                    int64_t stride, double pad) {
    NB_CHECK_VALUE(batch_size >= 1 && img_size >= 1 && stride >= 1, "rect_batch_shapes: batch_size ", batch_size,
                   ", img_size ", img_size, " and stride ", stride, " must be positive");
    const int64_t n = static_cast<int64_t>(ars.size()), nb = (n + batch_size - 1) / batch_size;
    std::vector<Int2> shapes;
    for (int64_t b = 0; b < nb; ++b) {
        const auto first = ars.begin() + b * batch_size, last = ars.begin() + std::min(n, (b + 1) * batch_size);
        const double mini = *std::min_element(first, last), maxi = *std::max_element(first, last);
        double rh = 1, rw = 1;
        if (maxi < 1)
            rh = maxi;
        else if (mini > 1)
            rw = 1 / mini;
        const double s = static_cast<double>(img_size) / static_cast<double>(stride);
        shapes.emplace_back(static_cast<int64_t>(std::ceil(rh * s + pad)) * stride,
                            static_cast<int64_t>(std::ceil(rw * s + pad)) * stride);
    }
    return shapes;
}

LoadedImage load_image(const std::string& path, int64_t img_size, bool augment) {
    LoadedImage out;
    Tensor image = data::to_float(data::read_image(path, data::ImageMode::RGB));
    out.height0 = image.size(1);
    out.width0 = image.size(2);
    const double r = static_cast<double>(img_size) / static_cast<double>(std::max(out.height0, out.width0));
    if (r != 1) {
        const int64_t h = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(out.height0) * r));
        const int64_t w = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(out.width0) * r));
        image = data::resize(image, {h, w}, data::Interpolation::Bilinear, /*antialias=*/r < 1 && !augment);
    }
    out.image = image.contiguous();
    return out;
}

DetectionDataset::DetectionDataset(std::vector<LabeledImage> images, DetectionDataOptions options)
    : images_(std::move(images)), options_(options) {
    const auto& o = options_;
    NB_CHECK_VALUE(!images_.empty(), "DetectionDataset: no images");
    NB_CHECK_VALUE(o.img_size >= 32 && o.stride >= 1 && o.batch_size >= 1, "DetectionDataset: img_size ", o.img_size,
                   " (>= 32), stride ", o.stride, " and batch_size ", o.batch_size, " must be positive");
    for (const LabeledImage& im : images_)
        NB_CHECK_VALUE(im.height > 0 && im.width > 0, "DetectionDataset: ", im.image,
                       " has no size (use verify_image_labels to read the images)");
    if (o.augment &&
        std::all_of(images_.begin(), images_.end(), [](const LabeledImage& im) { return im.labels.empty(); }))
        throw Error(
            fmt::format("DetectionDataset: none of the {} images has a label (first label file looked for: "
                        "{}); cannot train without labels",
                        images_.size(), images_[0].label_file));
    if (o.rect) {  // sort by aspect ratio h / w (stable, so ties keep file order)
        auto ar = [](const LabeledImage& im) { return static_cast<double>(im.height) / static_cast<double>(im.width); };
        std::stable_sort(images_.begin(), images_.end(),
                         [&](const LabeledImage& a, const LabeledImage& b) { return ar(a) < ar(b); });
        std::vector<double> ars;
        for (const LabeledImage& im : images_) ars.push_back(ar(im));
        batch_shapes_ = rect_batch_shapes(ars, o.batch_size, o.img_size, o.stride, o.pad);
    }
}

Int2 DetectionDataset::letterbox_shape(int64_t index) const {
    if (options_.rect) return batch_shapes_.at(static_cast<size_t>(index / options_.batch_size));
    return {options_.img_size, options_.img_size};
}

Augmented DetectionDataset::load_mosaic(int64_t index, Generator& gen) const {
    const int64_t s = options_.img_size, border = -((s + 1) / 2);  // Python's -s // 2
    auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * gen.uniform(); };
    const int64_t yc = static_cast<int64_t>(uniform(static_cast<double>(-border), static_cast<double>(2 * s + border)));
    const int64_t xc = static_cast<int64_t>(uniform(static_cast<double>(-border), static_cast<double>(2 * s + border)));
    std::array<int64_t, 4> indices{index, 0, 0, 0};
    for (int k = 1; k < 4; ++k) indices[k] = gen.randint(0, size());
    for (int k = 3; k > 0; --k) std::swap(indices[k], indices[gen.randint(0, k + 1)]);  // random.shuffle
    Tensor canvas = full({3, 2 * s, 2 * s}, 114.0 / 255.0, {.dtype = kFloat32});
    BoxLabels labels4;
    for (int k = 0; k < 4; ++k) {
        const LabeledImage& item = images_[static_cast<size_t>(indices[k])];
        const LoadedImage im = load_image(item.image, s, /*augment=*/true);
        const int64_t h = im.image.size(1), w = im.image.size(2);
        const MosaicTile tile = mosaic_tile(k, xc, yc, h, w, s);
        paste_tile(canvas, im.image, tile);
        for (const BoxLabel& l : xywhn2xyxy(item.labels, static_cast<double>(w), static_cast<double>(h),
                                            static_cast<double>(tile.padw()), static_cast<double>(tile.padh())))
            labels4.push_back(l);
    }
    for (BoxLabel& l : labels4)
        for (int k = 1; k < 5; ++k) l[k] = std::clamp(l[k], 0.0, static_cast<double>(2 * s));
    return random_perspective(canvas, labels4, options_.hyp, {border, border}, gen);
}

data::Example DetectionDataset::get(int64_t index, Generator& gen) const {
    NB_CHECK_VALUE(index >= 0 && index < size(), "DetectionDataset: index ", index, " is out of range for ", size(),
                   " images");
    const DetectionDataOptions& o = options_;
    const LabeledImage& item = images_[static_cast<size_t>(index)];
    Augmented ex;
    LetterboxShape shape;
    const bool mosaic = o.augment && !o.rect && gen.uniform() < o.hyp.mosaic;
    if (mosaic) {
        ex = load_mosaic(index, gen);
    } else {
        const LoadedImage im = load_image(item.image, o.img_size, o.augment);
        const double h = static_cast<double>(im.image.size(1)), w = static_cast<double>(im.image.size(2));
        const data::Letterbox lb =
            data::letterbox(im.image, {.new_shape = letterbox_shape(index), .auto_pad = false, .scaleup = o.augment});
        ex.image = lb.image;
        ex.labels = xywhn2xyxy(item.labels, lb.ratio_w * w, lb.ratio_h * h, lb.pad_w, lb.pad_h);
        shape = {im.height0,
                 im.width0,
                 h / static_cast<double>(im.height0) * lb.ratio_h,
                 w / static_cast<double>(im.width0) * lb.ratio_w,
                 lb.pad_w,
                 lb.pad_h};
        if (o.augment) ex = random_perspective(ex.image, ex.labels, o.hyp, {0, 0}, gen);
    }
    const int64_t H = ex.image.size(1), W = ex.image.size(2);
    BoxLabels labels = xyxy2xywhn(ex.labels, static_cast<double>(W), static_cast<double>(H), true, 1e-3);
    Tensor image = ex.image;
    if (o.augment) {
        image = augment_hsv(image, o.hyp, gen);
        if (gen.uniform() < o.hyp.flipud) {
            image = data::vflip(image);
            flipud_labels(labels);
        }
        if (gen.uniform() < o.hyp.fliplr) {
            image = data::hflip(image);
            fliplr_labels(labels);
        }
    }
    data::Example out{image.to(kFloat32).contiguous(), labels_to_tensor(labels)};
    if (!o.augment) out.push_back(shape.to_tensor());
    return out;
}

std::shared_ptr<DetectionDataset> make_detection_dataset(const std::vector<std::string>& sources, int64_t nc,
                                                         const DetectionDataOptions& options, const std::string& prefix,
                                                         bool strict) {
    LabelScan scan = verify_image_labels(image_files(sources), {.nc = nc, .strict = strict, .prefix = prefix});
    if (scan.images.empty())
        throw Error(fmt::format("{}no usable images in {} ({})", prefix, fmt::join(sources, ", "), scan.summary));
    return std::make_shared<DetectionDataset>(std::move(scan.images), options);
}

std::vector<Tensor> detection_collate(const std::vector<data::Example>& examples) {
    NB_CHECK_VALUE(!examples.empty(), "detection_collate: no examples");
    const size_t n = examples[0].size();
    std::vector<Tensor> images, labels;
    std::vector<std::vector<Tensor>> rest(n > 2 ? n - 2 : 0);
    for (size_t i = 0; i < examples.size(); ++i) {
        const data::Example& e = examples[i];
        NB_CHECK(e.size() == n && n >= 2, "detection_collate: example 0 has ", n, " tensors but example ", i, " has ",
                 e.size(), " (expected image, labels, ...)");
        NB_CHECK(e[0].shape() == examples[0][0].shape(), "detection_collate: image ", i, " is ", e[0].shape(),
                 " but image 0 is ", examples[0][0].shape(),
                 " (a rect dataset needs the loader's batch size to be its batch_size, without shuffling)");
        NB_CHECK(e[1].dim() == 2 && e[1].size(1) == 6, "detection_collate: labels of example ", i,
                 " must be [n, 6], got ", e[1].shape());
        images.push_back(e[0]);
        const Tensor l = e[1].to(kFloat32);
        const int64_t rows = l.size(0);
        labels.push_back(cat({full({rows, 1}, static_cast<double>(i), {.dtype = kFloat32}), l.narrow(1, 1, 5)}, 1));
        for (size_t k = 2; k < n; ++k) rest[k - 2].push_back(e[k]);
    }
    std::vector<Tensor> batch{stack(images, 0), cat(labels, 0)};
    for (const auto& r : rest) batch.push_back(stack(r, 0));
    return batch;
}

Tensor draw_labels(const Tensor& image, const Tensor& labels, const std::vector<std::string>& names) {
    NB_CHECK(image.defined() && image.dim() == 3 && image.size(0) == 3,
             "draw_labels: expected an image [3, H, W], got ",
             image.defined() ? shape_str(image.shape()) : "undefined");
    NB_CHECK(labels.defined() && labels.dim() == 2 && (labels.size(1) == 5 || labels.size(1) == 6),
             "draw_labels: expected labels [n, 5] or [n, 6], got ",
             labels.defined() ? shape_str(labels.shape()) : "undefined");
    const Tensor l = labels.to(kCPU).to(kFloat64).contiguous();
    const int64_t n = l.size(0), k = l.size(1), off = k - 5;
    const double H = static_cast<double>(image.size(1)), W = static_cast<double>(image.size(2));
    const double* p = l.data_ptr<double>();
    std::vector<double> boxes;
    std::vector<data::Color> colors;
    std::vector<std::string> texts;
    for (int64_t i = 0; i < n; ++i) {
        const double* r = p + i * k + off;
        const int64_t cls = std::llround(r[0]);
        boxes.insert(boxes.end(),
                     {(r[1] - r[3] / 2) * W, (r[2] - r[4] / 2) * H, (r[1] + r[3] / 2) * W, (r[2] + r[4] / 2) * H});
        colors.push_back(data::palette(cls));
        texts.push_back(cls >= 0 && cls < static_cast<int64_t>(names.size()) ? names[static_cast<size_t>(cls)]
                                                                             : std::to_string(cls));
    }
    if (n == 0) return image.to(kFloat32).clone();
    return data::draw_boxes(image, from_vector(boxes, {n, 4}), colors, texts, image.size(1) >= 400 ? 2 : 1);
}

void plot_detection_batch(const Tensor& images, const Tensor& targets, const std::vector<std::string>& names,
                          const std::string& path, int64_t max_images) {
    NB_CHECK(images.defined() && images.dim() == 4 && images.size(1) == 3,
             "plot_detection_batch: expected images [B, 3, H, W], got ",
             images.defined() ? shape_str(images.shape()) : "undefined");
    NB_CHECK(targets.defined() && targets.dim() == 2 && targets.size(1) == 6,
             "plot_detection_batch: expected targets [n, 6], got ",
             targets.defined() ? shape_str(targets.shape()) : "undefined");
    const int64_t b = std::min(images.size(0), max_images);
    const Tensor t = targets.to(kCPU).to(kFloat64).contiguous();
    std::vector<Tensor> tiles;
    for (int64_t i = 0; i < b; ++i) {
        std::vector<double> rows;
        const double* p = t.data_ptr<double>();
        for (int64_t r = 0; r < t.size(0); ++r)
            if (std::llround(p[r * 6]) == i) rows.insert(rows.end(), p + r * 6 + 1, p + r * 6 + 6);
        const int64_t m = static_cast<int64_t>(rows.size() / 5);
        tiles.push_back(draw_labels(images.select(0, i).to(kCPU), from_vector(rows, {m, 5}), names));
    }
    const auto nrow = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(std::max<int64_t>(b, 1)))));
    data::save_image(stack(tiles, 0), path, {.nrow = nrow});
}

}  // namespace nabla::apps
