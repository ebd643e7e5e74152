// apps/generate.cpp — `nabla generate salient|ellipses`: writes the synthetic datasets the trainers use by default
// (apps/salient_synth.h, apps/segmentation_data.h) to a folder of your choice, with preview.png showing the first
// pairs (image above mask), so you can look at what a model will be trained on.
#include <fmt/format.h>

#include <filesystem>

#include "apps/commands.h"
#include "apps/salient_synth.h"
#include "apps/segmentation_data.h"
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
}

}  // namespace nabla::apps
