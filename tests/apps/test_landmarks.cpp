// tests/apps/test_landmarks.cpp — `nabla train|eval|predict pfld` (apps/landmarks.h): the scores against
// hand-computed values, the --box parser, and a short run end to end on generated faces — the loss falls, the run
// directory has its log with the validation NME, the evaluation scores the held-out faces and draws the CED, and
// prediction writes 98 points per image, on a crop and with a face box.
#include <filesystem>
#include <fstream>

#include "apps/csv_log.h"
#include "apps/face_synth.h"
#include "apps/landmarks.h"
#include "apps/landmarks_data.h"
#include "nn/data/image.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace nabla::apps;

TEST_CASE("landmarks: NME, FR and AUC overall and per attribute, by hand", "[landmarks]") {
    // CED steps up at 0.05 and 0.08 (0.2 is a failure): AUC = ((0.1 - 0.05) + (0.1 - 0.08)) / 3 / 0.1 = 0.2333
    const std::vector<double> nmes = {0.05, 0.2, 0.08};
    const std::vector<std::array<int64_t, 6>> attrs = {{1, 0, 0, 0, 0, 0}, {1, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 0}};
    const LandmarkEvalResult r = landmark_scores(nmes, attrs);
    REQUIRE(r.all.faces == 3);
    REQUIRE(r.all.nme == Approx(0.11));
    REQUIRE(r.all.failure_rate == Approx(1.0 / 3));
    REQUIRE(r.all.auc == Approx(0.07 / 3 / 0.1).margin(1e-3));
    REQUIRE(r.subsets.size() == 2);  // attributes that no face carries are left out
    REQUIRE(r.subsets[0].first == "pose");
    REQUIRE(r.subsets[0].second.faces == 2);
    REQUIRE(r.subsets[0].second.nme == Approx(0.125));
    REQUIRE(r.subsets[0].second.failure_rate == Approx(0.5));
    REQUIRE(r.subsets[1].first == "blur");
    REQUIRE(r.subsets[1].second.auc == Approx(0.0).margin(1e-12));
    REQUIRE_THROWS_WITH(landmark_scores({0.1}, {}), Catch::Contains("1 NMEs for 0 faces"));
}

TEST_CASE("landmarks: --box is x1,y1,x2,y2 in pixels", "[landmarks]") {
    REQUIRE(parse_face_box("10,20.5,110,140") == FaceBox{10, 20.5, 110, 140});
    for (const char* bad : {"10,20,110", "10,20,110,140,5", "a,b,c,d", "10,20,5,140", ""}) {
        INFO(bad);
        REQUIRE_THROWS_WITH(parse_face_box(bad), Catch::Contains("--box"));
    }
}

TEST_CASE("landmarks: train, eval and predict pfld on generated faces", "[landmarks]") {
    TempDir dir;
    generate_faces(dir.file("faces"), {.train = 48, .test = 8, .size = 128, .seed = 3, .photos = ""});
    LandmarkTrainOptions o;
    o.data = dir.file("faces");
    o.lr = 1e-3;
    o.set = {"width=0.25"};
    o.train.epochs = 3, o.train.batch = 16, o.train.workers = 0, o.train.seed = 1;
    o.train.output = dir.file("run");
    const TrainResult r = train_landmarks(o);
    REQUIRE(r.steps == 9);
    REQUIRE(r.last_loss < r.first_loss);
    const fs::path run = r.run_dir;
    for (const char* f : {"weights/last.safetensors", "weights/best.safetensors", "results.csv", "results.png",
                          "samples/epoch_003.png"}) {
        INFO(f);
        REQUIRE(fs::exists(run / f));
    }
    const auto log = CsvLog((run / "results.csv").string()).read();
    for (const char* column : {"train/l2", "val/loss", "val/nme", "val/fr", "val/auc"}) {
        INFO(column);
        REQUIRE(log.column(column).size() == 3);
    }

    const std::string best = (run / "weights" / "best.safetensors").string();
    const LandmarkEvalResult e = evaluate_landmarks(best, o.data, dir.file("ced.png"), o.set);
    REQUIRE(e.all.faces == 8);
    REQUIRE(e.nmes.size() == 8);
    REQUIRE(std::isfinite(e.all.nme));
    REQUIRE(e.all.nme == Approx(log.column("val/nme")[static_cast<size_t>(r.epochs_completed) - 1]).epsilon(0.5));
    REQUIRE(fs::exists(dir.file("ced.png")));

    // A generated picture with its face box, and the same face's crop as an image of its own.
    const LandmarkData d = find_landmark_data(o.data);
    const FaceAnnotation& face = d.test[0];
    fs::create_directories(dir.file("crops"));
    LandmarkDataset test(d.test, {});
    Generator gen(0);
    data::write_png(dir.file("crops/face.png"), data::to_uint8(test.crop(0, gen).image));
    const FaceBox box = {static_cast<double>(face.box[0]), static_cast<double>(face.box[1]),
                         static_cast<double>(face.box[2]), static_cast<double>(face.box[3])};
    REQUIRE(predict_landmarks(best, face.image, dir.file("boxed"), box, o.set) == 1);
    REQUIRE(predict_landmarks(best, dir.file("crops"), dir.file("cropped"), std::nullopt, o.set) == 1);
    const std::string stem = fs::path(face.image).stem().string();
    for (const std::string& txt : {dir.file("boxed/" + stem + ".txt"), dir.file("cropped/face.txt")}) {
        INFO(txt);
        std::ifstream in(txt);
        int lines = 0;
        double x = 0, y = 0;
        while (in >> x >> y) ++lines;
        REQUIRE(lines == 98);
    }
    REQUIRE(fs::exists(dir.file("boxed/" + stem + "_landmarks.png")));
    REQUIRE(fs::exists(dir.file("cropped/face_landmarks.png")));
}
