// apps/slimming.cpp — the |γ| log of sparsity training and `nabla prune yolov5*` (apps/slimming.h, docs/slimming.md).
#include "apps/slimming.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <tuple>

#include "apps/commands.h"
#include "apps/csv_log.h"
#include "apps/detection.h"
#include "apps/detection_data.h"
#include "apps/detection_train.h"
#include "apps/detection_yaml.h"
#include "apps/models.h"
#include "autograd/grad_mode.h"
#include "core/trace/trace.h"
#include "nn/checkpoint.h"
#include "nn/data/plot.h"
#include "nn/prune.h"
#include "ops/factory.h"

namespace nabla::apps {
namespace fs = std::filesystem;

namespace {

double quantile(const std::vector<double>& sorted, double q) {  // linear interpolation, as numpy's default
    if (sorted.empty()) return std::nan("");
    const double pos = q * static_cast<double>(sorted.size() - 1);
    const auto i = static_cast<size_t>(std::floor(pos));
    const size_t j = std::min(i + 1, sorted.size() - 1);
    return sorted[i] + (pos - static_cast<double>(i)) * (sorted[j] - sorted[i]);
}

// A histogram as a step outline: 50 bins from 0 to the largest value.
data::Series histogram(const std::vector<double>& sorted, const std::string& name) {
    constexpr int bins = 50;
    const double top = sorted.empty() || sorted.back() <= 0 ? 1.0 : sorted.back();
    std::vector<double> count(bins, 0.0);
    for (double v : sorted) count[std::min(bins - 1, static_cast<int>(v / top * bins))] += 1;
    data::Series s{.name = name};
    for (int b = 0; b < bins; ++b) {
        for (double edge : {b * top / bins, (b + 1) * top / bins}) {
            s.x.push_back(edge);
            s.y.push_back(count[b]);
        }
    }
    return s;
}

std::shared_ptr<models::YOLOv5> build_like(const models::YOLOv5& base, const TensorMap& state) {
    models::YOLOv5Args args{.nc = base.nc,
                            .in_channels = base.in_channels,
                            .depth_multiple = base.depth_multiple,
                            .width_multiple = base.width_multiple,
                            .channels = models::YOLOv5::channels_from_state_dict(state)};
    auto m = std::make_shared<models::YOLOv5>(base.yaml, args);
    m->load_state_dict(state, true);
    m->eval();
    return m;
}

// "model.2.cv1" before "model.13.cv1": numbers compared as numbers (the layers in network order).
bool natural_less(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
            size_t ie = i, je = j;
            while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
            while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
            const long long x = std::stoll(a.substr(i, ie - i)), y = std::stoll(b.substr(j, je - j));
            if (x != y) return x < y;
            i = ie, j = je;
        } else {
            if (a[i] != b[j]) return a[i] < b[j];
            ++i, ++j;
        }
    }
    return a.size() - i < b.size() - j;
}

