// apps/detection_data.h — YOLOv5 v6.0's detection data, with ultralytics' names (LoadImagesAndLabels,
// verify_image_label, img2label_paths, collate_fn): finding the images of a data.yaml's sources (the yaml itself is
// apps/detection_yaml.h, included here) and their label files, checking every label line, and the Dataset the trainer
// and the validator read. docs/yolo_data.md describes the layout, the checks, the augmentations and the rectangular
// validation batches.
//
//   DataYaml cfg = find_data_yaml("data/generated/shapes");               // DIR/data.yaml, or a .yaml file
//   LabelScan scan = verify_image_labels(image_files(cfg.train), {.nc = cfg.nc, .prefix = "train: "});
//   auto train = std::make_shared<DetectionDataset>(scan.images, DetectionDataOptions{.img_size = 640});
//   data::DataLoader loader(train, {.batch_size = 16, .shuffle = true, .num_workers = 4}, detection_collate);
//   for (auto& batch : loader) loss = yolo_loss(net(batch[0]), batch[1], ...);   // images, targets [n, 6]
//
//   auto val = std::make_shared<DetectionDataset>(val_scan.images, validation_options(640, 32));
//   data::DataLoader val_loader(val, {.batch_size = 32}, detection_collate);   // same batch size, no shuffle
//   batch[2][i] -> LetterboxShape::from_tensor -> scale_coords(predictions, shape)
//
// Examples: training (augment) {image float32 [3, S, S] RGB in [0, 1], labels float32 [n, 6] (0, class, cx, cy, w,
// h normalised to the image)}; validation (no augment) the same plus the LetterboxShape as float64 [6], the image
// then [3, h, w] with (h, w) its batch's shape when rect.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "apps/detection_augment.h"
#include "apps/detection_yaml.h"  // DataYaml, read_data_yaml, find_data_yaml
#include "nn/data/dataset.h"

namespace nabla::apps {

// --- images and label files ---
// The image files of the sources, sorted: a folder gives every image under it (recursively), a list file one path per
// line (relative paths are taken from the list's folder, as ultralytics does for "./" lines). Only image extensions
// are kept (.bmp .jpg .jpeg .png, any case). An Error names a source that does not exist or a set with no images.
std::vector<std::string> image_files(const std::vector<std::string>& sources);
// ultralytics' img2label_paths: the last "/images/" of the (absolute) path becomes "/labels/" and the extension
// ".txt"; without an "/images/" folder the label file sits beside the image.
std::string img2label_path(const std::string& image);

// --- label checks (verify_image_label) ---
struct LabeledImage {
    std::string image, label_file;
    int64_t height = 0, width = 0;  // of the original image
    BoxLabels labels;               // (class, cx, cy, w, h) normalised, duplicates removed, rows sorted
};

struct LabelCheckOptions {
    int64_t nc = 80;      // classes must lie in [0, nc)
    bool strict = false;  // throw on the first bad image or line instead of skipping it with a warning
    bool quiet = false;   // do not print the warnings and the summary (they are kept in LabelScan either way)
    std::string prefix;   // put before every printed line ("train: ")
    int64_t threads = 0;  // images checked in parallel; 0: OpenMP's default
};

struct LabelScan {
    std::vector<LabeledImage> images;  // the usable images, in file order; background images have no labels
    int64_t found = 0, missing = 0, empty = 0, corrupt = 0, duplicates = 0;  // label files and skipped images
    std::vector<std::string> warnings;  // one per skipped image or removed duplicates, in file order
    std::string summary;                // "N images, M labels found, ..." (printed once unless quiet)
    int64_t instances() const;          // label rows over all images
};

// One label file -> its rows, or an Error "FILE:LINE: what is wrong" for the first bad line: a row must have five
// numbers (class cx cy w h; a polygon row "class x1 y1 x2 y2 ..." of more than eight is reduced to its bounding box),
// an integer class in [0, nc), coordinates in [0, 1] (read as float32, as numpy does, so only float rounding is
// tolerated). Exact duplicate rows are removed (counted in *duplicates) and the rows come out sorted, as np.unique.
// An empty file gives no rows (a background image). A file over kMaxLabelFileBytes is refused before it is read.
BoxLabels read_label_file(const std::string& path, int64_t nc, int64_t* duplicates = nullptr);
// A label file holds a few KB; 64 MiB is millions of boxes: a larger file (or stream) is not a label file, and reading
// it whole would only exhaust memory. The Error names the file, its size and this limit.
inline constexpr int64_t kMaxLabelFileBytes = int64_t{64} << 20;
// Every image decoded (size > 9 pixels each way) and its label file read. A corrupt image or a bad label line skips
// the image with a warning that names it ("WARNING: a.jpg: ignoring corrupt image/label: a.txt:3: ..."), or throws
// that message as an Error in strict mode. A missing label file makes a background image.
LabelScan verify_image_labels(const std::vector<std::string>& images, const LabelCheckOptions& options);

// --- the dataset (LoadImagesAndLabels) ---
struct DetectionDataOptions {
    int64_t img_size = 640;  // the long side images are loaded at; training examples are img_size squared
    bool augment = true;     // training: mosaic, random_perspective, HSV, flips (hyp); scaleup in the letterbox
    AugmentHyp hyp;
    bool rect = false;        // rectangular batches (validation): images sorted by aspect ratio, one shape per batch
    int64_t batch_size = 32;  // rect: the loader's batch size, which the batch shapes are computed for
    int64_t stride = 32;      // rect: shapes are multiples of it
    double pad = 0.0;         // rect: extra stride units (YOLOv5's validation uses 0.5)
};
// YOLOv5's validation loader: no augmentation, rect batches of batch_size with pad 0.5 (docs/yolo_data.md §7).
DetectionDataOptions validation_options(int64_t img_size, int64_t batch_size, int64_t stride = 32);

// ultralytics' rect batch shapes: ars are the h / w ratios of the images in dataset order (already sorted), batch i
// is images [i * batch_size, ...); its shape is (ratio_h, ratio_w) = (max ar, 1) when every ar < 1, (1, 1 / min ar)
// when every ar > 1, else (1, 1), times img_size / stride, plus pad, rounded up, times stride. Returns (h, w) per
// batch.
std::vector<Int2> rect_batch_shapes(const std::vector<double>& ars, int64_t batch_size, int64_t img_size,
                                    int64_t stride, double pad);

// An image loaded as load_image does: read as RGB, resized so that its long side is img_size (int() of the scaled
// sides; antialiased when shrinking without augmentation, as INTER_AREA, else bilinear).
struct LoadedImage {
    Tensor image;                     // float32 [3, h, w] in [0, 1]
    int64_t height0 = 0, width0 = 0;  // before resizing
};
LoadedImage load_image(const std::string& path, int64_t img_size, bool augment);

class DetectionDataset : public data::Dataset {
public:
    // An Error when images is empty, or when augmenting and no image has a label (ultralytics cannot train without).
    DetectionDataset(std::vector<LabeledImage> images, DetectionDataOptions options);
    int64_t size() const override { return static_cast<int64_t>(images_.size()); }
    data::Example get(int64_t index, Generator& gen) const override;

