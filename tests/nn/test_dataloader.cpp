// tests/nn/test_dataloader.cpp — nn/data/dataloader.cpp, collate.cpp, dataset.cpp and folder.cpp: batch order and
// content with and without shuffle, drop_last, the same batches for 0, 1 and 3 workers, early exit and destruction
// without a hang, a worker's exception in the consumer, skip_errors, set_epoch and starting mid-epoch, the collates,
// and the file listing and image/mask pairing.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "nn/data/dataloader.h"
#include "nn/data/folder.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace nabla::data;

namespace {

// Creates the file `rel` (and its folders) under the directory, with one byte in it; returns its path.
std::string touch(const TempDir& d, const std::string& rel) {
    const fs::path p = d.path / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "x";
    return p.string();
}

// Example i: (full([2], i) float32, i as a 0-dim int64).
std::shared_ptr<LambdaDataset> counting(int64_t n) {
    return std::make_shared<LambdaDataset>(n, [](int64_t i, Generator&) {
        return Example{full({2}, static_cast<double>(i)), scalar_tensor(static_cast<double>(i), {.dtype = kInt64})};
    });
}

std::vector<int64_t> ids(const Batch& b) {
    Tensor t = b[1].contiguous();
    return {t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel()};
}

// Every batch of one iteration: (indices, tensors).
std::vector<Batch> collect(DataLoader& loader) {
    std::vector<Batch> out;
    for (auto& batch : loader) out.push_back(batch);
    return out;
}

bool same_tensors(const Batch& a, const Batch& b) {
    if (a.size() != b.size()) return false;
    for (size_t p = 0; p < a.size(); ++p) {
        if (a[p].shape() != b[p].shape()) return false;
        if (eq(a[p], b[p]).to(kInt64).sum().item<int64_t>() != a[p].numel()) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("DataLoader without shuffle: batches in order, the last one short; drop_last drops it", "[data][loader]") {
    DataLoader loader(counting(10), {.batch_size = 4});
    REQUIRE(loader.size() == 3);
    auto batches = collect(loader);
    REQUIRE(batches.size() == 3);
    CHECK(ids(batches[0]) == std::vector<int64_t>{0, 1, 2, 3});
    CHECK(ids(batches[1]) == std::vector<int64_t>{4, 5, 6, 7});
    CHECK(ids(batches[2]) == std::vector<int64_t>{8, 9});
    CHECK(batches[2].indices == std::vector<int64_t>{8, 9});
    CHECK(batches[1].index == 1);
    REQUIRE(batches[0][0].shape() == Shape{4, 2});  // default_collate stacks
    REQUIRE(batches[2][0].shape() == Shape{2, 2});
    REQUIRE(batches[0][1].shape() == Shape{4});
    REQUIRE_THAT(batches[1][0], ClosesTo(t32({4, 4, 5, 5, 6, 6, 7, 7}, {4, 2}), 0));

    DataLoader dropping(counting(10), {.batch_size = 4, .drop_last = true});
    REQUIRE(dropping.size() == 2);
    auto kept = collect(dropping);
    REQUIRE(kept.size() == 2);
    CHECK(ids(kept[1]) == std::vector<int64_t>{4, 5, 6, 7});

    DataLoader exact(counting(8), {.batch_size = 4, .drop_last = true});
    CHECK(collect(exact).size() == 2);
    DataLoader empty_ds(counting(0), {.batch_size = 4});
    CHECK(empty_ds.size() == 0);
    CHECK(collect(empty_ds).empty());
}

TEST_CASE("DataLoader shuffle: a permutation per epoch, reproducible from (seed, epoch)", "[data][loader]") {
    DataLoader loader(counting(23), {.batch_size = 5, .shuffle = true, .seed = 7});
    REQUIRE(loader.epoch() == 0);
    auto e0 = collect(loader);  // epoch 0, then the loader moves on to epoch 1
    REQUIRE(loader.epoch() == 1);
    auto e1 = collect(loader);
    std::vector<int64_t> order0, order1;
    for (auto& b : e0)
        for (int64_t i : ids(b)) order0.push_back(i);
    for (auto& b : e1)
        for (int64_t i : ids(b)) order1.push_back(i);
    CHECK(order0 == loader.order(0));
    CHECK(order1 == loader.order(1));
    CHECK(order0 != order1);
    std::vector<int64_t> sorted = order0;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> expect(23);
    std::iota(expect.begin(), expect.end(), 0);
    CHECK(sorted == expect);
    CHECK(order0 != expect);

    // set_epoch replays an epoch; another loader with the same seed agrees; another seed does not
    loader.set_epoch(0);
    auto again = collect(loader);
    for (size_t b = 0; b < e0.size(); ++b) CHECK(e0[b].indices == again[b].indices);
    DataLoader twin(counting(23), {.batch_size = 5, .shuffle = true, .seed = 7});
    CHECK(twin.order(1) == order1);
    DataLoader other(counting(23), {.batch_size = 5, .shuffle = true, .seed = 8});
    CHECK(other.order(0) != order0);
}

TEST_CASE("DataLoader: the same batches with 0, 1 and 3 workers, each example drawing from its own generator",
          "[data][loader]") {
    std::atomic<int> calls{0};
    // random content from the example's generator; uneven loading times so workers finish out of order
    auto ds = std::make_shared<LambdaDataset>(37, [&](int64_t i, Generator& gen) {
        ++calls;
        std::this_thread::sleep_for(std::chrono::microseconds((i * 7919) % 5 * 200));
        Tensor noise = rand({3}, {}, &gen);
        return Example{noise, scalar_tensor(static_cast<double>(i), {.dtype = kInt64})};
    });
    std::vector<std::vector<Batch>> runs;
    for (int64_t workers : {0, 1, 3}) {
        for (int64_t prefetch : {1, 2}) {
            DataLoader loader(
                ds,
                {.batch_size = 4, .shuffle = true, .num_workers = workers, .prefetch_factor = prefetch, .seed = 11});
            loader.set_epoch(3);
            runs.push_back(collect(loader));
        }
    }
    REQUIRE(calls.load() == 6 * 37);
    for (size_t r = 1; r < runs.size(); ++r) {
        REQUIRE(runs[r].size() == runs[0].size());
        for (size_t b = 0; b < runs[0].size(); ++b) {
            CHECK(runs[r][b].index == static_cast<int64_t>(b));
            CHECK(runs[r][b].indices == runs[0][b].indices);
            CHECK(same_tensors(runs[r][b], runs[0][b]));
        }
    }
    // example i of epoch 3 drew from Generator(example_seed(11, 3, i))
    const Batch& first = runs[0][0];
    for (size_t k = 0; k < first.indices.size(); ++k) {
        Generator g(example_seed(11, 3, first.indices[k]));
        REQUIRE_THAT(first[0].select(0, static_cast<int64_t>(k)), ClosesTo(rand({3}, {}, &g), 0));
    }
    // another epoch gives other random draws for the same index
    DataLoader loader(ds, {.batch_size = 37, .seed = 11});
    loader.set_epoch(4);
    Tensor e4 = collect(loader)[0][0];
    loader.set_epoch(3);
    Tensor e3 = collect(loader)[0][0];
    CHECK(eq(e3, e4).to(kInt64).sum().item<int64_t>() == 0);
}

TEST_CASE("DataLoader: leaving the loop early stops the workers; loading stays within the prefetch bound",
          "[data][loader]") {
    std::atomic<int> calls{0};
    auto ds = std::make_shared<LambdaDataset>(10000, [&](int64_t i, Generator&) {
        ++calls;
        std::this_thread::sleep_for(std::chrono::microseconds(300));
        return Example{full({1}, static_cast<double>(i))};
    });
    DataLoader loader(ds, {.batch_size = 2, .num_workers = 3, .prefetch_factor = 2});
    int seen = 0;
    for (auto& batch : loader) {
        CHECK(batch.index == seen);
        if (++seen == 3) break;
    }
    // joined: at most the 3 batches taken plus 3 * 2 loaded ahead were ever claimed
    const int after_break = calls.load();
    CHECK(after_break >= 3 * 2);
    CHECK(after_break <= (3 + 3 * 2) * 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(calls.load() == after_break);

    // an iterator that outlives its loader keeps working, and dropping it mid-epoch joins the workers
    auto* owner = new DataLoader(ds, {.batch_size = 2, .num_workers = 2});
    auto it = owner->begin();
    delete owner;
    ++it;
    CHECK(it->index == 1);
    CHECK(it->indices == std::vector<int64_t>{2, 3});
    it = DataLoader::Iterator();
    const int after_drop = calls.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(calls.load() == after_drop);
}

TEST_CASE("DataLoader: an exception while loading reaches the consumer at its batch, naming the index",
          "[data][loader]") {
    auto ds = std::make_shared<LambdaDataset>(20, [](int64_t i, Generator&) {
        if (i == 13) throw ValueError("cannot decode frame.png");
        return Example{full({1}, static_cast<double>(i))};
    });
    for (int64_t workers : {0, 3}) {
        DataLoader loader(ds, {.batch_size = 4, .num_workers = workers});
        std::vector<int64_t> done;
        const std::string msg = error_of([&] {
            for (auto& batch : loader) done.push_back(batch.index);
        });
        INFO("num_workers " << workers);
        CHECK(done == std::vector<int64_t>{0, 1, 2});  // batches before the bad one arrive first
        CHECK_THAT(msg, Catch::StartsWith("DataLoader: dataset index 13 (batch 3 of epoch 0") &&
                            Catch::EndsWith("): cannot decode frame.png"));
        if (workers > 0) CHECK_THAT(msg, Catch::Contains(", worker "));
    }
    // a collate failure names the batch and its indices
    auto ragged = std::make_shared<LambdaDataset>(4, [](int64_t i, Generator&) { return Example{zeros({i + 1})}; });
    DataLoader loader(ragged, {.batch_size = 2});
    CHECK_THAT(
        error_of([&] { collect(loader); }),
        Catch::Equals("DataLoader: collate of batch 0 of epoch 0 (dataset indices [0, 1]): default_collate: tensor 0 "
                      "has shape [1] in example 0 but [2] in example 1 (stacking needs equal shapes: resize the "
                      "examples, or pass a custom collate)"));
}

TEST_CASE("DataLoader skip_errors: a failing example is left out of its batch and named; a batch of none fails",
          "[data][loader]") {
    auto ds = std::make_shared<LambdaDataset>(10, [](int64_t i, Generator&) {
        if (i == 5 || i == 6) throw ValueError(fmt::format("read_image: img{}.png: corrupt or truncated PNG", i));
        return Example{full({1}, static_cast<double>(i))};
    });
    for (int64_t workers : {0, 2}) {
        INFO("num_workers " << workers);
        DataLoader loader(ds, {.batch_size = 4, .num_workers = workers, .skip_errors = true});
        std::vector<std::vector<int64_t>> indices;
        std::vector<std::string> skipped;
        for (auto& batch : loader) {  // the epoch completes: no hang, no exception
            indices.push_back(batch.indices);
            REQUIRE(batch[0].size(0) == static_cast<int64_t>(batch.indices.size()));
            for (const auto& s : batch.skipped) skipped.push_back(fmt::format("{}: {}", s.index, s.error));
        }
        CHECK(indices == std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {4, 7}, {8, 9}});
        CHECK(skipped == std::vector<std::string>{"5: read_image: img5.png: corrupt or truncated PNG",
                                                  "6: read_image: img6.png: corrupt or truncated PNG"});
    }
    auto pairs = std::make_shared<LambdaDataset>(4, [](int64_t i, Generator&) -> Example {
        if (i >= 2) throw ValueError(fmt::format("read_image: img{}.png: empty file", i));
        return Example{full({1}, static_cast<double>(i))};
    });
    DataLoader none(pairs, {.batch_size = 2, .num_workers = 1, .skip_errors = true});
    CHECK_THAT(error_of([&] { collect(none); }),
               Catch::StartsWith("DataLoader: no example of batch 1 of epoch 0, worker 0 could be loaded; dataset "
                                 "index 2: read_image: img2.png: empty file"));
}

TEST_CASE("DataLoader::set_epoch(epoch, start_batch) resumes mid-epoch with the same batches", "[data][loader]") {
    DataLoader loader(counting(30), {.batch_size = 4, .shuffle = true, .num_workers = 2, .seed = 5});
    loader.set_epoch(2);
    auto full_epoch = collect(loader);
    REQUIRE(full_epoch.size() == 8);
    loader.set_epoch(2, 5);
    auto rest = collect(loader);
    REQUIRE(rest.size() == 3);
    for (size_t k = 0; k < rest.size(); ++k) {
        CHECK(rest[k].index == static_cast<int64_t>(5 + k));
        CHECK(rest[k].epoch == 2);
        CHECK(rest[k].indices == full_epoch[5 + k].indices);
        CHECK(same_tensors(rest[k], full_epoch[5 + k]));
    }
    CHECK(loader.epoch() == 3);  // and the next iteration is a whole epoch 3
    CHECK(collect(loader).size() == 8);
    loader.set_epoch(1, 8);  // at the end: nothing left in that epoch
    CHECK(collect(loader).empty());
    CHECK_THAT(error_of([&] { loader.set_epoch(1, 9); }),
               Catch::Equals("DataLoader::set_epoch: start_batch 9 is out of range for 8 batches per epoch"));
}

TEST_CASE("DataLoader options and datasets are checked", "[data][loader]") {
    CHECK_THAT(error_of([] { DataLoader(counting(3), {.batch_size = 0}); }),
               Catch::Equals("DataLoader: batch_size must be at least 1, got 0"));
    CHECK_THAT(error_of([] { DataLoader(counting(3), {.num_workers = -1}); }),
               Catch::Equals("DataLoader: num_workers must be non-negative, got -1"));
    CHECK_THAT(error_of([] { DataLoader(counting(3), {.prefetch_factor = 0}); }),
               Catch::Equals("DataLoader: prefetch_factor must be at least 1, got 0"));
    CHECK_THAT(error_of([] { DataLoader(nullptr); }), Catch::Equals("DataLoader: the dataset is null"));

    TensorDataset td({arange(6).reshape({3, 2}), t32({0.5f, 1.5f, 2.5f})});
    Generator g;
    REQUIRE(td.size() == 3);
    Example e = td.get(1, g);
    REQUIRE(e.size() == 2);
    REQUIRE_THAT(e[0], ClosesTo(t64({2, 3}), 0));
    REQUIRE(e[1].item<double>() == 1.5);
    CHECK_THAT(error_of([&] { td.get(3, g); }), Catch::Equals("TensorDataset: index 3 is out of range for size 3"));
    CHECK_THAT(error_of([] {
                   TensorDataset({zeros({3, 2}), zeros({4})});
               }),
               Catch::Equals("TensorDataset: size mismatch between tensors: tensor 0 is [3, 2], tensor 1 is [4]"));
    DataLoader over_td(std::make_shared<TensorDataset>(std::vector<Tensor>{arange(10)}), {.batch_size = 3});
    REQUIRE_THAT(collect(over_td)[3][0], ClosesTo(t64({9}), 0));
}

TEST_CASE("collates: default_collate stacks, collate_with_batch_index concatenates boxes behind the batch index",
          "[data][loader]") {
    std::vector<Example> ex = {
        {full({1, 2, 2}, 0.0), t32({1, 0.5f, 0.5f, 0.1f, 0.1f, 2, 0.2f, 0.2f, 0.3f, 0.3f}, {2, 5})},
        {full({1, 2, 2}, 1.0), zeros({0, 5})},
        {full({1, 2, 2}, 2.0), t32({7, 0.9f, 0.9f, 0.05f, 0.05f}, {1, 5})},
    };
    auto batch = collate_with_batch_index({1})(ex);
    REQUIRE(batch.size() == 2);
    REQUIRE(batch[0].shape() == Shape{3, 1, 2, 2});
    REQUIRE_THAT(batch[1], ClosesTo(t32({0, 1, 0.5f, 0.5f, 0.1f, 0.1f,  //
                                         0, 2, 0.2f, 0.2f, 0.3f, 0.3f,  //
                                         2, 7, 0.9f, 0.9f, 0.05f, 0.05f},
                                        {3, 6}),
                                    0));
    std::vector<Example> none = {{zeros({1}), zeros({0, 5})}, {zeros({1}), zeros({0, 5})}};
    REQUIRE(collate_with_batch_index({1})(none)[1].shape() == Shape{0, 6});
    CHECK_THAT(error_of([&] { collate_with_batch_index({2})(ex); }),
               Catch::Equals("collate_with_batch_index: position 2 is out of range for examples of 2 tensors"));
    CHECK_THAT(error_of([&] { collate_with_batch_index({0})(ex); }),
               Catch::Equals("collate_with_batch_index: tensor 0 of example 0 must be [n, k], got [1, 2, 2]"));
    std::vector<Example> uneven = {{zeros({2})}, {zeros({2}), zeros({2})}};
    CHECK_THAT(error_of([&] { default_collate(uneven); }),
               Catch::Equals("default_collate: example 0 has 1 tensors but example 1 has 2"));
    auto stacked = default_collate({{scalar_tensor(1.0)}, {scalar_tensor(2.0)}});
    REQUIRE_THAT(stacked[0], ClosesTo(t32({1, 2}), 0));  // 0-dim values stack into [B]
}

TEST_CASE("list_images lists image files sorted; recursive descends; hidden files are skipped", "[data][folder]") {
    TempDir d;
    for (const char* f :
         {"b.png", "a.JPG", "c.jpeg", "d.Bmp", "notes.txt", ".hidden.png", "e.gif", "sub/f.png", ".git/g.png"})
        touch(d, f);
    fs::create_directories(d.path / "dir.png");  // a directory named like an image is not one
    const std::string root = d.path.string();
    CHECK(list_images(root) ==
          std::vector<std::string>{root + "/a.JPG", root + "/b.png", root + "/c.jpeg", root + "/d.Bmp"});
    CHECK(list_images(root, true) == std::vector<std::string>{root + "/a.JPG", root + "/b.png", root + "/c.jpeg",
                                                              root + "/d.Bmp", root + "/sub/f.png"});
    CHECK_THAT(error_of([&] { list_images(root + "/nope"); }),
               Catch::Equals("list_images: " + root + "/nope: No such file or directory"));
    CHECK_THAT(error_of([&] { list_images(root + "/b.png"); }),
               Catch::Equals("list_images: " + root + "/b.png: not a directory"));
}

TEST_CASE("pair_by_stem matches images with masks and lists every unmatched name in one error", "[data][folder]") {
    TempDir d;
    for (const char* f : {"img/1.jpg", "img/2.jpg", "img/3.jpg", "mask/1.png", "mask/2.png", "mask/3.png"}) touch(d, f);
    auto pairs = pair_by_stem(d.file("img"), d.file("mask"));
    REQUIRE(pairs.size() == 3);
    CHECK(pairs[1].image == d.file("img") + "/2.jpg");
    CHECK(pairs[1].mask == d.file("mask") + "/2.png");

    touch(d, "img/4.jpg");
    touch(d, "img/5.jpg");
    touch(d, "mask/9.png");
    CHECK_THAT(error_of([&] { pair_by_stem(d.file("img"), d.file("mask")); }),
               Catch::Equals("pair_by_stem: 3 pairs matched; 2 images in " + d.file("img") + " without a mask in " +
                             d.file("mask") + ": 4.jpg, 5.jpg; 1 masks in " + d.file("mask") + " without an image in " +
                             d.file("img") + ": 9.png"));
    for (int i = 0; i < 13; ++i) touch(d, fmt::format("img/x{:02}.jpg", i));
    CHECK_THAT(error_of([&] { pair_by_stem(d.file("img"), d.file("mask")); }),
               Catch::Contains("15 images in " + d.file("img") + " without a mask in " + d.file("mask") +
                               ": 4.jpg, 5.jpg, x00.jpg, x01.jpg, x02.jpg, x03.jpg, x04.jpg, x05.jpg, x06.jpg, x07.jpg "
                               "and 5 more;"));

    TempDir s;  // masks with a suffix (ISIC: x.jpg + x_segmentation.png), and a stem repeated
    for (const char* f : {"i/a.jpg", "i/b.jpg", "m/a_seg.png", "m/b_seg.png"}) touch(s, f);
    auto suffixed = pair_by_stem(s.file("i"), s.file("m"), "_seg");
    REQUIRE(suffixed.size() == 2);
    CHECK(suffixed[0].mask == s.file("m") + "/a_seg.png");
    touch(s, "i/a.png");
    CHECK_THAT(error_of([&] { pair_by_stem(s.file("i"), s.file("m"), "_seg"); }),
               Catch::Contains("1 images in " + s.file("i") + " repeating a stem: a.png"));
    TempDir e;
    touch(e, "i/readme.txt");
    fs::create_directories(e.path / "m");
    CHECK_THAT(error_of([&] { pair_by_stem(e.file("i"), e.file("m")); }),
               Catch::StartsWith("pair_by_stem: no images in "));
}
