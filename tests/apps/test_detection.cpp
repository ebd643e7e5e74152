// tests/apps/test_detection.cpp — apps/detection.h (docs/yolo_val.md): the confusion matrix on a hand-made image
// (correct, confused, missed, background), val.py's stats on hand predictions (a perfect set gives P = R = 1 and
// ultralytics' 0.995 AP; a miss and a false positive give the AP worked out by hand), the validation loop with a model
// that replays the labels as its predictions through rect batches and the scale-back, detect.py's letterbox and its
// scale-back, the label-file lines, nc read from weights, and a random narrow yolov5n run end to end through
// `nabla detect` and `nabla val` on generated shapes.
#include <deque>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/detection.h"
#include "apps/detection_data.h"
#include "apps/models.h"
#include "apps/shapes_synth.h"
#include "nn/data/functional.h"
#include "nn/data/image.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace nabla::apps;

namespace {

std::string photos_dir() { return std::string(NABLA_SOURCE_DIR) + "/data/photos"; }

// A grey PNG of h x w.
void write_image(const std::string& path, int64_t h, int64_t w) {
    fs::create_directories(fs::path(path).parent_path());
    data::write_png(path, full({3, h, w}, 90, {.dtype = kUInt8}));
}

std::string read_text(const std::string& path) {
    std::ifstream f(path);
    return {std::istreambuf_iterator<char>(f), {}};
}

// A model whose eval output is whatever the test queued, one tensor per call (the labels, as decoded rows).
class ReplayModel : public nn::Module {
public:
    std::deque<Tensor> outputs;
    std::vector<Tensor> forward_outputs(const Tensor& x) override {
        REQUIRE(!outputs.empty());
        Tensor out = outputs.front();
        outputs.pop_front();
        REQUIRE(out.size(0) == x.size(0));
        return {out};
    }
};

// The batch's targets [n, 6] (image, class, cx, cy, w, h normalised to the input) as decoded rows [B, rows, 5 + nc]
// in input pixels with objectness 1 and a one-hot class; rows an image does not use stay 0 (objectness 0).
Tensor rows_from_targets(const Tensor& images, const Tensor& targets, int64_t nc) {
    const int64_t B = images.size(0), H = images.size(2), W = images.size(3), n = targets.size(0);
    const Tensor t = targets.to(kFloat64).contiguous();
    const double* p = t.data_ptr<double>();
    std::vector<int64_t> used(static_cast<size_t>(B), 0);
    const int64_t rows = std::max<int64_t>(n, 1), no = 5 + nc;
    std::vector<double> v(static_cast<size_t>(B * rows * no), 0.0);
    for (int64_t i = 0; i < n; ++i) {
        const auto b = static_cast<int64_t>(p[6 * i]);
        double* r = v.data() + (b * rows + used[b]++) * no;
        r[0] = p[6 * i + 2] * W, r[1] = p[6 * i + 3] * H, r[2] = p[6 * i + 4] * W, r[3] = p[6 * i + 5] * H;
        r[4] = 1.0;
        r[5 + static_cast<int64_t>(p[6 * i + 1])] = 1.0;
    }
    return from_vector(v, {B, rows, no}).to(kFloat32);
}

// Runs `nabla ARGS...` with the detection commands only.
void run(std::vector<std::string> args) {
    CLI::App app{"nabla"};
    app.require_subcommand(1);
    add_detection_commands(app);
    std::reverse(args.begin(), args.end());  // CLI11 takes them last-first
    app.parse(args);
}

}  // namespace

TEST_CASE("detection val: the confusion matrix of one hand-made image", "[detection]") {
    ConfusionMatrix cm(2);  // conf 0.25, IoU 0.45
    const Tensor labels = t64({0, 0, 0, 10, 10, 1, 20, 20, 30, 30, 1, 40, 40, 50, 50}, {3, 5});
    const Tensor dets = t64({0,  0,  10, 10, 0.9, 0,   // label 0, right class
                             20, 20, 30, 30, 0.8, 0,   // label 1 (class 1) taken for class 0
                             60, 60, 70, 70, 0.7, 1,   // nothing there: background
                             0,  0,  10, 10, 0.1, 1},  // below conf: ignored
                            {4, 6});
    cm.process_batch(dets, labels);
    CHECK(cm.at(0, 0) == 1);
    CHECK(cm.at(0, 1) == 1);
    CHECK(cm.at(2, 1) == 1);  // label 2 missed
    CHECK(cm.at(1, 2) == 1);  // a class-1 detection of background
    int64_t total = 0;
    for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 3; ++j) total += cm.at(i, j);
    CHECK(total == 4);
    const std::vector<double> v = cm.normalized();  // columns sum to 1
    CHECK(v[0 * 3 + 1] == Approx(0.5));
    CHECK(v[2 * 3 + 1] == Approx(0.5));
    CHECK(v[1 * 3 + 2] == Approx(1.0));
    // an image without labels: every detection above conf is background
    cm.process_batch(dets, t64({}, {0, 5}));
    CHECK(cm.at(0, 2) == 2);
    CHECK(cm.at(1, 2) == 2);

    TempDir d;
    plot_confusion_matrix(cm, {"cat", "dog"}, d.file("cm.png"));
    const Tensor png = data::read_image(d.file("cm.png"));
    CHECK(png.size(0) == 3);
    CHECK(png.size(1) > 100);
}

