// tests/apps/test_slimming.cpp — apps/slimming.h: the |γ| log by hand; sparsity training pulls the prunable γ
// toward 0 against the same run without it, and the residual groups' γ too with --prune-residual; `nabla slim` runs
// two rounds of sparsity -> prune -> fine-tune end to end, each round smaller, its files in proportion to the
// parameters, the pruned checkpoints loadable as they are; and any other model (tinyseg) sparsity-trained, pruned,
// loaded, fine-tuned and resumed as the narrower network.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "apps/csv_log.h"
#include "apps/detection.h"
#include "apps/models.h"
#include "apps/segmentation.h"
#include "apps/segmentation_data.h"
#include "apps/shapes_synth.h"
#include "apps/slimming.h"
#include "nn/checkpoint.h"
#include "nn/normalization.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace nabla::apps;

namespace {

void tiny_shapes(const std::string& dir) {
    generate_shapes(dir, {.train = 16,
                          .val = 4,
                          .size = 64,
                          .classes = 2,
                          .seed = 3,
                          .photos = std::string(NABLA_SOURCE_DIR) + "/data/photos"});
}

DetectionTrainOptions tiny_run(const std::string& data, const std::string& output) {
    DetectionTrainOptions o;
    o.model = "yolov5n";
    o.data = data;
    o.img_size = 64;
    o.min_warmup_iterations = 0, o.hyp.warmup_epochs = 0;  // the full lr from the first step
    o.train.epochs = 2, o.train.batch = 8, o.train.workers = 0, o.train.seed = 1;
    o.train.output = output;
    return o;
}

// The run's last checkpoint.
nn::Checkpoint last_checkpoint(const TrainResult& r) {
    return nn::load_checkpoint((fs::path(r.run_dir) / "weights" / "last.safetensors").string());
}

}  // namespace

TEST_CASE("slimming: the |gamma| columns and pictures of one epoch", "[slimming]") {
    TempDir dir;
    Logs row;
    log_bn_gammas({0.5, 0.001, 0.2, 0.3, 0.005, 1.0}, 2e-4, 0, dir.path.string(), row);
    // sorted: 0.001 0.005 0.2 0.3 0.5 1.0; numpy's linear quantiles: q10 at 0.5 -> 0.003, q50 at 2.5 -> 0.25,
    // q90 at 4.5 -> 0.75
    REQUIRE(row.size() == 5);
    REQUIRE(row[0] == std::pair<std::string, double>{"sr", 2e-4});
    REQUIRE(row[1].first == "bn/q10");
    REQUIRE(row[1].second == Approx(0.003));
    REQUIRE(row[2].second == Approx(0.25));
    REQUIRE(row[3].second == Approx(0.75));
    REQUIRE(row[4] == std::pair<std::string, double>{"bn/small", 2.0 / 6.0});
    REQUIRE(fs::exists(dir.path / "bn_hist" / "epoch_001.png"));
    REQUIRE(fs::exists(dir.path / "bn_hist.png"));
}

TEST_CASE("slimming: sparsity training pulls the prunable gammas toward zero", "[slimming]") {
    TempDir dir;
    tiny_shapes(dir.file("shapes"));
    DetectionTrainOptions plain = tiny_run(dir.file("shapes"), dir.file("plain"));
    DetectionTrainOptions sparse = tiny_run(dir.file("shapes"), dir.file("sparse"));
    sparse.train.sparsity = 0.2;
    const TrainResult a = train_detection(plain), b = train_detection(sparse);
    REQUIRE(b.steps == 4);  // 2 batches per epoch, no accumulation in sparsity training
    const auto la = CsvLog((fs::path(a.run_dir) / "results.csv").string()).read();
    const auto lb = CsvLog((fs::path(b.run_dir) / "results.csv").string()).read();
    REQUIRE(lb.column("sr").size() == 2);  // sr (1 - 0.9 epoch / epochs)
    REQUIRE(lb.column("sr")[0] == Approx(0.2));
    REQUIRE(lb.column("sr")[1] == Approx(0.2 * (1 - 0.9 / 2)));
    REQUIRE(la.column("sr") == std::vector<double>{0.0, 0.0});
    // the median |γ| falls by lr x sr per step (x the momentum's gain) more than without the term
    REQUIRE(lb.column("bn/q50").back() < la.column("bn/q50").back() - 0.01);
    REQUIRE(fs::exists(fs::path(b.run_dir) / "bn_hist" / "epoch_002.png"));

    // --prune-residual: the term also reaches the residual groups (here C3 model.2's: its cv1 and the bottleneck's
    // cv2, tied by the add), which the reference's term leaves alone
    DetectionTrainOptions residual = tiny_run(dir.file("shapes"), dir.file("residual"));
    residual.train.sparsity = 0.2;
    residual.train.prune_residual = true;
    const TrainResult c = train_detection(residual);
    const auto mean_abs_gamma = [](const TrainResult& r, const std::string& norm) {
        return mean(abs(last_checkpoint(r).model.at(norm + ".weight"))).item<double>();
    };
    for (const char* norm : {"model.2.cv1.bn", "model.2.m.0.cv2.bn", "model.2.m.0.cv1.bn"}) {
        INFO(norm);
        REQUIRE(mean_abs_gamma(c, norm) < mean_abs_gamma(b, norm) - 0.01);
    }
    // a non-residual BatchNorm gets the same term either way
    REQUIRE(mean_abs_gamma(c, "model.2.cv2.bn") == Approx(mean_abs_gamma(b, "model.2.cv2.bn")).margin(0.01));
    // the checkpoint's config keeps both, so that --resume trains on with them
    const auto config = nlohmann::json::parse(last_checkpoint(c).config);
    REQUIRE(config["sparsity"].get<double>() == Approx(0.2));
    REQUIRE(config["prune_residual"] == true);
}

