// tests/apps/test_segmentation.cpp — the segmentation data path: 0/255 and 0/1 masks give the same target, pairs come
// from a folder or a list file, unmatched or missing files are reported by name before any training, and the data
// check before training (apps/data_check.h) leaves out pairs with a corrupt file, or stops with --strict-data; eval,
// predict and serve run weights at the size they were trained at.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "apps/data_check.h"
#include "apps/segmentation.h"
#include "apps/segmentation_data.h"
#include "nn/data/image.h"
#include "nn/safetensors.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace nabla::apps;

namespace {

// images/ and masks/ in the directory.
void make_dirs(const TempDir& d) {
    fs::create_directories(d.path / "images");
    fs::create_directories(d.path / "masks");
}

// A 4x4 RGB image and its mask with `on` where the object is.
void write_pair(const TempDir& d, const std::string& stem, int on) {
    Tensor image = full({3, 4, 4}, 100, {.dtype = kUInt8});
    Tensor mask = zeros({1, 4, 4}, {.dtype = kUInt8});
    mask.narrow(1, 1, 2).narrow(2, 1, 2).fill_(on);
    data::write_png(d.file("images/" + stem + ".png"), image);
    data::write_png(d.file("masks/" + stem + ".png"), mask);
}

}  // namespace

TEST_CASE("segmentation data: 0/255 and 0/1 masks give the same 0/1 target", "[segmentation]") {
    TempDir d;
    make_dirs(d);
    write_pair(d, "a255", 255);
    write_pair(d, "b1", 1);
    const auto pairs = find_segmentation_pairs(d.path.string());
    REQUIRE(pairs.size() == 2);
    SegmentationDataset ds(pairs, {.size = 4, .crop = 0, .train = false});
    Generator g(0);
    const Tensor m255 = ds.get(0, g)[1], m1 = ds.get(1, g)[1];
    REQUIRE(m255.shape() == Shape{1, 4, 4});
    REQUIRE_THAT(m255, ClosesTo(m1, 0, 0));
    REQUIRE(m255.sum().item<double>() == 4);
    REQUIRE(max(m255).item<double>() == 1);
    REQUIRE(mask_to_unit(zeros({1, 2, 2}, {.dtype = kUInt8})).sum().item<double>() == 0);  // no object: all zero
}

TEST_CASE("segmentation data: a list file of pairs, and every missing file named", "[segmentation]") {
    TempDir d;
    make_dirs(d);
    write_pair(d, "x", 255);
    std::ofstream(d.file("pairs.txt")) << "# image mask\nimages/x.png masks/x.png\n\nimages/y.png masks/y.png\n";
    REQUIRE_THROWS_WITH(find_segmentation_pairs(d.file("pairs.txt")),
                        Catch::Contains("pairs.txt has 2 problem(s)") && Catch::Contains("line 4: no file") &&
                            Catch::Contains("images/y.png") && Catch::Contains("masks/y.png"));
    std::ofstream(d.file("pairs.txt")) << "images/x.png masks/x.png\n";
    const auto pairs = find_segmentation_pairs(d.file("pairs.txt"));
    REQUIRE(pairs.size() == 1);
    REQUIRE(pairs[0].mask == d.file("masks/x.png"));
}

TEST_CASE("segmentation data: unmatched images and masks are listed by name", "[segmentation]") {
    TempDir d;
    make_dirs(d);
    write_pair(d, "both", 255);
    data::write_png(d.file("images/lonely_image.png"), zeros({3, 4, 4}, {.dtype = kUInt8}));
    data::write_png(d.file("masks/lonely_mask.png"), zeros({1, 4, 4}, {.dtype = kUInt8}));
    REQUIRE_THROWS_WITH(find_segmentation_pairs(d.path.string()),
                        Catch::Contains("lonely_image") && Catch::Contains("lonely_mask"));
    REQUIRE_THROWS_WITH(find_segmentation_pairs(d.file("nothing_here")), Catch::Contains("nothing_here"));
}

TEST_CASE("data check: pairs with a corrupt or truncated file are left out and named; strict stops", "[segmentation]") {
    TempDir d;
    make_dirs(d);
    for (const char* stem : {"a", "b", "c", "d"}) write_pair(d, stem, 255);
    const std::string mask = d.file("masks/b.png");
    const std::string bytes = [&] {
        std::ifstream in(mask, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    std::ofstream(mask, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);  // truncated
    std::ofstream(d.file("images/d.png"), std::ios::trunc) << "<html>404 Not Found</html>";        // not an image
    const auto pairs = find_segmentation_pairs(d.path.string());
    const auto files = [](const data::ImagePair& p) { return std::vector<std::string>{p.image, p.mask}; };
    const auto kept = drop_corrupt("train", pairs, files, /*strict=*/false);
    REQUIRE(kept.size() == 2);
    CHECK(fs::path(kept[0].image).stem() == "a");
    CHECK(fs::path(kept[1].image).stem() == "c");
    REQUIRE_THROWS_WITH(drop_corrupt("train", pairs, files, /*strict=*/true),
                        Catch::StartsWith("train: 2 corrupt file(s) and --strict-data:") &&
                            Catch::Contains(mask + ": corrupt or truncated PNG") &&
                            Catch::Contains(d.file("images/d.png") + ": not a PNG, JPEG or BMP file"));
    const std::vector<data::ImagePair> only_bad(pairs.begin() + 3, pairs.end());
    REQUIRE_THROWS_WITH(drop_corrupt("val", only_bad, files, false),
                        "val: none of the 1 examples has sound image files");
}

TEST_CASE("segmentation_size: the given size, else the weights' training size, else the model's default",
          "[segmentation]") {
    TempDir d;
    const Tensor w = zeros({2});
    save_safetensors(d.file("trained.safetensors"), {{"w", w}}, {{"config", R"({"model":"u2netp","size":224})"}});
    save_safetensors(d.file("plain.safetensors"), {{"w", w}});
    REQUIRE(segmentation_size(0, d.file("trained.safetensors"), 320) == 224);
    REQUIRE(segmentation_size(288, d.file("trained.safetensors"), 320) == 288);  // --size wins
    REQUIRE(segmentation_size(0, d.file("plain.safetensors"), 320) == 320);
    REQUIRE(segmentation_size(0, "", 320) == 320);  // initial weights (serve without any)
    REQUIRE_THROWS_WITH(segmentation_size(0, d.file("missing.safetensors"), 320),
                        Catch::Contains("missing.safetensors"));
}
