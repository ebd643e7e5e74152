// tests/nn/test_checkpoint.cpp — nn/checkpoint.cpp: a checkpoint's parts and scalars round-trip, plain weight files
// load as weights, and a wrong or corrupt file is an error naming it. Also nn/summary.cpp on a small model.

#include <filesystem>
#include <fstream>

#include "models/tinyseg/tinyseg.h"
#include "nn/checkpoint.h"
#include "nn/summary.h"
#include "support/support.h"

namespace fs = std::filesystem;

namespace {}  // namespace

TEST_CASE("checkpoint: every part and scalar round-trips", "[checkpoint]") {
    TempDir dir;
    nn::Checkpoint c;
    c.model = {{"conv.weight", t32({1, 2, 3, 4}, {2, 2})},
               {"bn.num_batches_tracked", scalar_tensor(7, {.dtype = kInt64})}};
    c.optimizer = {{"state.0.exp_avg", t32({0.5f, 0.25f}, {2})}};
    c.scheduler = {{"last_epoch", scalar_tensor(3, {.dtype = kFloat64})}};
    c.ema = {{"updates", scalar_tensor(12, {.dtype = kFloat64})}};
    c.epoch = 4, c.step = 123, c.batch_in_epoch = 5, c.best_metric = 0.8125;
    Generator g(42);
    g.normal();
    c.rng_state = g.state();
    c.config = R"({"lr": 0.001})";
    c.extra = {{"note", "hello"}};
    nn::save_checkpoint(dir.file("ckpt.safetensors"), c);

    const nn::Checkpoint r = nn::load_checkpoint(dir.file("ckpt.safetensors"));
    REQUIRE(r.model.size() == 2);
    REQUIRE_THAT(r.model.at("conv.weight"), ClosesTo(c.model.at("conv.weight"), 0, 0));
    REQUIRE(r.model.at("bn.num_batches_tracked").item<int64_t>() == 7);
    REQUIRE_THAT(r.optimizer.at("state.0.exp_avg"), ClosesTo(c.optimizer.at("state.0.exp_avg"), 0, 0));
    REQUIRE(r.scheduler.at("last_epoch").item<double>() == 3);
    REQUIRE(r.ema.at("updates").item<double>() == 12);
    REQUIRE(r.epoch == 4);
    REQUIRE(r.step == 123);
    REQUIRE(r.batch_in_epoch == 5);
    REQUIRE(r.best_metric == 0.8125);
    REQUIRE(r.config == c.config);
    REQUIRE(r.extra.at("note") == "hello");
    Generator restored;
    restored.set_state(r.rng_state);
    REQUIRE(restored.next_u64() == g.next_u64());  // the stream continues where it was saved
    REQUIRE(nn::is_checkpoint(dir.file("ckpt.safetensors")));

    SECTION("load_weights takes the model part of a checkpoint, or every tensor of a plain file") {
        REQUIRE(nn::load_weights(dir.file("ckpt.safetensors")).size() == 2);
        save_safetensors(dir.file("plain.safetensors"), {{"conv.weight", t32({1, 2, 3, 4}, {2, 2})}});
        REQUIRE_FALSE(nn::is_checkpoint(dir.file("plain.safetensors")));
        REQUIRE(nn::load_weights(dir.file("plain.safetensors")).count("conv.weight"));
    }
}

TEST_CASE("checkpoint: a plain weights file, a corrupt file and a missing file are errors naming the file",
          "[checkpoint]") {
    TempDir dir;
    save_safetensors(dir.file("plain.safetensors"), {{"w", t32({1}, {1})}});
    REQUIRE_THROWS_WITH(nn::load_checkpoint(dir.file("plain.safetensors")),
                        Catch::Contains("plain.safetensors") && Catch::Contains("not a Nabla checkpoint"));
    std::ofstream(dir.file("junk.safetensors")) << "this is not a safetensors file";
    REQUIRE_THROWS_WITH(nn::load_checkpoint(dir.file("junk.safetensors")), Catch::Contains("junk.safetensors"));
    REQUIRE_FALSE(nn::is_checkpoint(dir.file("junk.safetensors")));
    REQUIRE_THROWS_WITH(nn::load_checkpoint(dir.file("missing.safetensors")), Catch::Contains("missing.safetensors"));
}

TEST_CASE("load_weights_into: strict loading reports the file and every bad key", "[checkpoint]") {
    TempDir dir;
    manual_seed(0);
    models::TinySeg model(3, 4);
    TensorMap sd = model.state_dict();
    sd.erase("head.bias");
    sd["extra"] = t32({1}, {1});
    save_safetensors(dir.file("w.safetensors"), sd);
    REQUIRE_THROWS_WITH(nn::load_weights_into(model, dir.file("w.safetensors")),
                        Catch::Contains("w.safetensors") && Catch::Contains("1 missing [head.bias]") &&
                            Catch::Contains("1 unexpected [extra]"));
    nn::load_weights_into(model, dir.file("w.safetensors"), /*strict=*/false);  // the rest loads
}

TEST_CASE("summary: TinySeg's layers, parameters and MACs", "[summary]") {
    manual_seed(0);
    models::TinySeg model(3, 16);
    REQUIRE(model.num_parameters() == 12161);  // 480 + 4,704 + 6,960 + 17 (see models/tinyseg/tinyseg.h)
    const std::string table = nn::summary(model, {1, 3, 8, 8});
    INFO(table);
    // enc1.conv: 3 -> 16 channels, 3x3, on 8x8: 64 positions x 16 x 27 = 27,648 MACs; 448 parameters.
    REQUIRE_THAT(table, Catch::Contains("enc1.conv (Conv2d)") && Catch::Contains("[1, 16, 8, 8]") &&
                            Catch::Contains("448") && Catch::Contains("27.65K"));
    // enc2.conv: 16 -> 32 on 4x4 (after the pool): 16 x 32 x 144 = 73,728.
    REQUIRE_THAT(table, Catch::Contains("[1, 32, 4, 4]") && Catch::Contains("73.73K"));
    REQUIRE_THAT(table, Catch::Contains("Total params: 12,161 (trainable 12,161)"));
    REQUIRE(model.is_training());  // summary() restores the mode
    REQUIRE(nn::with_commas(1234567) == "1,234,567");
    REQUIRE(nn::si_suffix(9.72e9) == "9.72G");
}