    const std::vector<LabeledImage>& images() const { return images_; }  // in dataset order (rect: sorted)
    const DetectionDataOptions& options() const { return options_; }
    const std::vector<Int2>& batch_shapes() const { return batch_shapes_; }  // rect only
    // The shape example `index` is letterboxed to without mosaic: its batch's with rect, else img_size squared.
    Int2 letterbox_shape(int64_t index) const;

    // load_mosaic: the image at `index` and three drawn at random, shuffled into the four tiles of a 2S x 2S canvas
    // filled with 114 around a centre drawn in [S/2, 3S/2), labels clipped to the canvas, then random_perspective
    // with border -S/2 -> [3, S, S] and pixel boxes.
    Augmented load_mosaic(int64_t index, Generator& gen) const;

private:
    std::vector<LabeledImage> images_;
    DetectionDataOptions options_;
    std::vector<Int2> batch_shapes_;
};

// The sources of a yaml split checked and made into a dataset (the summary printed with `prefix`).
std::shared_ptr<DetectionDataset> make_detection_dataset(const std::vector<std::string>& sources, int64_t nc,
                                                         const DetectionDataOptions& options,
                                                         const std::string& prefix = "", bool strict = false);

// ultralytics' collate_fn: images stacked into [B, 3, H, W], labels concatenated into the targets [sum n_i, 6] with
// the example's position in the batch written in column 0 (what models::yolo_loss takes), any further tensors
// (validation's LetterboxShape) stacked.
std::vector<Tensor> detection_collate(const std::vector<data::Example>& examples);

// A picture of one example: the boxes of labels ([n, 5] class cx cy w h or [n, 6] with a leading column; normalised)
// drawn on image [3, H, W] in the class colour with the class name (names[class], or the number).
Tensor draw_labels(const Tensor& image, const Tensor& labels, const std::vector<std::string>& names);
// ultralytics' plot_images: up to max_images of a batch (images [B, 3, H, W], targets [n, 6]) with their boxes, in
// a grid written to path (.png or .jpg).
void plot_detection_batch(const Tensor& images, const Tensor& targets, const std::vector<std::string>& names,
                          const std::string& path, int64_t max_images = 16);

}  // namespace nabla::apps
