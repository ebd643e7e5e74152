// tests/apps/test_commands.cpp — the `nabla` subcommands driven through CLI11 as a user types them: `forward`
// reproduces PyTorch's outputs and gradients from converted weights (tests/fixtures/make_models.py), bad input names
// the file, every option of `train` has a help text with its default, `bench` counts a step's FLOPs, and the
// inference commands take --device; `train panet --recipe sr` fills in what the user did not set, and `train
// --resume` continues with the run's own options.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/models.h"
#include "apps/resume_args.h"
#include "core/autocast.h"
#include "nn/data/image.h"
#include "support/support.h"

namespace fs = std::filesystem;

namespace {

// Runs `nabla ARGS...` in-process (main.cpp's command set).
void run(std::vector<std::string> args) {
    CLI::App app{"nabla"};
    app.require_subcommand(1);
    nabla::apps::add_task_commands(app);
    nabla::apps::add_detection_commands(app);  // val, detect
    nabla::apps::add_bench_command(app);
    nabla::apps::add_forward_command(app);
    nabla::apps::add_info_command(app);
    std::reverse(args.begin(), args.end());  // CLI11 takes them last-first
    app.parse(args);
}

// What `nabla ARGS...` prints on stdout (file descriptor 1 pointed at a file while it runs).
std::string run_stdout(const std::vector<std::string>& args, const std::string& path) {
    std::fflush(stdout);
    const int saved = ::dup(1), fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::close(fd);
    try {
        run(args);
    } catch (...) {
        std::fflush(stdout);
        ::dup2(saved, 1);
        ::close(saved);
        throw;
    }
    std::fflush(stdout);
    ::dup2(saved, 1);
    ::close(saved);
    std::ifstream f(path);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("nabla bench: a training step counts 3x the forward's FLOPs; --peak adds the fraction, or names a bad file",
          "[commands]") {
    TempDir dir;
    {
        std::ofstream(dir.file("peak.json")) << R"({"cpu":"test","conv_f32_gflops":0.5})";
        std::ofstream(dir.file("bad.json")) << R"({"cpu":"test"})";
    }
    const std::vector<std::string> base{"bench", "yolov5n", "--batch", "1",        "--size",
                                        "64",    "--steps", "1",       "--warmup", "0"};
    auto with = [&](std::vector<std::string> extra) {
        std::vector<std::string> a = base;
        a.insert(a.end(), extra.begin(), extra.end());
        return nlohmann::json::parse(run_stdout(a, dir.file("out.json")));
    };
    const auto train = with({"--peak", dir.file("peak.json")});
    const auto infer = with({"--infer"});
    // yolov5n: 4.5 GFLOPs at 640 (ultralytics' count), so about 0.045 at 64, all of it in convolutions
    CHECK(infer["gflop_per_step"].get<double>() == Approx(0.045).epsilon(0.15));
    CHECK(train["gflop_per_step"].get<double>() == Approx(3 * infer["gflop_per_step"].get<double>()).epsilon(0.05));
    CHECK(train["gflop_s"].get<double>() > 0);
    // the fraction is gflop_s / 0.5, each rounded (gflop_s to 4 significant digits, the fraction to 0.001)
    CHECK(train["conv_peak_fraction"].get<double>() * 0.5 ==
          Approx(train["gflop_s"].get<double>()).epsilon(0.001).margin(0.0006));
    CHECK(!infer.contains("conv_peak_fraction"));
    REQUIRE_THROWS_WITH(with({"--peak", dir.file("bad.json")}),
                        Catch::Contains("bad.json") && Catch::Contains("conv_f32_gflops"));
    REQUIRE_THROWS_WITH(with({"--peak", dir.file("missing.json")}), Catch::Contains("missing.json"));
}

TEST_CASE("nabla forward: outputs and gradients equal PyTorch's for converted weights", "[commands]") {
    TempDir dir;
    const TensorMap io = load_fixture("models/tinyseg_io");
    save_safetensors(dir.file("x.safetensors"), {{"input", io.at("input")}});
    const std::string weights = fixture_path("models/tinyseg_weights");

    run({"forward", "tinyseg", "--set", "width=8", "--weights", weights, "--input", dir.file("x.safetensors"),
         "--output", dir.file("eval.safetensors")});
    const TensorMap eval = load_safetensors(dir.file("eval.safetensors"));
    REQUIRE(eval.size() == 1);
    REQUIRE_THAT(eval.at("out0"), ClosesTo(io.at("eval.out0"), 1e-5, 1e-4));

    run({"forward", "tinyseg", "--set", "width=8", "--weights", weights, "--input", dir.file("x.safetensors"),
         "--output", dir.file("train.safetensors"), "--train", "--backward"});
    const TensorMap train = load_safetensors(dir.file("train.safetensors"));
    REQUIRE_THAT(train.at("out0"), ClosesTo(io.at("train.out0"), 1e-5, 1e-4));
    int64_t grads = 0;
    for (const auto& [key, expected] : io) {
        if (!key.starts_with("grad.")) continue;
        INFO(key);
        REQUIRE_THAT(train.at(key.substr(5)), ClosesTo(expected, 1e-4, 1e-3));
        ++grads;
    }
    REQUIRE(grads == 14);  // 4 convs x (weight, bias) + 3 BatchNorms x (weight, bias)
}

TEST_CASE("nabla forward: a wrong weights file or input names the file and the problem", "[commands]") {
    TempDir dir;
    save_safetensors(dir.file("x.safetensors"), {{"image", zeros({1, 3, 8, 8})}});
    REQUIRE_THROWS_WITH(run({"forward", "tinyseg", "--input", dir.file("x.safetensors"), "--output", dir.file("y")}),
                        Catch::Contains("no tensor named 'input'") && Catch::Contains("image"));
    const std::string weights = fixture_path("models/tinyseg_weights");  // width 8, not 16
    save_safetensors(dir.file("x.safetensors"), {{"input", zeros({1, 3, 8, 8})}});
    REQUIRE_THROWS_WITH(run({"forward", "tinyseg", "--weights", weights, "--input", dir.file("x.safetensors"),
                             "--output", dir.file("y")}),
                        Catch::Contains("tinyseg_weights.safetensors") && Catch::Contains("shape mismatch") &&
                            Catch::Contains("enc1.conv.weight: file [8, 3, 3, 3] vs model [16, 3, 3, 3]"));
    REQUIRE_THROWS_WITH(run({"forward", "nosuchnet", "--input", dir.file("x.safetensors"), "--output", dir.file("y")}),
                        Catch::Contains("unknown model 'nosuchnet'") && Catch::Contains("tinyseg"));
    REQUIRE_THROWS_WITH(run({"forward", "tinyseg", "--set", "depth=3", "--input", dir.file("x.safetensors"), "--output",
                             dir.file("y")}),
                        Catch::Contains("--set depth") && Catch::Contains("no such argument"));
}

TEST_CASE("nabla info MODEL: the layer table at the model's own input size; an impossible size is refused clearly",
          "[commands]") {
    REQUIRE(nabla::apps::find_model("panet").input_size == 48);  // the LR side of the reference's 96x96 crops
    REQUIRE_NOTHROW(run({"info", "panet"}));
    REQUIRE_NOTHROW(run({"info", "tinyseg"}));
    // PANet at 1000x1000: the attention's scores would need terabytes; the error says so instead of std::bad_alloc.
    REQUIRE_THROWS_WITH(run({"info", "panet", "--size", "1000"}),
                        Catch::Contains("PyramidAttention") && Catch::Contains("GB of memory"));
}

TEST_CASE("nabla eval and predict take --precision bf16: convolutions in bfloat16 while the command runs",
          "[commands]") {
    CLI::App app{"nabla"};
    nabla::apps::add_task_commands(app);
    for (const char* parent : {"eval", "predict"})
        for (auto* cmd : app.get_subcommand(parent)->get_subcommands({})) {
            INFO(parent << " " << cmd->get_name());
            REQUIRE_THAT(cmd->help(), Catch::Contains("--precision"));
        }
    // the option sets the autocast precision when it is parsed, before the command's callback runs
    CLI::App probe{"probe"};
    nabla::Precision seen = nabla::Precision::Float32;
    nabla::apps::add_precision_option(&probe);
    probe.callback([&] { seen = nabla::autocast_precision(); });
    probe.parse(std::vector<std::string>{"bf16", "--precision"});  // CLI11 takes them last-first
    REQUIRE(seen == nabla::Precision::BFloat16);
    nabla::set_autocast_precision(nabla::Precision::Float32);
    REQUIRE_THROWS_AS(probe.parse(std::vector<std::string>{"fp16", "--precision"}), CLI::ValidationError);
}

TEST_CASE("nabla train MODEL --help explains every option with its default", "[commands]") {
    CLI::App app{"nabla"};
    nabla::apps::add_task_commands(app);
    auto* train = app.get_subcommand("train")->get_subcommand("tinyseg");
    const std::string help = train->help();
    for (const char* option :
         {"--data", "--val", "--size", "--crop", "--lr", "--epochs", "--batch", "--workers", "--seed", "--threads",
          "--device", "--resume", "--save-every", "--sample-every", "--val-every", "--max-steps", "--output"}) {
        INFO(option);
        REQUIRE_THAT(help, Catch::Contains(option));
    }
    REQUIRE_THAT(help, Catch::Contains("--lr FLOAT=0.01"));  // tinyseg's default learning rate is shown
    for (const auto* opt : train->get_options()) {
        INFO(opt->get_name());
        REQUIRE_FALSE(opt->get_description().empty());
    }
}

TEST_CASE("nabla train and bench: a bad option value is refused with the option's name", "[commands]") {
    auto message = [](const std::vector<std::string>& args) {
        try {
            run(args);
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    // an infinite or NaN rate would train a network of NaNs; CLI11's own range checks let inf through
    REQUIRE_THAT(message({"train", "pfld", "--lr", "inf"}), Catch::Contains("--lr") && Catch::Contains("finite"));
    REQUIRE_THAT(message({"train", "tinyseg", "--lr", "nan"}), Catch::Contains("--lr"));
    REQUIRE_THAT(message({"train", "yolov5s", "--lr0", "-1"}), Catch::Contains("--lr0"));
    REQUIRE_THAT(message({"train", "tinyseg", "--sparsity", "1e999"}), Catch::Contains("--sparsity"));
    // each wrong value is named alone, not in a sentence listing every option
    REQUIRE(message({"train", "tinyseg", "--epochs", "0"}) == "train tinyseg: --epochs must be >= 1, got 0");
    REQUIRE(message({"train", "tinyseg", "--workers", "-2"}) == "train tinyseg: --workers must be >= 0, got -2");
    REQUIRE(message({"bench", "tinyseg", "--threads", "-1"}) == "bench: --threads must be >= 0 (0: all cores), got -1");
}

TEST_CASE("nabla: an unknown model or command is named with the choices; info names a missing file", "[commands]") {
    CLI::App app{"nabla"};
    app.require_subcommand(1);
    nabla::apps::add_task_commands(app);
    nabla::apps::add_info_command(app);
    const std::string train = nabla::apps::unknown_subcommand(app, {"train", "foonet", "--epochs", "3"});
    REQUIRE_THAT(train, Catch::StartsWith("`nabla train`: unknown command or model 'foonet'; choose one of: ") &&
                            Catch::Contains("pfld") && Catch::Contains("yolov5s"));
    REQUIRE_THAT(nabla::apps::unknown_subcommand(app, {"trian"}),
                 Catch::Contains("'trian'") && Catch::Contains("train"));
    REQUIRE(nabla::apps::unknown_subcommand(app, {"train", "pfld", "--epochs", "3"}).empty());  // nothing unknown
    TempDir dir;
    REQUIRE_THROWS_WITH(run({"info", dir.file("missing.safetensors")}),
                        Catch::StartsWith("info: no such file: " + dir.file("missing.safetensors")));
    REQUIRE_THROWS_WITH(run({"info", "foonet"}), Catch::Contains("unknown model 'foonet'"));
}

// Every model of eval, predict, val and detect, and bench, takes --device; cuda without a GPU fails naming the device
// before anything is written; a bad name is refused naming it.
TEST_CASE("nabla eval, predict, val, detect, bench --device: cuda without a GPU, a bad name", "[commands]") {
    CLI::App app{"nabla"};
    nabla::apps::add_task_commands(app);
    nabla::apps::add_detection_commands(app);
    nabla::apps::add_bench_command(app);
    for (const char* parent : {"eval", "predict", "val", "detect"})
        for (auto* cmd : app.get_subcommand(parent)->get_subcommands({})) {
            INFO(parent << " " << cmd->get_name());
            REQUIRE_THAT(cmd->help(), Catch::Contains("--device") && Catch::Contains("cuda:N"));
        }
    REQUIRE_THAT(app.get_subcommand("bench")->help(),
                 Catch::Contains("--device") && Catch::Contains("synchronize") && Catch::Contains("device_peak_mb"));

    TempDir dir;
    // weights that load (fresh networks'), so that each command gets as far as moving its model to the device
    const std::string seg = dir.file("tinyseg.safetensors"), yolo = dir.file("yolov5n.safetensors");
    save_safetensors(seg, nabla::apps::find_model("tinyseg").make({})->state_dict());
    save_safetensors(yolo, nabla::apps::find_model("yolov5n").make({})->state_dict());
    const std::vector<std::vector<std::string>> commands{
        {"bench", "tinyseg", "--size", "16", "--steps", "1", "--warmup", "0"},
        {"bench", "yolov5n", "--size", "64", "--steps", "1", "--warmup", "0", "--infer"},
        {"eval", "tinyseg", "--weights", seg, "--data", dir.file("pairs")},
        {"predict", "tinyseg", "--weights", seg, "--input", dir.file("images"), "--output", dir.file("masks")},
        {"val", "yolov5n", "--weights", yolo, "--data", dir.file("data.yaml"), "--output", dir.file("val")},
        {"detect", "yolov5n", "--weights", yolo, "--source", dir.file("images"), "--output", dir.file("detect")},
    };
    auto with_device = [](std::vector<std::string> args, const std::string& device) {
        args.insert(args.end(), {"--device", device});
        return args;
    };
    auto message = [](const std::vector<std::string>& args) {
        try {
            run(args);
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    for (const auto& args : commands) {
        INFO(args[0] << " " << args[1]);
        // the validator names the bad value before the command runs
        REQUIRE_THROWS_AS(run(with_device(args, "cuda:x")), CLI::ValidationError);
        REQUIRE_THAT(message(with_device(args, "cuda:x")),
                     Catch::Contains("--device") && Catch::Contains("'cuda:x'") && Catch::Contains("cuda:N"));
        REQUIRE_THAT(message(with_device(args, "gpu")), Catch::Contains("'gpu'"));
    }

    bool gpu = true;  // a GPU here: the commands would run; what they print there is the device check's to see
    try {
        (void)zeros({1}, {.device = kCUDA});
    } catch (const std::exception&) {
        gpu = false;
    }
    if (gpu) {
        WARN("a CUDA device is present: the no-GPU failures of --device cuda are not checked");
        return;
    }
    for (const auto& args : commands)
        for (const char* device : {"cuda", "cuda:1"}) {
            INFO(args[0] << " " << args[1] << " --device " << device);
            // the CUDA allocator's error in a CUDA build, the missing backend's in a build without one
            REQUIRE_THAT(message(with_device(args, device)),
                         Catch::Contains("cuda") && (Catch::Contains("no CUDA device available") ||
                                                     Catch::Contains("built without the CUDA backend")));
        }
    for (const char* output : {"masks", "val", "detect"}) {
        INFO(output);
        REQUIRE_FALSE(fs::exists(dir.file(output)));  // the device fails first, before any folder is made
    }
}

TEST_CASE(
    "nabla train panet --recipe sr: the residual network without BatchNorm, bicubic LR, its lr; given options win",
    "[commands]") {
    TempDir photos, runs;
    nabla::Generator g(7);
    for (const char* name : {"a", "b", "c", "d"})
        nabla::data::write_png(photos.file(std::string(name) + ".png"),
                               (nabla::rand({3, 40, 40}, {}, &g) * 255.0).to(nabla::kUInt8));
    auto config_of = [&](const std::string& run_name, std::vector<std::string> extra) {
        std::vector<std::string> args{"train",       "panet",
                                      "--recipe",    "sr",
                                      "--data",      photos.path.string(),
                                      "--crop",      "32",
                                      "--epochs",    "1",
                                      "--max-steps", "1",
                                      "--workers",   "0",
                                      "--set",       "channels=8",
                                      "--set",       "blocks=2",
                                      "--set",       "level=1",
                                      "--output",    runs.file(run_name)};
        args.insert(args.end(), extra.begin(), extra.end());
        run(args);
        std::ifstream f(runs.file(run_name + "/args.json"));
        return nlohmann::json::parse(f);
    };
    const auto sr = config_of("sr", {});
    REQUIRE(sr["recipe"] == "sr");
    REQUIRE(sr["degradation"] == "bicubic");
    REQUIRE(sr["lr"].get<double>() == Approx(5e-4));
    const auto set = sr["set"].get<std::vector<std::string>>();
    REQUIRE(std::count(set.begin(), set.end(), "skip=bicubic") == 1);
    REQUIRE(std::count(set.begin(), set.end(), "norm=none") == 1);
    const auto mine = config_of("mine", {"--degradation", "maxpool", "--lr", "1e-3", "--set", "norm=batch"});
    REQUIRE(mine["degradation"] == "maxpool");
    REQUIRE(mine["lr"].get<double>() == Approx(1e-3));
    const auto mine_set = mine["set"].get<std::vector<std::string>>();
    REQUIRE(std::count(mine_set.begin(), mine_set.end(), "norm=batch") == 1);
    REQUIRE(std::count(mine_set.begin(), mine_set.end(), "norm=none") == 0);
    REQUIRE(std::count(mine_set.begin(), mine_set.end(), "skip=bicubic") == 1);

    SECTION("--resume continues with the run's own options; those given again win") {
        CLI::App app{"nabla"};
        nabla::apps::add_task_commands(app);
        std::vector<std::string> added;
        const auto args = nabla::apps::with_run_options(
            app, {"train", "panet", "--resume", runs.file("sr"), "--max-steps", "2", "--epochs=3"}, &added);
        const auto has = [&](const std::string& option, const std::string& value) {
            for (size_t i = 0; i + 1 < added.size(); ++i)
                if (added[i] == option && added[i + 1] == value) return true;
            return false;
        };
        REQUIRE(has("--data", photos.path.string()));
        REQUIRE(has("--crop", "32"));
        REQUIRE(has("--recipe", "sr"));
        REQUIRE(has("--degradation", "bicubic"));
        REQUIRE(has("--set", "channels=8"));
        REQUIRE(has("--set", "skip=bicubic"));
        REQUIRE(has("--lr", "0.0005"));
        REQUIRE(std::count(added.begin(), added.end(), "--epochs") == 0);     // given as --epochs=3
        REQUIRE(std::count(added.begin(), added.end(), "--max-steps") == 0);  // not a config key
        REQUIRE(args.size() == 7 + added.size());
        // The resumed run builds the 8-channel network the checkpoint holds (a strict load: the default 64 would
        // fail) and takes its second step.
        run(args);
        std::ifstream f(runs.file("sr/args.json"));
        const auto resumed = nlohmann::json::parse(f);
        REQUIRE(resumed["epochs"] == 3);
        REQUIRE(resumed["lr"].get<double>() == Approx(5e-4));

        // Nothing is added without --resume, or for a checkpoint that does not exist (the trainer names it).
        REQUIRE(nabla::apps::with_run_options(app, {"train", "panet", "--epochs", "2"}) ==
                std::vector<std::string>{"train", "panet", "--epochs", "2"});
        REQUIRE(nabla::apps::with_run_options(app, {"train", "panet", "--resume", runs.file("none")}).size() == 4);
    }
}
