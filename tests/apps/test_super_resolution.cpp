// tests/apps/test_super_resolution.cpp — the super-resolution data path: the two degradations, HR/LR crops,
// unreadable or too-small images skipped by name, and tiled upscaling equal to whole-image upscaling for a local
// model, whatever the tile grid.
#include <fstream>

#include "apps/super_resolution_data.h"
#include "nn/data/image.h"
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
}

TEST_CASE("super-resolution: tiled upscaling equals whole-image upscaling for a local model", "[sr]") {
    nn::Upsample up({.scale_factor = 2.0, .mode = InterpolateMode::Nearest});
    Generator g(3);
    for (auto [h, w, tile, overlap] : std::vector<std::array<int64_t, 4>>{{37, 23, 16, 4}, {16, 16, 16, 4}, {9, 30, 8, 0}}) {
        INFO(h << "x" << w << " tile " << tile << " overlap " << overlap);
        const Tensor lr = rand({3, h, w}, {}, &g);
        const Tensor whole = up(lr.unsqueeze(0)).squeeze(0);
        REQUIRE_THAT(upscale_tiled(up, lr, tile, overlap), ClosesTo(whole, 1e-6, 0));
    }
}
