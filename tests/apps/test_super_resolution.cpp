// tests/apps/test_super_resolution.cpp — the super-resolution data path: the two degradations, HR/LR crops,
// unreadable or too-small images skipped by name, and tiled upscaling equal to whole-image upscaling for a local
// model, whatever the tile grid, and the same for PANet whether tiles go one or several at a time; the default
// held-out split, and `nabla eval panet` scoring a folder next to bicubic, with the network's --set read back from the
// weights file when not given again.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "apps/models.h"
#include "apps/super_resolution.h"
#include "apps/super_resolution_data.h"
#include "models/panet/panet.h"
#include "nn/data/functional.h"
#include "nn/data/image.h"
#include "nn/metrics.h"
#include "nn/safetensors.h"
#include "nn/upsampling.h"
#include "support/support.h"

using namespace nabla::apps;

TEST_CASE("super-resolution: max-pool and bicubic degradations", "[sr]") {
    const Tensor hr = t32({-1, 0.5f, 0, 0, 1, -0.5f, 0, 0.25f}, {1, 2, 4});
    const Tensor lr = degrade(hr, Degradation::MaxPool);
    REQUIRE_THAT(lr, ClosesTo(t32({1, 0.25f}, {1, 1, 2}), 0, 0));
    const Tensor flat = full({3, 8, 6}, 0.5);
    REQUIRE_THAT(degrade(flat, Degradation::Bicubic), ClosesTo(full({3, 4, 3}, 0.5), 1e-6, 0));  // constant stays
    REQUIRE_THROWS_WITH(degrade(zeros({3, 5, 4}), Degradation::MaxPool), Catch::Contains("even"));
    REQUIRE(parse_degradation("bicubic") == Degradation::Bicubic);
    REQUIRE_THROWS_WITH(parse_degradation("nearest"), Catch::Contains("maxpool or bicubic"));
}

TEST_CASE("super-resolution: crops, and unreadable or small images skipped", "[sr]") {
    TempDir d;
    data::write_png(d.file("a.png"), full({3, 40, 50}, 200, {.dtype = kUInt8}));
    data::write_png(d.file("small.png"), full({3, 10, 10}, 7, {.dtype = kUInt8}));
    std::ofstream(d.file("broken.png")) << "not a png at all";
    std::vector<std::string> names;
    const auto images = load_sr_images(d.path.string(), 16, &names);
    REQUIRE(images.size() == 1);
    REQUIRE(names[0] == d.file("a.png"));
    SRDataset ds(images, 16, Degradation::MaxPool, /*train=*/true, 3);
    REQUIRE(ds.size() == 3);
    Generator g(0);
    const auto ex = ds.get(2, g);
    REQUIRE(ex[0].shape() == Shape{3, 8, 8});
    REQUIRE(ex[1].shape() == Shape{3, 16, 16});
    REQUIRE_THAT(ex[1], ClosesTo(full({3, 16, 16}, 200.0 / 255 * 2 - 1), 1e-6, 0));  // [-1, 1]
    REQUIRE_THROWS_WITH(load_sr_images(d.file("nothing"), 16), Catch::Contains("nothing"));
    REQUIRE_THROWS_WITH(load_sr_images(d.path.string(), 16, nullptr, /*strict=*/true),
                        Catch::Contains("broken.png") && Catch::EndsWith("(--strict-data)"));
}

TEST_CASE("super-resolution: tiled upscaling equals whole-image upscaling for a local model", "[sr]") {
    nn::Upsample up({.scale_factor = 2.0, .mode = InterpolateMode::Nearest});
    Generator g(3);
    for (auto [h, w, tile, overlap, batch] : std::vector<std::array<int64_t, 5>>{
             {37, 23, 16, 4, 4}, {37, 23, 16, 4, 1}, {16, 16, 16, 4, 3}, {9, 30, 8, 0, 2}}) {
        INFO(h << "x" << w << " tile " << tile << " overlap " << overlap << " batch " << batch);
        const Tensor lr = rand({3, h, w}, {}, &g);
        const Tensor whole = up(lr.unsqueeze(0)).squeeze(0);
        REQUIRE_THAT(upscale_tiled(up, lr, {tile, overlap, batch}), ClosesTo(whole, 1e-6, 0));
    }
    REQUIRE_THROWS_WITH(upscale_tiled(up, zeros({3, 9, 9}), {8, 8, 1}),
                        Catch::Contains("got tile 8, overlap 8, batch 1"));
    REQUIRE_THROWS_WITH(upscale_tiled(up, zeros({1, 3, 9, 9})), Catch::Contains("[1, 3, 9, 9]"));
}