TEST_CASE("detection val: stats of hand predictions, perfect and not", "[detection]") {
    // predictions equal to the labels: P = R = 1 and AP 0.995 at every threshold (the 101-point integral ends at
    // recall 1 with the sentinel precision 0: ultralytics' best AP)
    DetectionStats perfect;
    perfect.update(t64({10, 10, 30, 40, 0.9, 0, 50, 50, 60, 70, 0.8, 1}, {2, 6}),
                   t64({0, 10, 10, 30, 40, 1, 50, 50, 60, 70}, {2, 5}));
    perfect.update(t64({5, 5, 15, 15, 0.7, 1}, {1, 6}), t64({1, 5, 5, 15, 15}, {1, 5}));
    perfect.update(t64({}, {0, 6}), t64({}, {0, 5}));  // a background image with nothing found
    const DetectionValResult r = detection_results(perfect, {"cat", "dog"});
    CHECK(r.images == 3);
    CHECK(r.labels == 3);
    CHECK(r.mp == Approx(1.0));
    CHECK(r.mr == Approx(1.0));
    CHECK(r.map50 == Approx(0.995).epsilon(1e-12));
    CHECK(r.map == Approx(0.995).epsilon(1e-12));
    REQUIRE(r.classes.size() == 2);
    CHECK(r.classes[1].name == "dog");
    CHECK(r.classes[1].labels == 2);
    CHECK(r.classes[1].ap50 == Approx(0.995));
    CHECK(detection_val_table(r).find("                 all          3          3          1          1      0.995"
                                      "      0.995") != std::string::npos);

    // one class, two images: a hit (0.9) and a false positive (0.8) in the first, the second label missed.
    // recall [0.5, 0.5], precision [1, 0.5]: the envelope is 1 up to recall 0.49, 0.5 at 0.5, then falls linearly to
    // 0 at 1: AP = 0.49 + 0.0075 + 0.125 = 0.6225. P and R at the best F1: R 0.5 with P just under 1 (score 0.8999).
    DetectionStats s;
    s.update(t64({0, 0, 10, 10, 0.9, 0, 50, 50, 60, 60, 0.8, 0}, {2, 6}), t64({0, 0, 0, 10, 10}, {1, 5}));
    s.update(t64({}, {0, 6}), t64({0, 20, 20, 30, 30}, {1, 5}));
    const DetectionValResult h = detection_results(s, {});
    CHECK(h.map50 == Approx(0.6225).margin(1e-9));
    CHECK(h.mr == Approx(0.5));
    CHECK(h.mp == Approx(0.9995).margin(1e-3));
    CHECK(h.classes.at(0).name == "0");

    // no correct detection at all: every number 0, the classes still listed
    DetectionStats wrong;
    wrong.update(t64({0, 0, 10, 10, 0.9, 1}, {1, 6}), t64({0, 0, 0, 10, 10}, {1, 5}));
    const DetectionValResult z = detection_results(wrong, {"a", "b"});
    CHECK(z.map50 == 0);
    CHECK(z.classes.size() == 1);

    TempDir d;
    plot_pr_curve(s, {"cat"}, d.file("pr.png"));
    CHECK(data::read_image(d.file("pr.png")).size(0) == 3);
}