double median_forward_ms(nn::Module& model, int64_t in_channels, int64_t batch, int64_t size, int64_t steps) {
    NoGradGuard no_grad;
    const Tensor x = randn({batch, in_channels, size, size}).contiguous(MemoryFormat::ChannelsLast);
    model.call_outputs(x);  // warmup: primitives, allocations
    std::vector<double> ms;
    for (int64_t i = 0; i < steps; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        model.call_outputs(x);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

double gflops(nn::Module& model, int64_t in_channels, int64_t size) {
    NoGradGuard no_grad;
    const Tensor x = zeros({1, in_channels, size, size});
    return static_cast<double>(trace::count_flops([&] { model.call_outputs(x); })) / 1e9;
}

}  // namespace

void log_bn_gammas(const std::vector<double>& abs_gammas, double sr, int64_t epoch, const std::string& run_dir,
                   Logs& row) {
    std::vector<double> g = abs_gammas;
    std::sort(g.begin(), g.end());
    const double small = g.empty() ? 0.0
                                   : static_cast<double>(std::lower_bound(g.begin(), g.end(), 0.01) - g.begin()) /
                                         static_cast<double>(g.size());
    const Logs columns{{"sr", sr},
                       {"bn/q10", quantile(g, 0.1)},
                       {"bn/q50", quantile(g, 0.5)},
                       {"bn/q90", quantile(g, 0.9)},
                       {"bn/small", small}};
    row.insert(row.end(), columns.begin(), columns.end());

    const fs::path dir = fs::path(run_dir) / "bn_hist";
    fs::create_directories(dir);
    data::plot_curves((dir / fmt::format("epoch_{:03d}.png", epoch + 1)).string(),
                      fmt::format("|gamma| of {} prunable BatchNorm channels, epoch {}", g.size(), epoch + 1),
                      {histogram(g, "count")});
    // the quantiles over the epochs: the rows written so far, and this one
    const CsvLog::Table t = CsvLog((fs::path(run_dir) / "results.csv").string()).read();
    std::vector<data::Series> curves;
    for (const char* q : {"bn/q10", "bn/q50", "bn/q90"}) {
        data::Series s{.name = q, .x = t.column("epoch"), .y = t.column(q)};
        if (s.y.size() != s.x.size()) s.x.clear(), s.y.clear();
        s.x.push_back(static_cast<double>(epoch + 1));
        for (const auto& [k, v] : columns)
            if (k == q) s.y.push_back(v);
        curves.push_back(std::move(s));
    }
    data::plot_curves((fs::path(run_dir) / "bn_hist.png").string(), "quantiles of |gamma| over the epochs", curves);
}

namespace {

std::string pruned_output(const PruneOptions& o) {
    if (!o.output.empty()) return o.output;
    const fs::path w(o.weights);
    return (w.parent_path() / (w.stem().string() + "_pruned.safetensors")).string();
}

// A network with nothing to prune is an error that shows why (every group and what pins it).
void check_prunable(const PruneOptions& o, const nn::ChannelGraph& graph) {
    if (graph.prunable_norms().empty())
        throw ValueError(
            fmt::format("prune {}: no prunable BatchNorm in {} (network slimming needs a BatchNorm after "
                        "a conv whose channels nothing pins):\n{}",
                        o.model, o.weights, graph.describe()));
}

struct Pruned {
    nn::PrunePlan plan;
    TensorMap state;  // the narrower weights
};

// The steps every model shares: trace the loaded network on `example`, refuse one with nothing to prune, plan at
// o.percent (printed) and narrow its weights.
Pruned prune_weights(const PruneOptions& o, nn::Module& model, const Tensor& example) {
    const TensorMap state = model.state_dict();
    const nn::ChannelGraph graph = nn::trace_channels(model, example, o.prune_residual);
    check_prunable(o, graph);
    Pruned p{.plan = nn::plan_slimming(
                 graph, state,
                 {.percent = o.percent, .min_keep = o.min_keep, .multiple = o.multiple, .normalizer = o.normalizer})};
    fmt::print(
        "prune {}: {} prunable BatchNorms; threshold {}|gamma| {:.4g} at {:.0f}%; {} -> {} channels; "
        "suggested maximum percent without min_keep: {:.1f}%\n",
        o.model, graph.prunable_norms().size(), o.normalizer == "none" ? "" : o.normalizer + "-normalized ",
        p.plan.threshold, 100 * o.percent, p.plan.channels_before, p.plan.channels_after, 100 * p.plan.max_percent);
    p.state = nn::prune_state_dict(graph, p.plan, state, o.compensate);
    return p;
}

// --threads applied and --weights present, before anything is loaded.
void start(const PruneOptions& o) {
    set_threads(o.threads, "prune");
    NB_CHECK_VALUE(!o.weights.empty(), "prune ", o.model, ": --weights is required");
}

// What every model's report has: the plan's numbers, each conv's widths, parameters, GFLOPs, the file sizes (the
// model alone before and after, in the same checkpoint format; the pruned one is written to r.output, marked
// pruned) and the latency.
void measure(PruneReport& r, const PruneOptions& o, nn::Module& base, nn::Module& pruned, const nn::PrunePlan& plan,
             nn::Checkpoint ck, int64_t in_channels, int64_t size) {
    r.threshold = plan.threshold;
    r.max_percent = plan.max_percent;
    r.channels_before = plan.channels_before;
    r.channels_after = plan.channels_after;
    const TensorMap a = base.state_dict(), b = pruned.state_dict();
    for (const auto& [key, t] : a) {  // every conv, by its 4-D weight
        const std::string suffix = ".weight";
        if (t.dim() == 4 && key.ends_with(suffix))
            r.layers.push_back({key.substr(0, key.size() - suffix.size()), t.size(0), b.at(key).size(0)});
    }
    std::sort(r.layers.begin(), r.layers.end(),
              [](const PruneLayer& x, const PruneLayer& y) { return natural_less(x.conv, y.conv); });
    r.output = pruned_output(o);
    if (!fs::path(r.output).parent_path().empty()) fs::create_directories(fs::path(r.output).parent_path());
    ck.model = b;
    ck.extra[nn::kPrunedKey] = "1";
    nn::save_checkpoint(r.output, ck);
    r.bytes_after = static_cast<int64_t>(fs::file_size(r.output));
    ck.model = a;
    const std::string tmp = r.output + ".unpruned.tmp";
    nn::save_checkpoint(tmp, ck);
    r.bytes_before = static_cast<int64_t>(fs::file_size(tmp));
    fs::remove(tmp);
    r.params_before = base.num_parameters();
    r.params_after = pruned.num_parameters();
    r.gflops_before = gflops(base, in_channels, size);
    r.gflops_after = gflops(pruned, in_channels, size);
    for (int64_t batch : o.latency_batches) {
        const double before = median_forward_ms(base, in_channels, batch, size, o.latency_steps);
        const double after = median_forward_ms(pruned, in_channels, batch, size, o.latency_steps);
        r.latency_ms[batch] = {before, after};
    }
}

void write_report(const PruneReport& r, const PruneOptions& o) {
    const fs::path stem = fs::path(r.output).replace_extension("");
    write_text_file(stem.string() + "_report.json", nlohmann::json::parse(r.json()).dump(2) + "\n");
    data::Series sb{.name = "before"}, sa{.name = "after"};
    for (size_t i = 0; i < r.layers.size(); ++i) {
        sb.x.push_back(static_cast<double>(i));
        sa.x.push_back(static_cast<double>(i));
        sb.y.push_back(static_cast<double>(r.layers[i].before));
        sa.y.push_back(static_cast<double>(r.layers[i].after));
    }
    data::plot_curves(stem.string() + "_report.png",
                      fmt::format("{} channels per conv, pruned at {:.0f}%", o.model, 100 * o.percent), {sb, sa});
    fmt::print("{}Pruned weights: {}; report: {}_report.json, {}_report.png\n", r.table(), r.output, stem.string(),
               stem.string());
}

}  // namespace

PruneReport prune_network(const PruneOptions& o) {
    start(o);
    const ModelSpec& spec = find_model(o.model);
    auto base = spec.make(ModelArgs{});
    nn::load_weights_into(*base, o.weights, /*strict=*/true, /*prefer_ema=*/true);  // pruned ones narrow it first
    base->eval();
    const Pruned p = prune_weights(o, *base, zeros({1, spec.in_channels, spec.input_size, spec.input_size}));
    auto pruned = spec.make(ModelArgs{});
    pruned->adopt_shapes(p.state);
    pruned->load_state_dict(p.state, true);
    pruned->eval();

    PruneReport r;
    nn::Checkpoint ck;
    ck.config = nlohmann::ordered_json{{"model", o.model}, {"pruned_from", o.weights}, {"percent", o.percent}}.dump();
    measure(r, o, *base, *pruned, p.plan, ck, spec.in_channels, o.latency_size > 0 ? o.latency_size : spec.input_size);
    write_report(r, o);
    return r;
}

PruneReport prune_detector(const PruneOptions& o) {
    start(o);
    const LoadedDetector d = load_detector(o.model, o.weights);
    models::YOLOv5& base = *d.model;
    const Pruned p = prune_weights(o, base, zeros({1, base.in_channels, 64, 64}));  // 64: a multiple of the strides
    const auto pruned = build_like(base, p.state);

    PruneReport r;
    nn::Checkpoint ck;
    const nlohmann::ordered_json channels(pruned->channels());
    ck.config = nlohmann::ordered_json{
        {"task", "detection"},
        {"model", o.model},
        {"nc", base.nc},
        {"names", d.names},
        {"depth_multiple", base.depth_multiple},
        {"pruned_from", o.weights},
        {"percent", o.percent},
        {"channels",
         channels}}.dump();
    ck.extra["channels"] = channels.dump();
    measure(r, o, base, *pruned, p.plan, ck, base.in_channels, o.latency_size > 0 ? o.latency_size : 640);

    std::string data = o.data;
    if (data.empty() && fs::exists(fs::path(default_shapes_dir()) / "data.yaml")) data = default_shapes_dir();
    if (!data.empty()) {
        const DataYaml y = find_data_yaml(data);
        const int64_t img = o.img_size > 0 ? o.img_size : (o.data.empty() ? 320 : 640);
        auto set = make_detection_dataset(y.val, y.nc, validation_options(img, 16), "val: ");
        data::DataLoader loader(set, {.batch_size = 16, .num_workers = 2}, detection_collate);
        const DetectionValResult a = validate_detection(base, loader, y.names, {.description = "before"});
        const DetectionValResult b = validate_detection(*pruned, loader, y.names, {.description = "pruned"});
        r.map50_before = a.map50, r.map_before = a.map, r.map50_after = b.map50, r.map_after = b.map;
    }
    write_report(r, o);
    return r;
}

std::string PruneReport::json() const {
    nlohmann::ordered_json j;
    j["output"] = output;
    j["threshold"] = threshold;
    j["max_percent"] = max_percent;
    j["channels"] = {{"before", channels_before}, {"after", channels_after}};
    j["params"] = {{"before", params_before}, {"after", params_after}};
    j["gflops"] = {{"before", gflops_before}, {"after", gflops_after}};
    j["bytes"] = {{"before", bytes_before}, {"after", bytes_after}};
    if (map50_before >= 0)
        j["map"] = {{"map50_before", map50_before},
                    {"map50_after", map50_after},
                    {"map_before", map_before},
                    {"map_after", map_after}};
    for (const auto& [b, ms] : latency_ms)
        j["latency_ms"][fmt::format("batch{}", b)] = {{"before", ms.first}, {"after", ms.second}};
    for (const auto& l : layers) j["layers"][l.conv] = {l.before, l.after};
    return j.dump();
}

std::string PruneReport::table() const {
    std::string s = fmt::format("{:<22} {:>10} -> {:<10}\n", "conv", "channels", "");
    for (const auto& l : layers)
        if (l.before != l.after) s += fmt::format("{:<22} {:>10} -> {:<10}\n", l.conv, l.before, l.after);
    s += fmt::format("{:<22} {:>10} -> {:<10} ({:.1f}%)\n", "parameters", params_before, params_after,
                     100.0 * static_cast<double>(params_after) / static_cast<double>(params_before));
    s += fmt::format("{:<22} {:>10.2f} -> {:<10.2f}\n", "GFLOPs", gflops_before, gflops_after);
    s += fmt::format("{:<22} {:>10.2f} -> {:<10.2f}\n", "file MB", bytes_before / 1e6, bytes_after / 1e6);
    if (map50_before >= 0) {
        s += fmt::format("{:<22} {:>10.4f} -> {:<10.4f}\n", "mAP@.5", map50_before, map50_after);
        s += fmt::format("{:<22} {:>10.4f} -> {:<10.4f}\n", "mAP@.5:.95", map_before, map_after);
    }
    for (const auto& [b, ms] : latency_ms)
        s += fmt::format("{:<22} {:>10.1f} -> {:<10.1f} ({:.2f}x)\n", fmt::format("latency b{} ms", b), ms.first,
                         ms.second, ms.first / ms.second);
    return s;
}

namespace {

// mAP@.5 and mAP@.5:.95 of a detection run's last validation.
std::pair<double, double> last_maps(const TrainResult& t) {
    std::pair<double, double> maps{0, 0};
    for (const auto& [k, v] : t.last_metrics) {
        if (k == "metrics/mAP_0.5") maps.first = v;
        if (k == "metrics/mAP_0.5:0.95") maps.second = v;
    }
    return maps;
}

// The three training runs of a round. Each differs from o.train in what the cycle sets for it: the sparsity run
// alone has the L1 term; the fine-tune has its own epochs and lr0; the control trains as long as the other two.
enum class Stage { sparsity, finetune, control };

// One training run of the cycle: o.train from `from` (a checkpoint, or "" for scratch) into <round_dir>/<stage>.
TrainResult train_stage(const SlimOptions& o, const fs::path& round_dir, Stage stage, const std::string& from) {
    const int64_t epochs = o.train.train.epochs, finetune_epochs = o.finetune_epochs > 0 ? o.finetune_epochs : epochs;
    DetectionTrainOptions t = o.train;
    t.train.sparsity = stage == Stage::sparsity ? o.train.train.sparsity : 0;
    t.train.prune_residual = o.prune.prune_residual;  // the L1 term on the groups the cut may take
    t.train.epochs = stage == Stage::sparsity   ? epochs
                     : stage == Stage::finetune ? finetune_epochs
                                                : epochs + finetune_epochs;
    if (stage == Stage::finetune && o.finetune_lr0 > 0) t.hyp.lr0 = o.finetune_lr0;
    t.train.weights = from;
    const char* name = stage == Stage::sparsity ? "sparsity" : stage == Stage::finetune ? "finetune" : "control";
    t.train.output = (round_dir / name).string();
    t.train.exist_ok = true;
    return train_detection(t);
}

// <dir>/slim.md (the table) and <dir>/slim.json after each round.
void write_slim_files(const fs::path& dir, const std::vector<SlimRound>& rounds) {
    nlohmann::ordered_json j = nlohmann::json::array();
    for (const auto& x : rounds)
        j.push_back({{"round", x.round},
                     {"prune", nlohmann::json::parse(x.prune.json())},
                     {"map50_finetuned", x.map50_finetuned},
                     {"map_finetuned", x.map_finetuned},
                     {"map50_control", x.map50_control},
                     {"map_control", x.map_control},
                     {"weights", x.weights}});
    write_text_file((dir / "slim.md").string(), slim_table(rounds));
    write_text_file((dir / "slim.json").string(), j.dump(2) + "\n");
}

}  // namespace

std::vector<SlimRound> slim_detector(SlimOptions o) {
    NB_CHECK_VALUE(o.rounds >= 1, "slim: --rounds must be >= 1, got ", o.rounds);
    NB_CHECK_VALUE(o.train.train.sparsity > 0, "slim: --sparsity must be positive, got ", o.train.train.sparsity);
    const fs::path dir = o.output.empty() ? fs::path("runs") / "slim" / o.train.model : fs::path(o.output);
    fs::create_directories(dir);
    std::string weights = o.train.train.weights;
    std::string control_weights = o.control_weights.empty() ? weights : o.control_weights;
    std::vector<SlimRound> rounds;
    for (int64_t r = 1; r <= o.rounds; ++r) {
        const fs::path round_dir = dir / fmt::format("round{}", r);
        fmt::print("slim {}: round {}/{}: sparsity training (sr {}) from {}\n", o.train.model, r, o.rounds,
                   o.train.train.sparsity, weights.empty() ? "scratch" : weights);
        const TrainResult sparse = train_stage(o, round_dir, Stage::sparsity, weights);
        if (sparse.interrupted) break;

        PruneOptions p = o.prune;
        p.model = o.train.model;
        p.weights = resume_path(sparse.run_dir);
        p.output = (round_dir / "pruned.safetensors").string();
        p.data = o.train.data;
        p.img_size = o.train.img_size;
        SlimRound row{.round = r, .prune = prune_detector(p)};

        const TrainResult t = train_stage(o, round_dir, Stage::finetune, p.output);
        std::tie(row.map50_finetuned, row.map_finetuned) = last_maps(t);
        row.weights = weights = resume_path(t.run_dir);
        bool interrupted = t.interrupted;
        if (o.control && !interrupted) {
            const TrainResult c = train_stage(o, round_dir, Stage::control, control_weights);
            std::tie(row.map50_control, row.map_control) = last_maps(c);
            control_weights = resume_path(c.run_dir);
            interrupted = c.interrupted;
        }
        rounds.push_back(row);
        write_slim_files(dir, rounds);
        fmt::print("slim {}: after round {}:\n{}", o.train.model, r, slim_table(rounds));
        if (interrupted) break;
    }
    return rounds;
}

std::string slim_table(const std::vector<SlimRound>& rounds) {
    std::string s =
        "| round | params | GFLOPs | file MB | latency ms (batch: before -> after) | mAP@.5 sparse | mAP@.5 pruned | "
        "mAP@.5 fine-tuned | mAP@.5:.95 fine-tuned | mAP@.5 unpruned control |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& x : rounds) {
        const PruneReport& p = x.prune;
        std::string latency;
        for (const auto& [b, ms] : p.latency_ms)
            latency += fmt::format("{}b{}: {:.1f} -> {:.1f}", latency.empty() ? "" : ", ", b, ms.first, ms.second);
        const auto map = [](double v) { return v < 0 ? std::string("-") : fmt::format("{:.3f}", v); };
        s += fmt::format(
            "| {} | {:.2f}M -> {:.2f}M | {:.2f} -> {:.2f} | {:.1f} -> {:.1f} | {} | {} | {} | {:.3f} | {:.3f} | {} |\n",
            x.round, p.params_before / 1e6, p.params_after / 1e6, p.gflops_before, p.gflops_after, p.bytes_before / 1e6,
            p.bytes_after / 1e6, latency, map(p.map50_before), map(p.map50_after), x.map50_finetuned, x.map_finetuned,
            map(x.map50_control));
    }
    return s;
}

