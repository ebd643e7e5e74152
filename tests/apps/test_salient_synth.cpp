// tests/apps/test_salient_synth.cpp — the generators' shared Gaussian blur against its closed form, and the salient
// pairs of `nabla generate salient`: the same seed writes the same files, every image has a mask of its size, masks
// have soft edges and cover neither nothing nor everything on average.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>

#include "apps/salient_synth.h"
#include "apps/synth_image.h"
#include "nn/data/image.h"
#include "ops/ops.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace nabla::apps;

namespace {

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("gaussian_blur_planes: an impulse becomes the normalised Gaussian; a constant stays", "[synth]") {
    const int64_t s = 9;
    std::vector<float> v(2 * s * s, 0.0f);
    v[4 * s + 4] = 1;                              // plane 0: an impulse at the centre
    std::fill(v.begin() + s * s, v.end(), 0.25f);  // plane 1: constant
    gaussian_blur_planes(v, 2, s, 1.0);
    // sigma 1 truncated at 3: weights exp(-i²/2) / Σ_{|i|<=3} exp(-i²/2), once per axis.
    double total = 0;
    for (int i = -3; i <= 3; ++i) total += std::exp(-0.5 * i * i);
    auto w = [&](int i) { return std::exp(-0.5 * i * i) / total; };
    CHECK(v[4 * s + 4] == Approx(w(0) * w(0)).epsilon(1e-6));
    CHECK(v[4 * s + 6] == Approx(w(0) * w(2)).epsilon(1e-6));
    CHECK(v[2 * s + 5] == Approx(w(2) * w(1)).epsilon(1e-6));
    CHECK(v[0] == Approx(0).margin(1e-9));  // 4 px from the centre on both axes: beyond the 3-sigma cut
    CHECK(std::accumulate(v.begin(), v.begin() + s * s, 0.0) == Approx(1).epsilon(1e-6));
    for (int64_t i = s * s; i < 2 * s * s; ++i) REQUIRE(v[i] == Approx(0.25f).epsilon(1e-6));
    std::vector<float> same = v;
    gaussian_blur_planes(same, 2, s, 0.0);  // sigma 0: nothing
    CHECK(same == v);
}

TEST_CASE("generate_salient_pairs: seeded, paired, soft-edged masks of plausible size", "[synth]") {
    const std::string photos = std::string(NABLA_SOURCE_DIR) + "/data/photos";
    TempDir dir;
    const SalientSynthOptions options{.photos = photos, .train = 12, .val = 2, .size = 96, .seed = 5};
    generate_salient_pairs(dir.file("a"), options);
    generate_salient_pairs(dir.file("b"), options);
    double coverage = 0;
    int64_t soft = 0, pairs = 0;
    for (const auto& split : {"train", "val"})
        for (const auto& entry : fs::directory_iterator(fs::path(dir.file("a")) / split / "images")) {
            const std::string stem = entry.path().stem().string();
            const fs::path mask_path = fs::path(dir.file("a")) / split / "masks" / (stem + ".png");
            REQUIRE(fs::exists(mask_path));
            CHECK(read_bytes(entry.path()) ==
                  read_bytes(fs::path(dir.file("b")) / split / "images" / entry.path().filename()));
            CHECK(read_bytes(mask_path) == read_bytes(fs::path(dir.file("b")) / split / "masks" / (stem + ".png")));
            const Tensor image = data::read_image(entry.path().string(), data::ImageMode::RGB);
            const Tensor mask = data::read_image(mask_path.string(), data::ImageMode::Gray);
            CHECK(image.sizes() == Shape{3, 96, 96});
            CHECK(mask.sizes() == Shape{1, 96, 96});
            const Tensor m = mask.to(kFloat32) / 255.0;
            const double mean = m.mean().item<double>();
            CHECK(mean > 0.01);  // every scene has an object or a sky
            CHECK(mean < 0.99);
            coverage += mean;
            soft += logical_and(gt(m, 0.05), lt(m, 0.95)).to(kFloat32).sum().item<float>() >
                    0;  // an edge with in-between values
            ++pairs;
        }
    CHECK(pairs == 14);
    CHECK(soft == pairs);
    CHECK(coverage / pairs > 0.1);
    CHECK(coverage / pairs < 0.7);
}