TEST_CASE("slimming: two rounds of sparsity, pruning and fine-tuning end to end", "[slimming]") {
    TempDir dir;
    tiny_shapes(dir.file("shapes"));
    SlimOptions o;
    o.train = tiny_run(dir.file("shapes"), "");
    o.train.train.epochs = 1;
    o.train.train.sparsity = 0.01;
    o.rounds = 2;
    o.control = true;
    o.prune = {
        .percent = 0.4, .min_keep = 4, .multiple = 4, .latency_size = 64, .latency_batches = {1}, .latency_steps = 1};
    o.output = dir.file("slim");
    const std::vector<SlimRound> rounds = slim_detector(o);
    REQUIRE(rounds.size() == 2);
    for (const SlimRound& r : rounds) {
        INFO("round " << r.round);
        const PruneReport& p = r.prune;
        REQUIRE(p.params_after < p.params_before);
        REQUIRE(p.gflops_after < p.gflops_before);
        REQUIRE(p.map50_before >= 0);  // validated before and after
        // the file shrinks with the parameters (float32 tensors plus a header)
        const double file_ratio = static_cast<double>(p.bytes_after) / static_cast<double>(p.bytes_before);
        const double param_ratio = static_cast<double>(p.params_after) / static_cast<double>(p.params_before);
        REQUIRE(file_ratio == Approx(param_ratio).epsilon(0.05));
        for (const PruneLayer& l : p.layers) REQUIRE(l.after >= std::min<int64_t>(4, l.before));
        REQUIRE(fs::exists(r.weights));
        // the unpruned control trained the sparsity + fine-tune epochs (1 + 1) and validated
        REQUIRE(r.map50_control >= 0);
        const auto control =
            CsvLog((fs::path(o.output) / fmt::format("round{}", r.round) / "control" / "results.csv").string()).read();
        REQUIRE(control.column("epoch").size() == 2);
        REQUIRE(control.column("sr") == std::vector<double>{0.0, 0.0});
    }
    REQUIRE(rounds[1].prune.params_before == rounds[0].prune.params_after);  // round 2 prunes round 1's network
    REQUIRE(fs::exists(fs::path(o.output) / "slim.md"));
    REQUIRE(fs::exists(fs::path(o.output) / "slim.json"));
    REQUIRE(fs::exists(fs::path(o.output) / "round2" / "pruned_report.json"));
    // the pruned checkpoint loads by itself, with its class names
    const LoadedDetector d = load_detector("yolov5n", (fs::path(o.output) / "round2" / "pruned.safetensors").string());
    REQUIRE(d.model->num_parameters() == rounds[1].prune.params_after);
    REQUIRE(d.names == std::vector<std::string>{"circle", "square"});

    // a round added later: from round 2's fine-tuned network, its control continuing round 2's control
    SlimOptions more = o;
    more.rounds = 1;
    more.train.train.weights = rounds[1].weights;
    more.control_weights = (fs::path(o.output) / "round2" / "control" / "weights" / "last.safetensors").string();
    more.output = dir.file("slim3");
    more.finetune_lr0 = 0.02;  // the fine-tune alone trains at another learning rate
    const std::vector<SlimRound> third = slim_detector(more);
    REQUIRE(third.size() == 1);
    REQUIRE(third[0].prune.params_before == rounds[1].prune.params_after);
    const auto args = [&](const char* run) {
        std::ifstream f(fs::path(more.output) / "round1" / run / "args.json");
        return nlohmann::json::parse(f);
    };
    REQUIRE(args("sparsity")["weights"] == rounds[1].weights);
    REQUIRE(args("control")["weights"] == more.control_weights);
    REQUIRE(args("finetune")["lr0"].get<double>() == Approx(0.02));
    for (const char* run : {"sparsity", "control"}) REQUIRE(args(run)["lr0"].get<double>() == Approx(o.train.hyp.lr0));
}