TEST_CASE("detection val: predictions equal to the labels through rect batches and scale_coords", "[detection]") {
    TempDir d;
    // three images of three aspect ratios: rect batches [wide, square] and [tall] at 64 with a batch size of 2
    std::vector<LabeledImage> images{
        {.image = d.file("a.png"),
         .height = 40,
         .width = 64,
         .labels = {{0, 0.5, 0.5, 0.5, 0.5}, {1, 0.2, 0.3, 0.2, 0.2}}},
        {.image = d.file("b.png"), .height = 64, .width = 48, .labels = {{1, 0.5, 0.5, 0.4, 0.6}}},
        {.image = d.file("c.png"), .height = 50, .width = 50, .labels = {}},
    };
    for (const auto& im : images) write_image(im.image, im.height, im.width);
    auto set = std::make_shared<DetectionDataset>(images, validation_options(64, 2));
    data::DataLoader loader(set, {.batch_size = 2}, detection_collate);
    ReplayModel model;
    std::vector<Shape> shapes;
    for (auto& batch : loader) {
        model.outputs.push_back(rows_from_targets(batch[0], batch[1], 2));
        shapes.push_back(batch[0].shape());
    }
    CHECK(shapes.size() == 2);
    model.train();
    const DetectionValResult r = validate_detection(model, loader, 2, {"cat", "dog"}, {.description = ""});
    CHECK(model.is_training());  // restored
    CHECK(r.images == 3);
    CHECK(r.labels == 3);
    CHECK(r.mp == Approx(1.0));
    CHECK(r.mr == Approx(1.0));
    CHECK(r.map50 == Approx(0.995));
    CHECK(r.map == Approx(0.995));
    CHECK(r.input_shape == shapes[0]);
    CHECK(r.confusion.at(0, 0) == 1);
    CHECK(r.confusion.at(1, 1) == 2);
    CHECK(r.confusion.at(2, 0) + r.confusion.at(2, 1) + r.confusion.at(0, 2) + r.confusion.at(1, 2) == 0);

    plot_detection_val(r, {"cat", "dog"}, d.file("val"));
    CHECK(fs::file_size(d.file("val/PR_curve.png")) > 0);
    CHECK(fs::file_size(d.file("val/confusion_matrix.png")) > 0);
    const auto j = nlohmann::json::parse(detection_val_json(r));
    CHECK(j["mAP@.5"].get<double>() == Approx(0.995));
    CHECK(j["classes"]["dog"]["labels"].get<int64_t>() == 2);
}

TEST_CASE("detect: letterbox and scale-back, label-file lines, nc from weights", "[detection]") {
    // a 60 x 100 image with a white block at x [20, 60), y [10, 40)
    Tensor image = full({3, 60, 100}, 0.2, {.dtype = kFloat32});
    image.narrow(1, 10, 30).narrow(2, 20, 40).fill_(1.0);
    // detect.py: long side to 64, the short side padded to a multiple of 32: 64 x round(38.4) = 38 + 26 rows
    const DetectInput in = detect_input(image, 64, 32, true);
    CHECK(in.image.shape() == Shape{3, 64, 64});
    CHECK(in.shape.height0 == 60);
    CHECK(in.shape.width0 == 100);
    CHECK(in.shape.ratio_w == Approx(0.64));
    CHECK(in.shape.pad_w == Approx(0.0));
    CHECK(in.shape.pad_h == Approx(12.8));  // (64 - 60 * 0.64) / 2, as detect.py's scale_coords recomputes it
    // the block lands at x [12.8, 38.4), y [12.8 + 6.4, 12.8 + 25.6) in the input (within the letterbox's rounding)
    CHECK(in.image.select(0, 0).select(0, 5).select(0, 2).item<double>() == Approx(114.0 / 255).margin(1e-6));
    CHECK(in.image.select(0, 0).select(0, 28).select(0, 25).item<double>() == Approx(1.0).margin(1e-3));
    const Tensor box_in = t64({20 * 0.64, 12.8 + 10 * 0.64, 60 * 0.64, 12.8 + 40 * 0.64, 0.9, 1}, {1, 6});
    CHECK_THAT(scale_coords(box_in, in.shape), ClosesTo(t64({20, 10, 60, 40, 0.9, 1}, {1, 6}), 1e-9, 0));
    // outside the image: clipped to it
    CHECK_THAT(scale_coords(t64({-5, 0, 70, 64}, {1, 4}), in.shape), ClosesTo(t64({0, 0, 100, 60}, {1, 4}), 1e-9, 0));
    // square without auto padding
    CHECK(detect_input(image, 64, 32, false).image.shape() == Shape{3, 64, 64});
    CHECK(detect_input(image, 128, 32, true).image.shape() == Shape{3, 96, 128});

    // labels/<stem>.txt: class, centre and size normalised by the image, %g; the confidence with save_conf
    const Tensor dets = t64({10, 20, 30, 60, 0.5, 2, 0, 0, 200, 100, 0.25, 0}, {2, 6});
    CHECK(detection_txt(dets, 100, 200, false) == "2 0.1 0.4 0.1 0.4\n0 0.5 0.5 1 1\n");
    CHECK(detection_txt(dets, 100, 200, true) == "2 0.1 0.4 0.1 0.4 0.5\n0 0.5 0.5 1 1 0.25\n");
    CHECK(detection_txt(t64({}, {0, 6}), 100, 200, true).empty());

    auto net = find_model("yolov5n").make(ModelArgs({"nc=3", "width_multiple=0.125"}));
    CHECK(yolo_nc_from_state_dict(net->state_dict()) == 3);
    CHECK_THROWS_WITH(yolo_nc_from_state_dict({}), Catch::Contains("no Detect anchors"));
}

