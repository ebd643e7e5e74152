// tests/apps/test_detection_train.cpp — `nabla train yolov5*` (apps/detection_train.h): ultralytics' three parameter
// groups, the lr lambdas of train.py by hand, and a short run on generated shapes in which the loss falls and the
// run directory holds the log with the validation metrics and a checkpoint that `nabla val` reads.
#include <filesystem>

#include "apps/csv_log.h"
#include "apps/detection.h"
#include "apps/detection_train.h"
#include "apps/models.h"
#include "apps/shapes_synth.h"
#include "models/yolo/yolo.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace nabla::apps;

TEST_CASE("yolo train: ultralytics' parameter groups and lr lambdas", "[detection_train]") {
    models::YOLOv5 model("yolov5s");
    const ParamGroups g = yolo_param_groups(model);
    REQUIRE(g.bn_weights.size() == 57);  // train.py's log for yolov5s: 57 / 60 / 60
    REQUIRE(g.weights.size() == 60);
    REQUIRE(g.biases.size() == 60);
    int64_t n = 0;
    for (const auto* group : {&g.bn_weights, &g.weights, &g.biases})
        for (const Tensor& p : *group) n += p.numel();
    REQUIRE(n == model.num_parameters());
    // cosine: ((1 - cos(pi e / E)) / 2) (lrf - 1) + 1; linear: (1 - e / (E - 1)) (1 - lrf) + lrf
    REQUIRE(yolo_lr_lambda(0, 300, 0.1, false) == Approx(1.0));
    REQUIRE(yolo_lr_lambda(150, 300, 0.1, false) == Approx(0.55));
    REQUIRE(yolo_lr_lambda(300, 300, 0.1, false) == Approx(0.1));
    REQUIRE(yolo_lr_lambda(0, 11, 0.1, true) == Approx(1.0));
    REQUIRE(yolo_lr_lambda(5, 11, 0.1, true) == Approx(0.55));
    REQUIRE(yolo_lr_lambda(10, 11, 0.1, true) == Approx(0.1));
}

TEST_CASE("yolo train: a short run on generated shapes; the loss falls and val reads the checkpoint",
          "[detection_train]") {
    TempDir dir;
    generate_shapes(dir.file("shapes"), {.train = 32,
                                         .val = 8,
                                         .size = 128,
                                         .classes = 3,
                                         .seed = 2,
                                         .photos = std::string(NABLA_SOURCE_DIR) + "/data/photos"});
    DetectionTrainOptions o;
    o.model = "yolov5n";
    o.data = dir.file("shapes");
    o.img_size = 128;
    o.train.epochs = 3, o.train.batch = 8, o.train.workers = 0, o.train.seed = 1;
    o.train.output = dir.file("run");
    const TrainResult r = train_detection(o);
    REQUIRE(r.epochs_completed == 3);
    REQUIRE(r.steps == 12);  // within the 1000-iteration warmup the accumulation is still 1 batch per step
    REQUIRE(r.last_loss < r.first_loss);
    const auto log = CsvLog((fs::path(r.run_dir) / "results.csv").string()).read();
    for (const char* column :
         {"train/box_loss", "train/obj_loss", "train/cls_loss", "metrics/mAP_0.5", "metrics/mAP_0.5:0.95", "fitness"}) {
        INFO(column);
        REQUIRE(log.column(column).size() == 3);
    }
    REQUIRE(fs::exists(fs::path(r.run_dir) / "samples" / "epoch_003.png"));
    const auto loaded =
        load_detector("yolov5n", (fs::path(r.run_dir) / "weights" / "best.safetensors").string(), dir.file("shapes"));
    REQUIRE(loaded.names.size() == 3);
}
