// tests/apps/test_detection_data.cpp — YOLOv5's data path (docs/yolo_data.md): data.yaml reading (folders, list
// files, names as a list or a map, errors naming the line), the label-file rule, the label checks (bad lines named by
// file and line and their image skipped, duplicates, background images, corrupt images, strict mode), the mosaic,
// boxes following known transforms exactly (a flip, a scale-and-translate matrix), HSV, one seed one example, the
// collate's image-index column, rect validation shapes against hand-computed values with scale_coords undoing the
// letterbox, and the shapes generator (same seed, same bytes) read back by the dataset.
#include <filesystem>
#include <fstream>

#include "apps/detection_data.h"
#include "apps/shapes_synth.h"
#include "nn/data/dataloader.h"
#include "nn/data/image.h"
#include "nn/data/transforms.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace nabla::apps;

namespace {

// A grey PNG of h x w with a white rectangle [x0, x1) x [y0, y1) (pixels).
void write_image(const std::string& path, int64_t h, int64_t w, std::array<int64_t, 4> white = {0, 0, 0, 0}) {
    fs::create_directories(fs::path(path).parent_path());
    Tensor im = full({3, h, w}, 60, {.dtype = kUInt8});
    if (white[2] > white[0])
        im.narrow(1, white[1], white[3] - white[1]).narrow(2, white[0], white[2] - white[0]).fill_(255);
    data::write_png(path, im);
}

void write_text(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
}

std::string read_bytes(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

double at(const Tensor& t, std::initializer_list<int64_t> index) {
    Tensor x = t;
    for (int64_t i : index) x = x.select(0, i);
    return x.item<double>();
}

std::string photos_dir() { return std::string(NABLA_SOURCE_DIR) + "/data/photos"; }

}  // namespace

TEST_CASE("detection data: data.yaml with folders, list files and names as a list or a map", "[detection]") {
    TempDir d;
    write_image(d.file("root/images/train/a.png"), 16, 16);
    write_image(d.file("root/images/val/b.png"), 16, 16);
    write_image(d.file("root/images/val/c.png"), 16, 16);
    write_text(d.file("root/val_list.txt"), "./images/val/c.png\nimages/val/b.png\nnotes.md\n\n");
    write_text(d.file("root/data.yaml"),
               "# a data set\npath: .  # the root\ntrain: images/train\nval: [images/val, 'val_list.txt']  # both\n"
               "test:\nnc: 3\nnames: ['zero', \"one # not a comment\",\n        two]\n"
               "download: |\n  import os\n  names: [not, these]\n");
    const DataYaml y = read_data_yaml(d.file("root/data.yaml"));
    CHECK(y.path == d.file("root"));
    CHECK(y.train == std::vector<std::string>{d.file("root/images/train")});
    CHECK(y.val == std::vector<std::string>{d.file("root/images/val"), d.file("root/val_list.txt")});
    CHECK(y.test.empty());
    CHECK(y.nc == 3);
    CHECK(y.names == std::vector<std::string>{"zero", "one # not a comment", "two"});
    // a folder and a list naming the same two images: each once, sorted
    CHECK(image_files(y.val) ==
          std::vector<std::string>{d.file("root/images/val/b.png"), d.file("root/images/val/c.png")});
    CHECK(image_files(y.train) == std::vector<std::string>{d.file("root/images/train/a.png")});
    CHECK(find_data_yaml(d.file("root")).names == y.names);

    // names as a block map (any order, nc from the names), a block list, a flow map; no path: the yaml's folder
    write_text(d.file("root/map.yaml"),
               "train: images/train\nval: images/val\nnames:\n  0: person\n  2: car\n  1: 'bike'\n");
    const DataYaml m = read_data_yaml(d.file("root/map.yaml"));
    CHECK(m.nc == 3);
    CHECK(m.names == std::vector<std::string>{"person", "bike", "car"});
    CHECK(m.train == std::vector<std::string>{d.file("root/images/train")});
    write_text(d.file("root/list.yaml"), "train: images/train\nval: images/val\nnc: 2\nnames:\n- cat\n- dog\n");
    CHECK(read_data_yaml(d.file("root/list.yaml")).names == std::vector<std::string>{"cat", "dog"});
    write_text(d.file("root/flow.yaml"), "train: images/train\nval: images/val\nnames: {0: cat, 1: dog}\n");
    CHECK(read_data_yaml(d.file("root/flow.yaml")).names == std::vector<std::string>{"cat", "dog"});
    write_text(d.file("root/nonames.yaml"), "train: images/train\nnc: 2\n");
    CHECK(read_data_yaml(d.file("root/nonames.yaml")).names == std::vector<std::string>{"class0", "class1"});

    // a file in the style of YOLOv5's VOC.yaml: block lists of sources, names over two lines, a download script
    for (const char* f : {"voc/images/train2012/a.jpg", "voc/images/train2007/b.jpg", "voc/images/test2007/c.jpg"})
        write_image(d.file(f), 16, 16);
    write_text(
        d.file("cfg/VOC.yaml"),
        "# PASCAL VOC\n# parent\n# ├── yolov5\n# └── datasets\n\n"
        "path: ../voc\ntrain: # train images (relative to 'path')\n  - images/train2012\n  - images/train2007\n"
        "val: # val images\n  - images/test2007\ntest: # test images (optional)\n  - images/test2007\n\n"
        "# Classes\nnc: 3  # number of classes\nnames: ['aeroplane', 'bicycle',\n        'bird']  # class names\n\n"
        "download: |\n  import xml.etree.ElementTree as ET\n\n  def convert_label(path, lb_path, year, "
        "image_id):\n    names: [x, y]  # not ours\n");
    const DataYaml voc = read_data_yaml(d.file("cfg/VOC.yaml"));
    CHECK(voc.path == d.file("voc"));
    CHECK(voc.train == std::vector<std::string>{d.file("voc/images/train2012"), d.file("voc/images/train2007")});
    CHECK(voc.val == std::vector<std::string>{d.file("voc/images/test2007")});
    CHECK(voc.test == voc.val);
    CHECK(voc.names == std::vector<std::string>{"aeroplane", "bicycle", "bird"});
    CHECK(image_files(voc.train).size() == 2);

    auto fails = [&](const std::string& text, const std::string& where, const std::string& message) {
        write_text(d.file("root/bad.yaml"), text);
        REQUIRE_THROWS_WITH(read_data_yaml(d.file("root/bad.yaml")),
                            Catch::Contains(d.file("root/bad.yaml") + ":" + where) && Catch::Contains(message));
    };
    fails("train: images/train\nnc: 2\nnames: [a, b, c]\n", "3:", "3 names found for nc=2");
    fails("train: images/nowhere\nnc: 1\n", "1:", "images/nowhere does not exist");
    // yaml-cpp's own errors, at the line and column where it finds them (here the end of the file)
    fails("train: images/train\nnames: [a, b\n", "3:1: ", "not valid YAML: end of sequence flow not found");
    fails("train: images/train\nnc: two\n", "2:", "nc must be a positive integer");
    fails("train: images/train\nnames:\n  0: a\n  2: c\n", "2:", "class 1 has no name");
    fails("train: images/train\n", "1:", "neither nc nor names");
}

TEST_CASE("detection data: label files sit where ultralytics looks for them", "[detection]") {
    CHECK(img2label_path("/d/images/train/x.jpg") == "/d/labels/train/x.txt");
    CHECK(img2label_path("/d/images/a/images/x.PNG") == "/d/images/a/labels/x.txt");  // the last /images/
    CHECK(img2label_path("/d/pictures/x.y.jpeg") == "/d/pictures/x.y.txt");           // beside the image
}

TEST_CASE("detection data: label checks skip bad images with a warning naming the file and the line", "[detection]") {
    TempDir d;
    const std::string images = d.file("images/train/"), labels = d.file("labels/train/");
    const std::map<std::string, std::string> files = {
        {"good", "0 0.5 0.5 0.2 0.2\n1 0.25 0.25 0.1 0.1\n"},
        {"dup", "2 0.5 0.5 0.2 0.2\n0 0.1 0.1 0.1 0.1\n2 0.5 0.5 0.2 0.2\n"},
        {"empty", ""},
        {"poly", "2 0.1 0.1 0.3 0.1 0.3 0.4 0.1 0.4\n"},  // a polygon: its bounding box
        {"tolerance", "0 0.5 0.5 1.00000001 0.2\n"},      // 1 as float32
        {"bad_cols", "0 0.5 0.5 0.2 0.2\n\n0 0.5 0.5 0.2\n"},
        {"bad_number", "0 0.5 abc 0.2 0.2\n"},
        {"bad_class", "0 0.5 0.5 0.2 0.2\n3 0.5 0.5 0.2 0.2\n"},
        {"bad_fraction", "1.5 0.5 0.5 0.2 0.2\n"},
        {"bad_negative", "0 -0.1 0.5 0.2 0.2\n"},
        {"bad_big", "0 0.5 0.5 1.2 0.2\n"},
    };
    std::vector<std::string> paths;
    for (const auto& [stem, text] : files) {
        write_image(images + stem + ".png", 16, 20);
        write_text(labels + stem + ".txt", text);
        paths.push_back(images + stem + ".png");
    }
    write_image(images + "nolabel.png", 12, 12);
    write_text(images + "corrupt.png", "not a png at all");
    write_image(images + "tiny.png", 8, 30);
    paths.push_back(images + "nolabel.png");
    paths.push_back(images + "corrupt.png");
    paths.push_back(images + "tiny.png");
    std::sort(paths.begin(), paths.end());
    REQUIRE(image_files({d.file("images/train")}) == paths);

    const LabelScan scan = verify_image_labels(paths, {.nc = 3, .quiet = true, .prefix = "train: "});
    std::map<std::string, const LabeledImage*> kept;
    for (const auto& im : scan.images) kept[fs::path(im.image).stem().string()] = &im;
    CHECK(kept.size() == 6);
    for (const char* stem : {"good", "dup", "empty", "poly", "tolerance", "nolabel"}) CHECK(kept.count(stem) == 1);
    CHECK(scan.found == 11);
    CHECK(scan.missing == 1);
    CHECK(scan.empty == 1);
    CHECK(scan.corrupt == 8);
    CHECK(scan.duplicates == 1);
    CHECK(scan.instances() == 2 + 2 + 1 + 1);
    CHECK(scan.summary == "train: 14 images, 11 labels found, 1 missing, 1 empty, 8 corrupt; 6 boxes");
    // rows come out sorted and unique, as np.unique
    CHECK(kept["dup"]->labels == BoxLabels{{0, 0.1f, 0.1f, 0.1f, 0.1f}, {2, 0.5, 0.5, 0.2f, 0.2f}});
    CHECK(kept["good"]->height == 16);
    CHECK(kept["good"]->width == 20);
    CHECK(kept["good"]->label_file == labels + "good.txt");
    CHECK(kept["empty"]->labels.empty());
    CHECK(kept["nolabel"]->labels.empty());
    REQUIRE(kept["poly"]->labels.size() == 1);
    const BoxLabel poly = kept["poly"]->labels[0];
    CHECK(poly[0] == 2);
    CHECK(poly[1] == Approx(0.2));
    CHECK(poly[2] == Approx(0.25));
    CHECK(poly[3] == Approx(0.2));
    CHECK(poly[4] == Approx(0.3));
    CHECK(kept["tolerance"]->labels[0][3] == 1.0);

    auto warning = [&](const std::string& stem) {
        for (const auto& w : scan.warnings)
            if (w.find(images + stem + ".png") != std::string::npos) return w;
        return std::string("(no warning for ") + stem + ")";
    };
    using Catch::Contains;
    CHECK_THAT(warning("dup"), Contains("train: WARNING: ") && Contains("1 duplicate labels removed"));
    CHECK_THAT(warning("bad_cols"), Contains("ignoring corrupt image/label") && Contains(labels + "bad_cols.txt:3: ") &&
                                        Contains("4 values, expected 5"));
    CHECK_THAT(warning("bad_number"), Contains(labels + "bad_number.txt:1: ") && Contains("'abc' is not a number"));
    CHECK_THAT(warning("bad_class"), Contains(labels + "bad_class.txt:2: ") && Contains("class 3 is outside [0, 3)"));
    CHECK_THAT(warning("bad_fraction"), Contains(labels + "bad_fraction.txt:1: ") && Contains("not an integer"));
    CHECK_THAT(warning("bad_negative"), Contains(labels + "bad_negative.txt:1: ") && Contains("negative coordinate"));
    CHECK_THAT(warning("bad_big"), Contains(labels + "bad_big.txt:1: ") && Contains("not normalised"));
    CHECK_THAT(warning("corrupt"), Contains("ignoring corrupt image/label") && Contains("read_image"));
    CHECK_THAT(warning("tiny"), Contains("30x8 is under 10 pixels"));

    // strict: the first bad image (in file order) stops the scan
    REQUIRE_THROWS_WITH(verify_image_labels(paths, {.nc = 3, .strict = true, .quiet = true}),
                        Contains(images + "bad_big.png") && Contains(labels + "bad_big.txt:1: "));
    // read_label_file on its own
    int64_t dups = -1;
    CHECK(read_label_file(labels + "good.txt", 2, &dups).size() == 2);
    CHECK(dups == 0);
    REQUIRE_THROWS_WITH(read_label_file(labels + "good.txt", 1), Contains(labels + "good.txt:2: class 1"));
}

namespace {

// A dataset of the given images (h, w) with one box each, labels (0, 0.5, 0.5, 0.5, 0.25) unless given.
std::vector<LabeledImage> make_images(const TempDir& d, const std::vector<std::array<int64_t, 2>>& sizes,
                                      bool white_box = true) {
    std::vector<std::string> paths;
    for (size_t i = 0; i < sizes.size(); ++i) {
        const auto [h, w] = sizes[i];
        const std::string image = d.file(fmt::format("images/x{}.png", i));
        // the box (0.5, 0.5, 0.5, 0.25) in pixels, painted white
        write_image(image, h, w,
                    white_box ? std::array<int64_t, 4>{w / 4, 3 * h / 8, 3 * w / 4, 5 * h / 8}
                              : std::array<int64_t, 4>{0, 0, 0, 0});
        write_text(d.file(fmt::format("labels/x{}.txt", i)), fmt::format("{} 0.5 0.5 0.5 0.25\n", i % 3));
        paths.push_back(image);
    }
    return verify_image_labels(paths, {.nc = 3, .quiet = true}).images;
}

AugmentHyp no_augment() {
    AugmentHyp h;
    h.hsv_h = h.hsv_s = h.hsv_v = 0;
    h.translate = h.scale = 0;
    h.fliplr = 0;
    h.mosaic = 0;
    return h;
}

}  // namespace

TEST_CASE("detection data: the mosaic is img_size squared with every box inside it", "[detection]") {
    TempDir d;
    const auto images = make_images(d, {{48, 64}, {64, 40}, {64, 64}, {30, 64}, {64, 50}});
    const DetectionDataset ds(images, {.img_size = 64});
    CHECK(ds.size() == 5);
    int64_t boxes = 0;
    for (int64_t i = 0; i < 20; ++i) {
        Generator g(static_cast<uint64_t>(i));
        const data::Example ex = ds.get(i % 5, g);
        REQUIRE(ex.size() == 2);
        CHECK(ex[0].shape() == Shape{3, 64, 64});
        CHECK(ex[0].dtype() == kFloat32);
        CHECK(min(ex[0]).item<double>() >= 0);
        CHECK(max(ex[0]).item<double>() <= 1);
        REQUIRE(ex[1].dim() == 2);
        REQUIRE(ex[1].size(1) == 6);
        for (int64_t r = 0; r < ex[1].size(0); ++r) {
            const double cx = at(ex[1], {r, 2}), cy = at(ex[1], {r, 3}), w = at(ex[1], {r, 4}), h = at(ex[1], {r, 5});
            CHECK(at(ex[1], {r, 0}) == 0);
            CHECK(cx - w / 2 >= -1e-6);
            CHECK(cx + w / 2 <= 1 + 1e-6);
            CHECK(cy - h / 2 >= -1e-6);
            CHECK(cy + h / 2 <= 1 + 1e-6);
            CHECK(w * 64 > 2 - 0.01);  // box_candidates (then clipped to 64 - 1e-3)
            CHECK(h * 64 > 2 - 0.01);
        }
        boxes += ex[1].size(0);
    }
    CHECK(boxes > 20);  // four images per mosaic, most boxes survive

    // the tiles around the centre: the top-left image's bottom-right corner sits at (xc, yc)
    const MosaicTile t0 = mosaic_tile(0, 70, 50, 40, 64, 64);
    CHECK(std::array<int64_t, 8>{t0.x1a, t0.y1a, t0.x2a, t0.y2a, t0.x1b, t0.y1b, t0.x2b, t0.y2b} ==
          std::array<int64_t, 8>{6, 10, 70, 50, 0, 0, 64, 40});
    const MosaicTile t3 = mosaic_tile(3, 100, 90, 40, 64, 64);  // clipped by the 128 x 128 canvas
    CHECK(std::array<int64_t, 8>{t3.x1a, t3.y1a, t3.x2a, t3.y2a, t3.x1b, t3.y1b, t3.x2b, t3.y2b} ==
          std::array<int64_t, 8>{100, 90, 128, 128, 0, 0, 28, 38});
}

TEST_CASE("detection data: boxes follow a flip and a scale-and-translate matrix exactly", "[detection]") {
    // an image 64 x 64 with a white box [16, 32) x [8, 24): label (0, 0.375, 0.25, 0.25, 0.25)
    Tensor image = zeros({3, 64, 64});
    image.narrow(1, 8, 16).narrow(2, 16, 16).fill_(1.0);
    const BoxLabels labels{{0, 16, 8, 32, 24}};
    // x' = (x - 32) * 0.5 + 20, y' = (y - 32) * 0.5 + 40
    const Perspective p = scale_translate(64, 64, {0, 0}, 0.5, 20, 40);
    const Augmented out = apply_perspective(image, labels, p);
    REQUIRE(out.labels.size() == 1);
    CHECK(out.labels[0] == BoxLabel{0, 12, 28, 20, 36});
    CHECK(out.image.shape() == Shape{3, 64, 64});
    CHECK(at(out.image, {0, 32, 16}) == Approx(1));  // inside the moved box
    CHECK(at(out.image, {1, 28, 12}) == Approx(1));
    CHECK(at(out.image, {2, 35, 19}) == Approx(1));
    CHECK(at(out.image, {0, 27, 16}) == Approx(0));          // just above it, still inside the shrunk image
    CHECK(at(out.image, {0, 2, 2}) == Approx(114.0 / 255));  // outside the shrunk image: the fill
    // a border crops: the same matrix with a 2s canvas (mosaic-style) -> output 64 - 2 * 16
    const Perspective crop = scale_translate(64, 64, {-16, -16}, 1, 16, 16);
    const Augmented c = apply_perspective(image, labels, crop);
    CHECK(c.image.shape() == Shape{3, 32, 32});
    CHECK(c.labels == BoxLabels{{0, 0, 0, 16, 8}});  // clipped to the output
    // box_candidates: too thin (2 px), too small a share of the area, too elongated
    CHECK(box_candidates({{0, 0, 0, 10, 10}, {0, 0, 0, 10, 10}, {0, 0, 0, 100, 10}, {0, 0, 0, 100, 100}},
                         {{0, 0, 0, 2, 10}, {0, 0, 0, 3, 3}, {0, 0, 0, 100, 4.9}, {0, 0, 0, 50, 50}}) ==
          std::vector<bool>{false, false, false, true});

    // the dataset's left-right flip: with everything else off, the flipped example mirrors the plain one
    TempDir d;
    const auto images = make_images(d, {{32, 64}});
    std::vector<LabeledImage> items = images;
    items[0].labels = {{1, 0.25, 0.5, 0.25, 0.5}};
    AugmentHyp hyp = no_augment();
    DetectionDataset plain(items, {.img_size = 64, .hyp = hyp});
    hyp.fliplr = 1;
    DetectionDataset flipped(items, {.img_size = 64, .hyp = hyp});
    Generator g1(7), g2(7);
    const data::Example a = plain.get(0, g1), b = flipped.get(0, g2);
    CHECK(a[0].shape() == Shape{3, 64, 64});  // letterboxed: 32 rows padded to 64
    CHECK_THAT(b[0], ClosesTo(data::hflip(a[0]), 0, 0));
    // letterbox: y -> 16 + 32 y, so cy 0.5 stays 0.5 and h halves
    CHECK_THAT(a[1], ClosesTo(t32({0, 1, 0.25, 0.5, 0.25, 0.25}, {1, 6}), 1e-6, 0));
    CHECK_THAT(b[1], ClosesTo(t32({0, 1, 0.75, 0.5, 0.25, 0.25}, {1, 6}), 1e-6, 0));
    BoxLabels up = {{1, 0.25, 0.2, 0.1, 0.1}};
    flipud_labels(up);
    CHECK(up[0][2] == Approx(0.8));
}

TEST_CASE("detection data: HSV keeps shape and range; one seed gives one example", "[detection]") {
    Generator g(3);
    const Tensor image = rand({3, 16, 24}, {}, &g);
    AugmentHyp hyp;  // hyp.scratch's gains
    Generator h(1);
    const Tensor out = augment_hsv(image, hyp, h);
    CHECK(out.shape() == image.shape());
    CHECK(min(out).item<double>() >= 0);
    CHECK(max(out).item<double>() <= 1);
    CHECK(max(abs(out - image)).item<double>() > 1e-3);
    Generator h2(1);
    CHECK(augment_hsv(image, no_augment(), h2).data_ptr<float>() == image.data_ptr<float>());  // all gains 0: as is

    TempDir d;
    const auto images = make_images(d, {{48, 64}, {64, 40}, {64, 64}, {30, 64}});
    const DetectionDataset ds(images, {.img_size = 64});
    Generator a(11), b(11), c(12);
    const data::Example ea = ds.get(2, a), eb = ds.get(2, b), ec = ds.get(2, c);
    CHECK_THAT(ea[0], ClosesTo(eb[0], 0, 0));
    CHECK_THAT(ea[1], ClosesTo(eb[1], 0, 0));
    CHECK(max(abs(ea[0] - ec[0])).item<double>() > 1e-3);
}

TEST_CASE("detection data: the collate writes each example's position in column 0", "[detection]") {
    auto example = [](int64_t rows, float cls) {
        std::vector<float> v;
        for (int64_t r = 0; r < rows; ++r)
            for (float x : {0.0f, cls, 0.5f, 0.5f, 0.1f * static_cast<float>(r + 1), 0.1f}) v.push_back(x);
        return data::Example{full({3, 8, 8}, cls), from_vector(v, {rows, 6}), full({6}, cls, {.dtype = kFloat64})};
    };
    const auto batch = detection_collate({example(2, 4), example(0, 5), example(1, 6)});
    REQUIRE(batch.size() == 3);
    CHECK(batch[0].shape() == Shape{3, 3, 8, 8});
    CHECK(at(batch[0], {2, 0, 0, 0}) == 6);
    CHECK_THAT(batch[1], ClosesTo(t32({0, 4, 0.5, 0.5, 0.1f, 0.1f,  //
                                       0, 4, 0.5, 0.5, 0.2f, 0.1f,  //
                                       2, 6, 0.5, 0.5, 0.1f, 0.1f},
                                      {3, 6}),
                                  0, 0));
    CHECK(batch[2].shape() == Shape{3, 6});
    REQUIRE_THROWS_WITH(detection_collate({example(1, 1), data::Example{zeros({3, 4, 8}), zeros({0, 6}), zeros({6})}}),
                        Catch::Contains("image 1 is [3, 4, 8]"));
}

TEST_CASE("detection data: rect validation batches against hand-computed shapes", "[detection]") {
    // YOLOv5's validation at 640, stride 32, pad 0.5, batch 2, sorted ratios h / w: (0.5625, 0.75) -> (0.75, 1) ->
    // ceil(15.5) and ceil(20.5) strides = 512 x 672; (1.0, 4/3) -> (1, 1) -> 672 x 672
    CHECK(rect_batch_shapes({0.5625, 0.75, 1.0, 4.0 / 3}, 2, 640, 32, 0.5) ==
          std::vector<Int2>{{512, 672}, {672, 672}});
    // all wider than tall (ar > 1): (1, 1 / 1.25) -> 672 x ceil(16.5) * 32 = 544; a last, partial batch
    CHECK(rect_batch_shapes({1.25, 1.5, 2.0}, 2, 640, 32, 0.5) == std::vector<Int2>{{672, 544}, {672, 352}});
    CHECK(rect_batch_shapes({0.5, 0.5}, 4, 640, 32, 0.0) == std::vector<Int2>{{320, 640}});

    TempDir d;
    // (h, w): 48 x 64 (0.75), 64 x 48 (4/3), 36 x 64 (0.5625), 50 x 50 (1) at img_size 128:
    // batch 0 = (0.5625, 0.75) -> ceil(3.5) x ceil(4.5) strides = 128 x 160; batch 1 = (1, 4/3) -> 160 x 160
    const auto images = make_images(d, {{48, 64}, {64, 48}, {36, 64}, {50, 50}});
    const DetectionDataset val(images, validation_options(128, 2));
    CHECK(val.batch_shapes() == std::vector<Int2>{{128, 160}, {160, 160}});
    std::vector<std::string> order;
    for (const auto& im : val.images()) order.push_back(fs::path(im.image).stem().string());
    CHECK(order == std::vector<std::string>{"x2", "x0", "x3", "x1"});
    Generator g(0);
    const data::Example e = val.get(0, g);  // 36 x 64 loaded at 72 x 128, padded to 128 x 160
    REQUIRE(e.size() == 3);
    CHECK(e[0].shape() == Shape{3, 128, 160});
    const LetterboxShape s = LetterboxShape::from_tensor(e[2]);
    CHECK(s.height0 == 36);
    CHECK(s.width0 == 64);
    CHECK(s.ratio_h == 2);
    CHECK(s.ratio_w == 2);
    CHECK(s.pad_w == 16);
    CHECK(s.pad_h == 28);
    // the label (2, 0.5, 0.5, 0.5, 0.25) in the input: centre (80, 64), size 64 x 18 of 160 x 128
    CHECK_THAT(e[1], ClosesTo(t32({0, 2, 0.5, 0.5, 0.4, 18.0 / 128}, {1, 6}), 1e-6, 0));
    // scale_coords takes the input box back to the original pixels: x (16 .. 48), y (13.5 .. 22.5)
    const Tensor box = t64({48, 55, 112, 73, 0.9, 2}, {1, 6});
    CHECK_THAT(scale_coords(box, s), ClosesTo(t64({16, 13.5, 48, 22.5, 0.9, 2}, {1, 6}), 1e-12, 0));
    CHECK_THAT(scale_coords(t64({0, 0, 500, 500}, {1, 4}), s), ClosesTo(t64({0, 0, 64, 36}, {1, 4}), 1e-12, 0));
    // the loader with the same batch size and no shuffle gives each batch one shape
    data::DataLoader loader(std::make_shared<DetectionDataset>(images, validation_options(128, 2)), {.batch_size = 2},
                            detection_collate);
    std::vector<Shape> shapes;
    for (auto& batch : loader) shapes.push_back(batch[0].shape());
    CHECK(shapes == std::vector<Shape>{{2, 3, 128, 160}, {2, 3, 160, 160}});
}

TEST_CASE("detection data: the shapes generator is deterministic and its folder reads back", "[detection]") {
    TempDir a, b;
    const ShapesSynthOptions o{.train = 10, .val = 4, .size = 96, .seed = 5, .photos = photos_dir()};
    const ShapesStats stats = generate_shapes(a.path.string(), o);
    generate_shapes(b.path.string(), o);
    CHECK(stats.images == 14);
    CHECK(stats.boxes > 14);
    for (const char* f : {"data.yaml", "labels/train/shapes_00000.txt", "labels/val/shapes_00003.txt",
                          "images/train/shapes_00009.jpg", "images/val/shapes_00000.jpg"}) {
        INFO(f);
        CHECK(read_bytes(a.path / f) == read_bytes(b.path / f));
        CHECK((!read_bytes(a.path / f).empty() || std::string(f).find("labels") != std::string::npos));
    }
    ShapesSynthOptions other = o;
    other.seed = 6;
    TempDir c;
    generate_shapes(c.path.string(), other);
    CHECK(read_bytes(a.path / "images/train/shapes_00000.jpg") != read_bytes(c.path / "images/train/shapes_00000.jpg"));

    const DataYaml y = find_data_yaml(a.path.string());
    CHECK(y.nc == 6);
    CHECK(y.names == shape_class_names());
    const LabelScan train = verify_image_labels(image_files(y.train), {.nc = y.nc, .quiet = true});
    CHECK(train.images.size() == 10);
    CHECK(train.found == 10);
    CHECK(train.corrupt == 0);
    CHECK(train.warnings.empty());
    int64_t boxes = train.instances();
    for (const auto& im : train.images) CHECK(std::max(im.height, im.width) == 96);
    const auto val = make_detection_dataset(y.val, y.nc, validation_options(96, 2), "", true);
    CHECK(val->size() == 4);
    for (const auto& im : val->images()) boxes += static_cast<int64_t>(im.labels.size());
    CHECK(boxes == stats.boxes);
    const DetectionDataset ds(train.images, {.img_size = 96});
    Generator g(0);
    const data::Example ex = ds.get(3, g);
    CHECK(ex[0].shape() == Shape{3, 96, 96});
}