TEST_CASE("detect and val: a random narrow yolov5n end to end on generated shapes", "[detection]") {
    TempDir d;
    generate_shapes(
        d.file("shapes"),
        {.train = 1, .val = 2, .size = 96, .classes = 3, .max_objects = 2, .seed = 3, .photos = photos_dir()});
    auto net = find_model("yolov5n").make(ModelArgs({"nc=3", "width_multiple=0.125"}));
    const std::string w = d.file("w.safetensors");
    save_safetensors(w, net->state_dict());

    // the inference size: as given, else the size the weights were trained at (their config), else 640
    CHECK(load_detector("yolov5n", w).img_size == 0);
    CHECK(inference_size(0, load_detector("yolov5n", w)) == 640);
    const std::string trained = d.file("trained.safetensors");
    save_safetensors(trained, net->state_dict(), {{"config", R"({"img_size": 64})"}});
    CHECK(inference_size(0, load_detector("yolov5n", trained)) == 64);
    CHECK(inference_size(96, load_detector("yolov5n", trained)) == 96);

    // nc and the widths come from the weights; the names from the data yaml, else the class numbers
    CHECK(load_detector("yolov5n", w).names == std::vector<std::string>{"0", "1", "2"});
    CHECK(load_detector("yolov5n", w, d.file("shapes")).names ==
          std::vector<std::string>{"circle", "square", "triangle"});
    std::ofstream(d.file("shapes/five.yaml")) << "train: images/train\nval: images/val\nnc: 5\n";
    CHECK_THROWS_WITH(load_detector("yolov5n", w, d.file("shapes/five.yaml")), Catch::Contains("nc=5 but the weights"));
    CHECK_THROWS_WITH(load_detector("yolov5m", w), Catch::Contains("the weights do not fit yolov5m"));

    // conf 0: every row passes the objectness test, so the untrained net gives boxes to check the files with
    const std::vector<DetectResult> results = detect({.model = "yolov5n",
                                                      .weights = w,
                                                      .source = d.file("shapes/images/val"),
                                                      .data = d.file("shapes"),
                                                      .img_size = 96,
                                                      .conf_thres = 0.0,
                                                      .save_txt = true,
                                                      .save_conf = true,
                                                      .output = d.file("out")});
    REQUIRE(results.size() == 2);
    for (const DetectResult& r : results) {
        INFO(r.image);
        const Tensor original = data::read_image(r.image);
        CHECK(data::read_image(r.picture).shape() == original.shape());
        CHECK(fs::path(r.label_file) == fs::path(d.file("out/labels")) / (fs::path(r.image).stem().string() + ".txt"));
        REQUIRE(r.detections.size(0) > 0);
        std::istringstream lines(read_text(r.label_file));
        std::string line;
        int64_t count = 0;
        while (std::getline(lines, line)) {
            std::istringstream fields(line);
            std::vector<double> v;
            for (double x; fields >> x;) v.push_back(x);
            REQUIRE(v.size() == 6);
            CHECK((v[0] == 0 || v[0] == 1 || v[0] == 2));
            for (int k = 1; k < 5; ++k) CHECK((v[k] >= 0 && v[k] <= 1));
            CHECK((v[5] > 0 && v[5] <= 1));
            ++count;
        }
        CHECK(count == r.detections.size(0));
    }
    // the default threshold: a label file for every image, possibly empty, one line per detection
    run({"detect", "yolov5n", "--weights", w, "--source", d.file("shapes/images/val"), "--img-size", "96", "--save-txt",
         "--output", d.file("cli")});
    for (const auto& e : fs::directory_iterator(d.file("shapes/images/val"))) {
        const std::string stem = e.path().stem().string();
        CHECK(fs::exists(d.file("cli/" + stem + ".png")));
        CHECK(fs::exists(d.file("cli/labels/" + stem + ".txt")));
    }

    // `nabla val`: the table and JSON printed, the plots and results.json written
    run({"val", "yolov5n", "--weights", w, "--data", d.file("shapes"), "--img-size", "96", "--batch", "2", "--workers",
         "0", "--output", d.file("val")});
    for (const char* f : {"val/PR_curve.png", "val/confusion_matrix.png", "val/results.json"}) {
        INFO(f);
        CHECK(fs::exists(d.file(f)));
    }
    const auto j = nlohmann::json::parse(read_text(d.file("val/results.json")));
    CHECK(j["images"].get<int64_t>() == 2);
    CHECK(j["mAP@.5"].get<double>() >= 0);
}