TEST_CASE("super-resolution: PANet's tiles give the same picture one at a time or batched", "[sr]") {
    manual_seed(0);
    models::PANet net({.channels = 8, .blocks = 2, .level = 2});
    net.eval();  // in eval mode a tile sees only itself, so batching must not change a pixel beyond rounding
    const Tensor lr = rand({3, 30, 41}) * 2 - 1;
    const Tensor one = upscale_tiled(net, lr, {16, 4, 1});
    REQUIRE(one.shape() == Shape{3, 60, 82});
    REQUIRE_THAT(upscale_tiled(net, lr, {16, 4, 4}), ClosesTo(one, 1e-5, 0));
    REQUIRE_THAT(upscale_tiled(net, lr, {16, 4, 5}), ClosesTo(one, 1e-5, 0));  // 12 tiles: a short last batch
}

TEST_CASE("super-resolution: the default split holds out every fourth photo and never the silhouette", "[sr]") {
    const std::vector<std::string> paths{"p/a.jpg", "p/b.jpg", "p/c.jpg", "p/d.jpg", "p/horse_silhouette.png",
                                         "p/e.jpg", "p/f.jpg", "p/g.jpg"};
    std::vector<std::string> train, held_out, all;
    for (size_t i = 0; i < paths.size(); ++i) {
        if (in_split(SRSplit::Train, i, paths[i])) train.push_back(paths[i]);
        if (in_split(SRSplit::HeldOut, i, paths[i])) held_out.push_back(paths[i]);
        if (in_split(SRSplit::All, i, paths[i])) all.push_back(paths[i]);
    }
    REQUIRE(held_out == std::vector<std::string>{"p/d.jpg", "p/g.jpg"});
    REQUIRE(train == std::vector<std::string>{"p/a.jpg", "p/b.jpg", "p/c.jpg", "p/e.jpg", "p/f.jpg"});
    REQUIRE(all.size() == paths.size());
    REQUIRE(parse_split("held-out") == SRSplit::HeldOut);
    REQUIRE_THROWS_WITH(parse_split("test"), Catch::Contains("'test'") && Catch::Contains("held-out"));
}

TEST_CASE("super-resolution: eval panet scores the held-out images next to bicubic and saves comparisons", "[sr]") {
    TempDir d, out;
    Generator g(5);
    std::vector<Tensor> images;
    for (const char* name : {"a", "b", "c", "d"}) {  // d is the held-out one
        images.push_back((rand({3, 36, 42}, {}, &g) * 255.0).to(kUInt8));
        data::write_png(d.file(std::string(name) + ".png"), images.back());
    }
    const std::vector<std::string> set{"channels=8", "blocks=2", "level=2"};
    apps::ModelArgs args(set);
    auto model = apps::find_model("panet").make(args);
    save_safetensors(out.file("w.safetensors"), model->state_dict());

    const auto r = evaluate_panet(set, out.file("w.safetensors"), d.path.string(), SRSplit::HeldOut, "maxpool",
                                  {.tile = 12}, out.file("pictures"));
    REQUIRE(r.images == 1);
    const Tensor hr = data::to_tensor(images[3]) * 2.0 - 1.0;
    const Tensor lr = degrade(hr, Degradation::MaxPool).unsqueeze(0);
    const Tensor bic = clamp(interpolate(lr, {.size = Int2{36, 42}, .mode = InterpolateMode::Bicubic}), -1.0, 1.0);
    const auto unit = [](const Tensor& x) { return clamp((x + 1.0) / 2.0, 0.0, 1.0); };
    REQUIRE(r.psnr_bicubic == Approx(metrics::psnr(unit(bic), unit(hr).unsqueeze(0), 1.0)).epsilon(1e-9));
    REQUIRE(r.ssim_bicubic == Approx(metrics::ssim(unit(bic), unit(hr).unsqueeze(0), 1.0)).epsilon(1e-9));
    REQUIRE(std::isfinite(r.psnr));
    REQUIRE(r.psnr != Approx(r.psnr_bicubic));  // an untrained model is not bicubic
    const Tensor picture = data::read_image(out.file("pictures/d_compare.png"), data::ImageMode::RGB);
    REQUIRE(picture.size(1) == 36 + 4);          // one row with save_image's 2-pixel padding
    REQUIRE(picture.size(2) == 3 * 42 + 4 * 2);  // bicubic | PANet | truth
    REQUIRE(
        evaluate_panet(set, out.file("w.safetensors"), d.path.string(), SRSplit::All, "maxpool", {.tile = 12}).images ==
        4);
}

