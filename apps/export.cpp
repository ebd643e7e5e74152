// apps/export.cpp — `nabla export` (apps/export.h): a checkpoint's weights alone, optionally in half precision.
#include "apps/export.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/detection.h"
#include "apps/models.h"
#include "nn/checkpoint.h"
#include "nn/summary.h"

namespace nabla::apps {
namespace fs = std::filesystem;

namespace {

// Loads `path` into o.model strictly, as eval and detect do (an Error names the file when they do not fit).
void check_loads(const ExportOptions& o, const std::vector<std::string>& set, const std::string& path) {
    if (o.model.rfind("yolov5", 0) == 0) {  // nc and every width from the weights, names from their config
        load_detector(o.model, path);
        return;
    }
    ModelArgs args(set);
    auto model = find_model(o.model).make(args);
    args.check_all_used(o.model);
    nn::load_weights_into(*model, path, /*strict=*/true, /*prefer_ema=*/true);
}

// max |a - b| over the elements where they differ (an inf or NaN written as itself counts as equal); 0 for integer
// and bool tensors, which are written byte for byte.
double max_abs_diff(const Tensor& a, const Tensor& b) {
    if (!is_floating(a.dtype())) return 0;
    const Tensor x = a.detach().to(kCPU).to(kFloat64).contiguous(), y = b.to(kCPU).to(kFloat64).contiguous();
    const double *p = x.data_ptr<double>(), *q = y.data_ptr<double>();
    double m = 0;
    for (int64_t i = 0, n = x.numel(); i < n; ++i)
        if (p[i] != q[i] && !(std::isnan(p[i]) && std::isnan(q[i]))) m = std::max(m, std::fabs(p[i] - q[i]));
    return m;
}

double max_abs(const Tensor& t) {
    const Tensor x = t.detach().to(kCPU).to(kFloat64).contiguous();
    const double* p = x.data_ptr<double>();
    double m = 0;
    for (int64_t i = 0, n = x.numel(); i < n; ++i)
        if (std::isfinite(p[i])) m = std::max(m, std::fabs(p[i]));
    return m;
}

}  // namespace

ExportResult export_weights(const ExportOptions& o) {
    const std::string what = "export " + o.model;
    find_model(o.model);  // an unknown name lists the known ones
    NB_CHECK_VALUE(!o.output.empty(), what, ": --output is required");
    std::error_code ec;
    if (fs::exists(o.output, ec) && fs::equivalent(o.output, o.weights, ec))
        throw ValueError(
            fmt::format("{}: --output {} is the checkpoint itself; write the weights to another file", what, o.output));
    NB_CHECK_VALUE(o.set.empty() || o.model.rfind("yolov5", 0) != 0, what,
                   ": --set is not used for YOLOv5 (its classes and widths are read from the weights)");

    // The weights (EMA first) and what goes with them.
    ExportResult r;
    Metadata file_metadata;
    const TensorMap weights = nn::load_weights(o.weights, /*prefer_ema=*/true, &file_metadata);
    std::vector<std::string> set = o.set;
    if (nn::is_checkpoint(o.weights)) {
        const nn::Checkpoint c = nn::load_checkpoint(o.weights);
        bool ema = false;
        for (const auto& [key, t] : c.ema) ema = ema || key.rfind("ema.", 0) == 0;
        r.weights_part = ema ? "ema" : "model";
        r.metadata = c.extra;  // "pruned", a pruned detector's "channels", whatever else the trainer kept
        if (!c.config.empty()) r.metadata["config"] = c.config;  // a detector's names and depth_multiple
        if (set.empty()) set = set_of_config(parse_config(c.config));
        r.metadata["nabla.epoch"] = std::to_string(c.epoch);
        r.metadata["nabla.step"] = std::to_string(c.step);
        if (std::isfinite(c.best_metric)) {  // infinite: nothing validated yet
            r.metadata["nabla.best_metric"] = fmt::format("{:.6g}", c.best_metric);
            if (auto it = c.extra.find("best_metric_name"); it != c.extra.end())  // the trainer's (Loop::checkpoint)
                r.metadata["nabla.best_metric_name"] = it->second;
        }
        r.metadata.erase("best_metric_name");
    } else {
        r.weights_part = "state dict";
        r.metadata = file_metadata;  // a plain file's metadata, as it is
    }
    r.metadata["nabla.source"] = fs::path(o.weights).filename().string();
    r.metadata["nabla.weights"] = r.weights_part;
    check_loads(o, set, o.weights);  // weights for another model fail here, before anything is written

    std::string about =
        fmt::format("{}: the {} weights of {}", what, r.weights_part == "ema" ? "EMA" : r.weights_part, o.weights);
    if (r.metadata.contains("nabla.epoch")) about += fmt::format(" (epoch {}", r.metadata["nabla.epoch"]);
    if (r.metadata.contains("nabla.best_metric"))
        about +=
            fmt::format(", best {} {}",
                        r.metadata.contains("nabla.best_metric_name") ? r.metadata["nabla.best_metric_name"] : "metric",
                        r.metadata["nabla.best_metric"]);
    if (r.metadata.contains("nabla.epoch")) about += ")";
    fmt::print("{}\n", about);

    r.tensors = static_cast<int64_t>(weights.size());
    for (const auto& [name, t] : weights) {
        const int64_t nbytes = t.numel() * static_cast<int64_t>(element_size(t.dtype()));
        r.bytes_before += nbytes;
        if (o.half && t.dtype() == kFloat32) {
            if (fits_half(t)) {
                ++r.half_tensors;
                r.bytes_after += nbytes / 2;
                continue;
            }
            r.kept_float32.push_back(name);
            fmt::print("{}: {} has a value beyond half's range (max |x| {:g} > 65504): kept as F32\n", what, name,
                       max_abs(t));
        }
        r.bytes_after += nbytes;
    }

    if (fs::path(o.output).has_parent_path()) fs::create_directories(fs::path(o.output).parent_path());
    save_safetensors(o.output, weights, r.metadata, {.half = o.half});

    // Read back (the checksums of the bytes written are verified) and compared with what was written.
    const TensorMap back = load_safetensors(o.output);
    for (const auto& [name, t] : weights) {
        const auto it = back.find(name);
        if (it == back.end() || it->second.shape() != t.shape())
            throw Error(fmt::format("{}: {} does not hold '{}' as written", what, o.output, name));
        if (const double e = max_abs_diff(t, it->second); e > r.max_abs_error) {
            r.max_abs_error = e;
            r.max_error_tensor = name;
        }
    }
    check_loads(o, set, o.output);  // the file loads strictly into the model, as eval will load it
    r.file_before = static_cast<int64_t>(fs::file_size(o.weights));
    r.file_after = static_cast<int64_t>(fs::file_size(o.output));

    const std::string stored =
        o.half ? fmt::format(" ({} as F16{})", r.half_tensors,
                             r.kept_float32.empty() ? "" : fmt::format(", {} kept F32", r.kept_float32.size()))
               : "";
    const std::string where = r.max_error_tensor.empty()
                                  ? ""
                                  : fmt::format(" (in {}, whose values reach {:g})", r.max_error_tensor,
                                                max_abs(weights.at(r.max_error_tensor)));
    fmt::print(
        "{}: {} tensors{}, {} -> {} bytes of tensor data (file {} -> {} bytes), max abs rounding error {:.3g}{}\n",
        what, r.tensors, stored, nn::with_commas(r.bytes_before), nn::with_commas(r.bytes_after),
        nn::with_commas(r.file_before), nn::with_commas(r.file_after), r.max_abs_error, where);
    fmt::print("{}: wrote {}, which loads strictly into {}\n", what, o.output, o.model);
    return r;
}

void add_export_command(CLI::App& app) {
    auto o = std::make_shared<ExportOptions>();
    auto* cmd = app.add_subcommand(
        "export",
        "Write a checkpoint's weights alone (its EMA weights if it has them, else its model weights; no optimizer "
        "state) as a safetensors state dict to ship, e.g. data/weights/<model>.safetensors, which eval, predict, val, "
        "detect and serve use when --weights is not given");
    cmd->add_option("MODEL", o->model,
                    "The model the weights are for; they are loaded into it, strictly, before and after writing: " +
                        model_names())
        ->required();
    cmd->add_option("--weights", o->weights,
                    "A training checkpoint (e.g. runs/<model>/weights/best.safetensors) or a plain state dict")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--output", o->output,
                    "The weights file to write (its folder is created); keeps the metadata a loader needs (the run's "
                    "config, pruned) plus nabla.source (the checkpoint's file name) and the checkpoint's epoch, step "
                    "and best metric")
        ->required();
    cmd->add_flag("--half", o->half,
                  "Store every float32 tensor as float16 (IEEE half, rounded to nearest even: half the bytes, about "
                  "3 significant digits); loading gives float32 back. A tensor with a finite value beyond half's "
                  "range (65504) stays float32, with a line saying so; float64 and integer tensors are unchanged");
    cmd->add_option("--set", o->set,
                    "Model constructor argument KEY=VALUE for building the model the weights are checked against "
                    "(repeatable; default: the checkpoint's own, from its config)");
    cmd->callback([o] { export_weights(*o); });
}

}  // namespace nabla::apps
