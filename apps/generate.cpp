// apps/generate.cpp — `nabla generate salient|ellipses|faces|shapes`: writes the synthetic datasets the trainers use
// by default (apps/salient_synth.h, apps/segmentation_data.h, apps/face_synth.h, apps/shapes_synth.h) to a folder of
// your choice, with preview.png showing the first examples (image above mask; for faces, the crops PFLD sees with
// their landmarks in green; for shapes, the pictures letterboxed with their boxes and class names), so you can look at
// what a model will be trained on.
#include <fmt/format.h>

#include <filesystem>

#include "apps/commands.h"
#include "apps/detection_data.h"
#include "apps/face_synth.h"
#include "apps/landmarks_data.h"
#include "apps/salient_synth.h"
#include "apps/segmentation_data.h"
#include "apps/shapes_synth.h"
#include "nn/data/draw.h"
#include "nn/data/image.h"
#include "nn/data/transforms.h"
#include "ops/factory.h"
#include "ops/ops.h"

namespace nabla::apps {
namespace {

void write_preview(const std::string& split_dir, const std::string& png, int64_t count) {
    const auto pairs = find_segmentation_pairs(split_dir);
    std::vector<Tensor> images, masks;
    for (size_t i = 0; i < pairs.size() && static_cast<int64_t>(i) < count; ++i) {
        const Tensor image = data::to_tensor(data::read_image(pairs[i].image, data::ImageMode::RGB));
        const Tensor mask = data::to_tensor(data::read_image(pairs[i].mask, data::ImageMode::Gray));
        images.push_back(image);
        masks.push_back(mask.expand(image.shape()));
    }
    images.insert(images.end(), masks.begin(), masks.end());
    data::save_image(stack(images), png, {.nrow = static_cast<int64_t>(masks.size())});
}

// The first faces' base crops (top row) and one augmented crop of each (bottom row), landmarks in green.
void write_face_preview(const std::string& dir, const std::string& png, int64_t count) {
    const LandmarkData data = find_landmark_data(dir);
    const auto n = std::min<int64_t>(count, static_cast<int64_t>(data.train.size()));
    const std::vector<FaceAnnotation> faces(data.train.begin(), data.train.begin() + n);
    const LandmarkDataset base(faces, {.train = false}), augmented(faces, {.train = true});
    std::vector<Tensor> tiles;
    for (const LandmarkDataset* ds : {&base, &augmented})
        for (int64_t i = 0; i < n; ++i) {
            Generator g(static_cast<uint64_t>(i));
            const FaceCrop crop = ds->crop(i, g);
            const Tensor points = landmarks_to_tensor(crop.points).reshape({kNumLandmarks, 2}) * double(kLandmarkCrop);
            tiles.push_back(data::draw_points(crop.image, points, {0, 1, 0}, 1));
        }
    data::save_image(stack(tiles), png, {.nrow = n});
}

// The first training pictures of a YOLO-layout folder, letterboxed to size x size, with their boxes and class names.
void write_detection_preview(const std::string& dir, const std::string& png, int64_t count, int64_t size) {
    const DataYaml cfg = find_data_yaml(dir);
    std::vector<std::string> files = image_files(cfg.train);
    files.resize(std::min(files.size(), static_cast<size_t>(count)));
    LabelScan scan = verify_image_labels(files, {.nc = cfg.nc, .quiet = true});
    const DetectionDataset ds(std::move(scan.images), {.img_size = size, .augment = false});
    std::vector<Tensor> tiles;
    for (int64_t i = 0; i < ds.size(); ++i) {
        Generator g(0);
        const data::Example ex = ds.get(i, g);
        tiles.push_back(draw_labels(ex[0], ex[1], cfg.names));
    }
    data::save_image(stack(tiles), png, {.nrow = 4});
}

}  // namespace

void add_generate_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("generate", "Write a synthetic dataset (the trainers' default data) to a folder");
    cmd->require_subcommand(1);
    {
        auto o = std::make_shared<SalientSynthOptions>();
        auto out = std::make_shared<std::string>("data/generated/salient");
        auto* sub = cmd->add_subcommand("salient",
                                        "Object, hair and sky masks composited from real photos (u2net, "
                                        "u2netp): <output>/{train,val}/{images,masks}");
        sub->add_option("--output", *out, "Folder to write")->capture_default_str();
        sub->add_option("--photos", o->photos, "Folder of photos to composite")->capture_default_str();
        sub->add_option("--train", o->train, "Training pairs")->capture_default_str();
        sub->add_option("--val", o->val, "Held-out pairs")->capture_default_str();
        sub->add_option("--size", o->size, "Image side in pixels")->capture_default_str();
        sub->add_option("--seed", o->seed, "Seed (the same seed writes the same files)")->capture_default_str();
        sub->callback([o, out] {
            generate_salient_pairs(*out, *o);
            write_preview((std::filesystem::path(*out) / "train").string(), *out + "/preview.png", 8);
            fmt::print("generate: {} + {} pairs in {}; preview {}/preview.png\n", o->train, o->val, *out, *out);
        });
    }
    {
        auto out = std::make_shared<std::string>("data/generated/ellipses");
        auto count = std::make_shared<int64_t>(256);
        auto size = std::make_shared<int64_t>(96);
        auto* sub = cmd->add_subcommand("ellipses",
                                        "Coloured ellipses on textured backgrounds (tinyseg): "
                                        "<output>/{train,val}/{images,masks}");
        sub->add_option("--output", *out, "Folder to write")->capture_default_str();
        sub->add_option("--train", *count, "Training pairs (and an eighth as many held-out)")->capture_default_str();
        sub->add_option("--size", *size, "Image side in pixels")->capture_default_str();
        sub->callback([out, count, size] {
            generate_ellipse_pairs(*out + "/train", *count, *size, 1);
            generate_ellipse_pairs(*out + "/val", std::max<int64_t>(1, *count / 8), *size, 2);
            write_preview(*out + "/train", *out + "/preview.png", 8);
            fmt::print("generate: pairs in {}; preview {}/preview.png\n", *out, *out);
        });
    }
    {
        auto o = std::make_shared<FaceSynthOptions>();
        auto out = std::make_shared<std::string>("data/generated/faces");
        auto* sub = cmd->add_subcommand("faces",
                                        "Synthetic 98-point faces on photo backgrounds (pfld), in WFLW's layout: "
                                        "<output>/WFLW_images, <output>/WFLW_annotations");
        sub->add_option("--output", *out, "Folder to write")->capture_default_str();
        sub->add_option("--photos", o->photos, "Folder of background photos (\"\" for drawn backgrounds)")
            ->capture_default_str();
        sub->add_option("--train", o->train, "Training faces")->capture_default_str();
        sub->add_option("--test", o->test, "Held-out faces")->capture_default_str();
        sub->add_option("--size", o->size, "Picture side in pixels")->capture_default_str();
        sub->add_option("--seed", o->seed, "Seed (the same seed writes the same files)")->capture_default_str();
        sub->callback([o, out] {
            generate_faces(*out, *o);
            write_face_preview(*out, *out + "/preview.png", 8);
            fmt::print("generate: {} + {} faces in {}; preview {}/preview.png\n", o->train, o->test, *out, *out);
        });
    }
    {
        auto o = std::make_shared<ShapesSynthOptions>();
        auto out = std::make_shared<std::string>("data/generated/shapes");
        auto* sub = cmd->add_subcommand("shapes",
                                        "Circles, squares, triangles, stars, textured patches and photo prints on "
                                        "photo crops (yolov5*), in the YOLO layout: <output>/data.yaml, "
                                        "<output>/{images,labels}/{train,val}");
        sub->add_option("--output", *out, "Folder to write")->capture_default_str();
        sub->add_option("--photos", o->photos, "Folder of photos (backgrounds and prints)")->capture_default_str();
        sub->add_option("--train", o->train, "Training pictures")->capture_default_str();
        sub->add_option("--val", o->val, "Validation pictures")->capture_default_str();
        sub->add_option("--size", o->size, "Long side of the pictures in pixels")->capture_default_str();
        sub->add_option("--classes", o->classes,
                        "Number of classes (the first of circle, square, triangle, star, "
                        "patch, photo)")
            ->capture_default_str();
        sub->add_option("--max-objects", o->max_objects, "Objects per picture at most")->capture_default_str();
        sub->add_option("--seed", o->seed, "Seed (the same seed writes the same files)")->capture_default_str();
        sub->callback([o, out] {
            const ShapesStats s = generate_shapes(*out, *o);
            write_detection_preview(*out, *out + "/preview.png", 16, o->size);
            fmt::print(
                "generate: {} pictures ({} + {}), {} boxes, {} backgrounds, {} hidden objects unlabelled in {}; "
                "preview {}/preview.png\n",
                s.images, o->train, o->val, s.boxes, s.backgrounds, s.hidden, *out, *out);
        });
    }
}

}  // namespace nabla::apps