namespace {

// How the cut is planned, the same for `nabla prune` and each round of `nabla slim` (nn::SlimmingOptions).
void add_cut_options(CLI::App* cmd, PruneOptions& o) {
    cmd->add_option("--min-keep", o.min_keep,
                    "Channels every layer keeps at least (its largest |gamma|), instead of emptying it")
        ->capture_default_str();
    cmd->add_option("--multiple", o.multiple,
                    "Round every pruned layer's width up to a multiple of this (1: none). 16 (oneDNN's block on "
                    "AVX-512) cost no latency here and kept more accuracy after a sparsity run: docs/slimming.md §3")
        ->capture_default_str();
    cmd->add_option("--normalizer", o.normalizer,
                    "Scale each layer's |gamma| before the global threshold: none (network slimming), mean or max "
                    "(divided by the layer's mean or largest, as Torch-Pruning's normalizer): the cut compares a "
                    "channel with its own layer's and spreads over the layers")
        ->capture_default_str()
        ->check(CLI::IsMember(nn::kNormalizers));
}

}  // namespace

void add_prune_commands(CLI::App& app) {
    auto* prune = app.add_subcommand("prune",
                                     "Prune a network's channels by the |gamma| of its BatchNorms "
                                     "(network slimming)");
    prune->require_subcommand(1);
    for (const ModelSpec& spec : model_registry()) {
        const std::string name = spec.name;
        const bool yolo = name.starts_with("yolov5");
        auto o = std::make_shared<PruneOptions>();
        o->model = name;
        auto* cmd = prune->add_subcommand(name, "Prune " + name + " weights to a physically smaller " + name);
        cmd->add_option("--weights", o->weights,
                        "Weights to prune: a checkpoint (its EMA when it has one) or a state dict; best after "
                        "sparsity training" +
                            std::string(yolo ? " (nabla train " + name + " --sparsity SR)" : ""))
            ->required();
        cmd->add_option("--percent", o->percent,
                        "Fraction of the prunable channels to remove: one global threshold over |gamma|")
            ->capture_default_str();
        add_cut_options(cmd, *o);
        cmd->add_flag("--prune-residual", o->prune_residual,
                      "Also prune residual groups (the channels an add ties), each as one unit; the reference "
                      "keeps them whole");
        cmd->add_flag("!--no-compensate", o->compensate,
                      "Drop removed channels without folding their constant act(beta) into the next layer");
        cmd->add_option("--output", o->output, "The pruned checkpoint (default: <weights>_pruned.safetensors)");
        if (yolo) {
            cmd->add_option("--data", o->data,
                            "data.yaml for mAP before and after pruning (default: the generated shapes when present)");
            cmd->add_option("--img-size", o->img_size, "Validation image size (0: 640, 320 for the generated shapes)")
                ->capture_default_str();
        }
        cmd->add_option("--latency-size", o->latency_size,
                        "Image size of the latency and GFLOPs measurements (0: " +
                            (yolo ? std::string("640") : std::to_string(spec.input_size)) + ")")
            ->capture_default_str();
        cmd->add_option("--latency-batches", o->latency_batches, "Batch sizes whose latency is measured")
            ->capture_default_str();
        cmd->add_option("--latency-steps", o->latency_steps, "Timed forwards per batch size (the median is reported)")
            ->capture_default_str();
        cmd->add_option("--threads", o->threads, "OpenMP threads (0: all cores)")->capture_default_str();
        cmd->callback([o, yolo] { yolo ? prune_detector(*o) : prune_network(*o); });
    }

    auto* slim = app.add_subcommand("slim",
                                    "Network slimming, whole: sparsity training, pruning and fine-tuning, "
                                    "repeated; a table of every round");
    slim->require_subcommand(1);
    for (const char* size : {"n", "s", "m", "l", "x"}) {
        const std::string name = std::string("yolov5") + size;
        auto o = std::make_shared<SlimOptions>();
        o->train.model = name;
        o->train.train.sparsity = 1e-4;
        o->train.train.epochs = 100, o->train.train.batch = 16;
        auto* cmd = slim->add_subcommand(name, "sparsity -> prune -> fine-tune " + name + ", --rounds times");
        cmd->add_option(
            "--data", o->train.data,
            "A data.yaml or a folder holding one (default: generated shapes in " + default_shapes_dir() + ")");
        cmd->add_option("--weights", o->train.train.weights, "Weights the first round starts from (default: scratch)");
        cmd->add_option("--rounds", o->rounds, "Sparsity -> prune -> fine-tune rounds")->capture_default_str();
        cmd->add_option("--sparsity", o->train.train.sparsity, "sr of the sparsity runs (nabla train --sparsity)")
            ->capture_default_str()
            ->check(finite_non_negative());
        cmd->add_option("--epochs", o->train.train.epochs, "Epochs of each sparsity run")->capture_default_str();
        cmd->add_option("--finetune-epochs", o->finetune_epochs, "Epochs of each fine-tune (0: --epochs)")
            ->capture_default_str();
        cmd->add_option("--finetune-lr0", o->finetune_lr0,
                        "Initial learning rate of each fine-tune (0: --lr0); the pruned network is under-trained: 0.02 "
                        "ended 0.010 mAP@.5 above 0.01 in both measured rounds (docs/slimming.md §7)")
            ->capture_default_str()
            ->check(finite_non_negative());
        cmd->add_option("--percent", o->prune.percent, "Fraction of the prunable channels each round removes")
            ->capture_default_str();
        cmd->add_flag("--control", o->control,
                      "Also train the unpruned network for each round's sparsity + fine-tune epochs, without the L1 "
                      "term: the baseline of the same total epochs (doubles the time)");
        cmd->add_option("--control-weights", o->control_weights,
                        "Unpruned weights the first round's control starts from (default: --weights): to add a round "
                        "to a cycle, start from its last fine-tuned network and its last control")
            ->check(CLI::ExistingFile);
        add_cut_options(cmd, o->prune);
        cmd->add_flag("--prune-residual", o->prune.prune_residual,
                      "Sparsity-train and prune the residual groups too, each as one unit (the reference leaves them "
                      "whole)");
        cmd->add_option("--img-size", o->train.img_size, "Training and validation size (0: 640, 320 for the shapes)")
            ->capture_default_str();
        cmd->add_option("--batch", o->train.train.batch, "Batch size")->capture_default_str();
        cmd->add_flag("--adam", o->train.adam, "AdamW instead of SGD (as the reference's README runs)");
        cmd->add_option("--lr0", o->train.hyp.lr0, "Initial learning rate")
            ->capture_default_str()
            ->check(finite_non_negative());
        cmd->add_option("--min-warmup-iters", o->train.min_warmup_iterations,
                        "Fewest warmup iterations of every run (nabla train yolov5s --min-warmup-iters)")
            ->capture_default_str();
        cmd->add_option("--latency-size", o->prune.latency_size, "Image size of the latency measurements")
            ->capture_default_str();
        cmd->add_option("--latency-batches", o->prune.latency_batches, "Batch sizes whose latency is measured")
            ->capture_default_str();
        cmd->add_option("--workers", o->train.train.workers, "Data-loading threads")->capture_default_str();
        cmd->add_option("--threads", o->train.train.threads, "OpenMP threads (0: all cores)")->capture_default_str();
        cmd->add_option("--device", o->train.train.device,
                        "Where the training runs train: cpu, cuda or cuda:N (the pruning runs on the host)")
            ->capture_default_str()
            ->check(device_name());
        cmd->add_option("--seed", o->train.train.seed, "Seed")->capture_default_str();
        cmd->add_option("--output", o->output, "Folder of the rounds (default: runs/slim/" + name + ")");
        cmd->callback([o] { slim_detector(*o); });
    }
}

}  // namespace nabla::apps