TEST_CASE("super-resolution: eval panet builds the network its weights were trained as (the file's --set)", "[sr]") {
    TempDir d, out;
    Generator g(6);
    for (const char* name : {"a", "b", "c", "d"})
        data::write_png(d.file(std::string(name) + ".png"), (rand({3, 36, 42}, {}, &g) * 255.0).to(kUInt8));
    const std::vector<std::string> set{"channels=8", "blocks=2", "level=2", "skip=bicubic", "norm=none"};
    apps::ModelArgs args(set);
    auto model = apps::find_model("panet").make(args);
    save_safetensors(out.file("w.safetensors"), model->state_dict(),
                     {{"config", nlohmann::json{{"model", "panet"}, {"set", set}}.dump()}});
    REQUIRE(set_for_weights({}, out.file("w.safetensors")) == set);
    REQUIRE(set_for_weights({"blocks=4"}, out.file("w.safetensors")) == std::vector<std::string>{"blocks=4"});
    // The degradation: the given one, else the file's training run's, else the blog's maxpool.
    save_safetensors(out.file("bicubic.safetensors"), model->state_dict(),
                     {{"config", nlohmann::json{{"model", "panet"}, {"degradation", "bicubic"}}.dump()}});
    REQUIRE(degradation_for_weights("", out.file("bicubic.safetensors")) == "bicubic");
    REQUIRE(degradation_for_weights("maxpool", out.file("bicubic.safetensors")) == "maxpool");
    REQUIRE(degradation_for_weights("", out.file("w.safetensors")) == "maxpool");
    // A field of another type is absent; a value that is no degradation is an error naming the file.
    save_safetensors(out.file("number.safetensors"), model->state_dict(),
                     {{"config", nlohmann::json{{"model", "panet"}, {"degradation", 3}}.dump()}});
    REQUIRE(degradation_for_weights("", out.file("number.safetensors")) == "maxpool");
    save_safetensors(out.file("nearest.safetensors"), model->state_dict(),
                     {{"config", nlohmann::json{{"model", "panet"}, {"degradation", "nearest"}}.dump()}});
    REQUIRE_THROWS_WITH(degradation_for_weights("", out.file("nearest.safetensors")),
                        Catch::Contains("nearest.safetensors") && Catch::Contains("'nearest'"));
    // Without --set the file's network loads (the default PANet would not: other keys); untrained, the residual
    // network is bicubic upscaling, so it scores bicubic's numbers (one tile covers the 18x21 input).
    const auto r = evaluate_panet({}, out.file("w.safetensors"), d.path.string(), SRSplit::HeldOut, "bicubic", {});
    REQUIRE(r.images == 1);
    REQUIRE(r.psnr == Approx(r.psnr_bicubic).epsilon(1e-9));
    REQUIRE(r.ssim == Approx(r.ssim_bicubic).epsilon(1e-9));
    // A plain state dict without metadata: the defaults, which do not fit these weights, so the error names the file.
    save_safetensors(out.file("plain.safetensors"), model->state_dict());
    REQUIRE(set_for_weights({}, out.file("plain.safetensors")).empty());
    REQUIRE_THROWS_WITH(
        evaluate_panet({}, out.file("plain.safetensors"), d.path.string(), SRSplit::HeldOut, "bicubic", {}),
        Catch::Contains("plain.safetensors"));
    REQUIRE_THROWS_WITH(apps::ModelArgs({"skip=nearest"}).get_choice("skip", {"none", "bicubic"}),
                        Catch::Contains("skip=nearest") && Catch::Contains("none, bicubic"));
}
