// nn/checkpoint.cpp — packing a Checkpoint's parts into one safetensors file and back.
#include "nn/checkpoint.h"

#include <fmt/format.h>

#include <charconv>

#include "core/trace/trace.h"
#include "nn/module.h"

namespace nabla::nn {
namespace {

const std::string kFormat = "nabla.checkpoint";
const std::string kVersion = "1";

void put(TensorMap& out, const std::string& prefix, const TensorMap& part) {
    for (const auto& [key, t] : part) out[prefix + key] = t;
}

TensorMap take(const TensorMap& all, const std::string& prefix) {
    TensorMap part;
    for (auto it = all.lower_bound(prefix); it != all.end() && it->first.starts_with(prefix); ++it)
        part[it->first.substr(prefix.size())] = it->second;
    return part;
}

template <class T>
T number(const Metadata& meta, const std::string& key, const std::string& path) {
    auto it = meta.find(key);
    if (it == meta.end()) throw Error(detail::concat("load_checkpoint: ", path, ": metadata has no '", key, "'"));
    if constexpr (std::is_same_v<T, double>) {
        try {
            return std::stod(it->second);
        } catch (const std::exception&) {
        }
    } else {
        T value{};
        const auto& s = it->second;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
        if (ec == std::errc() && end == s.data() + s.size()) return value;
    }
    throw Error(
        detail::concat("load_checkpoint: ", path, ": metadata '", key, "' is not a number: '", it->second, "'"));
}

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& c) {
    trace::Scope trace_scope(trace::checkpoint, "save_checkpoint");
    TensorMap all;
    put(all, "model.", c.model);
    put(all, "optimizer.", c.optimizer);
    put(all, "scheduler.", c.scheduler);
    put(all, "ema.", c.ema);
    put(all, "plateau.", c.plateau);
    put(all, "task.", c.task);
    Metadata meta = c.extra;
    meta["format"] = kFormat;
    meta["version"] = kVersion;
    meta["epoch"] = std::to_string(c.epoch);
    meta["step"] = std::to_string(c.step);
    meta["batch_in_epoch"] = std::to_string(c.batch_in_epoch);
    meta["best_metric"] = fmt::format("{:.17g}", c.best_metric);
    meta["rng"] = c.rng_state;
    meta["config"] = c.config;
    save_safetensors(path, all, meta);
}

bool is_checkpoint(const std::string& path) {
    try {
        const Metadata meta = load_safetensors_metadata(path);  // the header alone
        auto it = meta.find("format");
        return it != meta.end() && it->second == kFormat;
    } catch (const Error&) {
        return false;
    }
}

Checkpoint load_checkpoint(const std::string& path) {
    trace::Scope trace_scope(trace::checkpoint, "load_checkpoint");
    Metadata meta;
    const TensorMap all = load_safetensors(path, &meta);
    auto format = meta.find("format");
    if (format == meta.end() || format->second != kFormat)
        throw Error(detail::concat("load_checkpoint: ", path,
                                   " is a safetensors file but not a Nabla checkpoint (no format=nabla.checkpoint in "
                                   "its metadata); for plain weights use --weights"));
    if (meta["version"] != kVersion)
        throw Error(detail::concat("load_checkpoint: ", path, ": checkpoint version ", meta["version"],
                                   " is not supported (this build reads version ", kVersion, ")"));
    Checkpoint c;
    c.model = take(all, "model.");
    c.optimizer = take(all, "optimizer.");
    c.scheduler = take(all, "scheduler.");
    c.ema = take(all, "ema.");
    c.plateau = take(all, "plateau.");
    c.task = take(all, "task.");
    c.epoch = number<int64_t>(meta, "epoch", path);
    c.step = number<int64_t>(meta, "step", path);
    c.batch_in_epoch = number<int64_t>(meta, "batch_in_epoch", path);
    c.best_metric = number<double>(meta, "best_metric", path);
    c.rng_state = meta["rng"];
    c.config = meta["config"];
    for (const char* key : {"format", "version", "epoch", "step", "batch_in_epoch", "best_metric", "rng", "config"})
        meta.erase(key);
    c.extra = std::move(meta);
    return c;
}

TensorMap load_weights(const std::string& path, bool prefer_ema, Metadata* metadata) {
    Metadata local;
    Metadata& meta = metadata ? *metadata : local;
    TensorMap all = load_safetensors(path, &meta);
    auto format = meta.find("format");
    if (format == meta.end() || format->second != kFormat) return all;
    if (prefer_ema) {
        TensorMap ema = take(all, "ema.ema.");  // ModelEMA::state_dict keys its weights "ema.<key>"
        if (!ema.empty()) return ema;
    }
    return take(all, "model.");
}

Metadata load_weights_into(Module& module, const std::string& path, bool strict, bool prefer_ema) {
    Metadata meta;
    const TensorMap weights = load_weights(path, prefer_ema, &meta);
    try {
        if (meta.contains(kPrunedKey)) module.adopt_shapes(weights);
        module.load_state_dict(weights, strict);
    } catch (const Error& e) {
        throw ValueError(detail::concat(path, ": ", e.what()));
    }
    return meta;
}

}  // namespace nabla::nn