TEST_CASE("slimming: any model prunes; its file loads, fine-tunes and resumes as the narrower network", "[slimming]") {
    TempDir dir;
    manual_seed(5);
    auto model = find_model("tinyseg").make(ModelArgs{});
    for (auto& [path, m] : model->named_modules())  // spread |γ| so that the threshold cuts inside layers
        if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(m)) {
            NoGradGuard g;
            bn->weight.copy_(rand({bn->num_features}) + 0.1);
        }
    save_safetensors(dir.file("w.safetensors"), model->state_dict());
    const PruneReport r = prune_network({.model = "tinyseg",
                                         .weights = dir.file("w.safetensors"),
                                         .percent = 0.5,
                                         .min_keep = 2,
                                         .latency_batches = {1},
                                         .latency_steps = 1});
    REQUIRE(r.params_after < r.params_before);
    REQUIRE(r.output == dir.file("w_pruned.safetensors"));
    // a model without BatchNorms has nothing to prune: the error says so and lists the groups
    auto panet = find_model("panet").make(ModelArgs{});
    save_safetensors(dir.file("panet.safetensors"), panet->state_dict());
    REQUIRE_THROWS_WITH(prune_network({.model = "panet", .weights = dir.file("panet.safetensors")}),
                        Catch::Contains("no prunable BatchNorm") && Catch::Contains("group"));

    // a fresh tinyseg narrows itself to the file (marked pruned) and computes what the pruner's network computed
    auto fresh = find_model("tinyseg").make(ModelArgs{});
    nn::load_weights_into(*fresh, r.output);
    REQUIRE(fresh->num_parameters() == r.params_after);
    auto again = find_model("tinyseg").make(ModelArgs{});
    nn::load_weights_into(*again, r.output);
    fresh->eval(), again->eval();
    {
        const Tensor x = randn({1, 3, 32, 32});
        NoGradGuard no_grad;
        REQUIRE_THAT(fresh->call_outputs(x)[0], ClosesTo(again->call_outputs(x)[0], 0, 0));
    }

    // fine-tune it, stop in the middle, resume: the run stays the narrower network
    generate_ellipse_pairs(dir.file("data/train"), 12, 24, 7);
    generate_ellipse_pairs(dir.file("data/val"), 4, 24, 8);
    SegmentationTrainOptions o;
    o.model = "tinyseg";
    o.data = dir.file("data/train");
    o.val = dir.file("data/val");
    o.size = 24, o.crop = 20, o.lr = 1e-2;
    o.train.epochs = 2, o.train.batch = 4, o.train.workers = 0, o.train.max_steps = 3;

    // every trainer takes --sparsity: the L1 term and the |γ| log
    SegmentationTrainOptions sparse = o;
    sparse.train.sparsity = 0.1;
    sparse.train.output = dir.file("sparse");
    const TrainResult s = train_segmentation(sparse);
    const auto log = CsvLog((fs::path(s.run_dir) / "results.csv").string()).read();
    REQUIRE(log.column("sr").size() == 1);
    REQUIRE(log.column("sr")[0] == Approx(0.1));
    REQUIRE(log.column("bn/q50")[0] < 1.0);  // every γ starts at 1
    // fit() stores the sparsity in every trainer's config (what --resume reads), not only in YOLO's
    REQUIRE(nlohmann::json::parse(last_checkpoint(s).config)["sparsity"].get<double>() == Approx(0.1));
    REQUIRE(fs::exists(fs::path(s.run_dir) / "bn_hist" / "epoch_001.png"));

    o.train.weights = r.output;
    o.train.output = dir.file("finetune");
    const TrainResult a = train_segmentation(o);
    REQUIRE(a.steps == 3);
    const nn::Checkpoint mid = nn::load_checkpoint(fs::path(a.run_dir) / "weights" / "last.safetensors");
    REQUIRE(mid.extra.contains(nn::kPrunedKey));
    o.train.max_steps = 0;
    o.train.resume = a.run_dir;
    const TrainResult b = train_segmentation(o);
    REQUIRE(b.steps == 6);
    auto tuned = find_model("tinyseg").make(ModelArgs{});
    nn::load_weights_into(*tuned, (fs::path(b.run_dir) / "weights" / "last.safetensors").string());
    REQUIRE(tuned->num_parameters() == r.params_after);
}
