// apps/bench.cpp — `nabla bench MODEL`: times full training steps (zero_grad, forward, loss, backward, optimizer
// step) or inference forwards on synthetic data of the model's input shape and prints one JSON line:
//   {"model":"u2netp","mode":"train","batch":2,"size":288,"threads":2,"step_ms_median":...,"step_ms_min":...,
//    "memory_format":"channels_last","images_per_s":...,"peak_rss_mb":...,"peak_tensor_mb":...,"params":1131181,
//    "gflop_per_step":...,"gflop_s":...[,"conv_peak_fraction":...]}
// The FLOPs are the tracer's count (core/trace/flops.h: conv- and matmul-like ops, a multiply-add = 2) over one more,
// untimed forward, times 3 for a training step (each backward conv computes an input and a weight gradient, each
// the forward's cost: the usual model-FLOPs convention). --peak FILE takes bench/peak's JSON and adds the step's
// GFLOP/s as a fraction of oneDNN's float32 conv peak on this machine.
// bench/bench_models_torch.py runs the same step on PyTorch and prints the ratio.
// --device cuda runs the steps on a GPU: each timed step ends with synchronize(device), so that its time is the
// device's, and the JSON adds "device" and the GPU's tensor memory during the timed steps (device_peak_mb,
// device_allocated_mb, device_cached_mb; core/storage.h: memory_stats), also printed as one line on stderr.
#include <fmt/format.h>
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "apps/commands.h"
#include "apps/detection.h"
#include "apps/models.h"
#include "autograd/grad_mode.h"
#include "backends/backend.h"
#include "core/autocast.h"
#include "core/storage.h"
#include "core/trace/trace.h"
#include "nn/checkpoint.h"
#include "nn/parallel.h"
#include "ops/factory.h"

namespace nabla::apps {
namespace {

struct BenchOptions {
    std::string model;
    int64_t batch = 2, size = 0, steps = 10, warmup = 3;  // size 0: the model's input_size
    int threads = 0;
    bool infer = false;
    std::string memory_format;  // empty: the model's (ModelSpec::memory_format)
    std::string peak;           // bench/peak's JSON, for conv_peak_fraction
    std::string precision = "fp32";
    uint64_t seed = 0;
    std::vector<std::string> set;
    std::string weights;  // optional: the network these weights describe (a pruned YOLOv5 benches as itself)
    Device device = kCPU;
};

double peak_rss_mb() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// conv_f32_gflops of bench/peak's output, with an error naming the file when it is missing or malformed.
double conv_peak_gflops(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw Error(fmt::format("bench: cannot read --peak file {}", path));
    const auto j = nlohmann::json::parse(f, nullptr, false);
    if (j.is_discarded() || !j.contains("conv_f32_gflops") || !j["conv_f32_gflops"].is_number())
        throw ValueError(fmt::format("bench: {} is not bench/peak's output (no number conv_f32_gflops)", path));
    return j["conv_f32_gflops"].get<double>();
}

void run_bench(const BenchOptions& o) {
    set_threads(o.threads, "bench");
    if (o.batch < 1 || o.size < 0 || o.steps < 1 || o.warmup < 0)
        throw ValueError(
            fmt::format("bench: batch and steps must be positive, size and warmup >= 0 (got batch {}, "
                        "size {}, steps {}, warmup {})",
                        o.batch, o.size, o.steps, o.warmup));
    const ModelSpec& spec = find_model(o.model);
    const int64_t size = o.size > 0 ? o.size : spec.input_size;
    manual_seed(o.seed);
    ModelArgs args(o.set);
    std::shared_ptr<nn::Module> model;
    if (!o.weights.empty() && spec.name.starts_with("yolov5")) {
        model = load_detector(spec.name, o.weights).model;  // every width from the weights
    } else {
        model = spec.make(args);
        if (!o.weights.empty()) nn::load_weights_into(*model, o.weights, true, /*prefer_ema=*/true);
    }
    args.check_all_used(spec.name);
    model->to(o.device);  // before the optimizer takes the parameters
    Generator gen(o.seed);
    // Under mpirun (docs/distributed.md): --batch is the global batch, each rank trains on its share, and
    // DistributedDataParallel averages the gradients; the JSON reports rank 0's step times.
    const int64_t world = dist::world_size();
    NB_CHECK_VALUE(o.batch % world == 0, "bench: --batch ", o.batch, " does not split evenly over ", world, " ranks");
    const Shape shape{o.batch / world, spec.in_channels, size, size};
    // As torch's CPU tuning guide advises for conv nets: images channels-last, so that every conv, batch norm and
    // elementwise op after them runs on NHWC without reordering (core/shape.h: MemoryFormat).
    const MemoryFormat format = o.memory_format.empty()              ? spec.memory_format
                                : o.memory_format == "channels_last" ? MemoryFormat::ChannelsLast
                                                                     : MemoryFormat::Contiguous;
    const Tensor input = randn(shape, {}, &gen).to(o.device).contiguous(format);  // on the device, then the layout
    const Tensor target = spec.make_target(shape, gen).to(o.device);
    std::unique_ptr<optim::Optimizer> optimizer;
    if (o.infer) {
        model->eval();
    } else {
        model->train();
        optimizer = spec.make_optimizer(*model);
    }
    std::optional<nn::DistributedDataParallel> ddp;
    if (!o.infer && world > 1) ddp.emplace(*model);

    auto forward = [&] {  // an inference forward runs without the tape
        std::optional<autograd::NoGradGuard> no_grad;
        if (o.infer) no_grad.emplace();
        model->call_outputs(input);
    };
    AutocastGuard amp(parse_precision(o.precision.c_str()));  // bf16: convolutions and matmuls (core/autocast.h)
    const bool gpu = o.device.is_cuda();
    if (gpu) synchronize(o.device);  // the copies of the weights and the data are done before anything is timed
    std::vector<double> times;
    for (int64_t i = 0; i < o.warmup + o.steps; ++i) {
        trace::step_marker(i);  // step boundaries for a traced bench (NABLA_TRACE_STEPS windows)
        if (gpu && i == o.warmup) reset_peak_memory(DeviceType::CUDA);  // the peak of the timed steps
        const auto start = std::chrono::steady_clock::now();
        if (o.infer) {
            forward();
        } else {
            optimizer->zero_grad();
            Tensor loss = spec.loss(*model, model->call_outputs(input), target);
            loss.backward();
            optimizer->step();
        }
        if (gpu) synchronize(o.device);  // kernels run asynchronously: the step ends when the device is done
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        if (i >= o.warmup) times.push_back(ms);
    }
    std::sort(times.begin(), times.end());
    const size_t n = times.size();
    const double median = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
    nlohmann::ordered_json j;
    j["model"] = spec.name;
    j["mode"] = o.infer ? "infer" : "train";
    j["batch"] = o.batch;
    j["size"] = size;
    j["threads"] = omp_get_max_threads();
    if (gpu) j["device"] = o.device.str();
    if (world > 1) j["ranks"] = world;
    j["memory_format"] = format == MemoryFormat::ChannelsLast ? "channels_last" : "contiguous";
    j["precision"] = o.precision;
    j["step_ms_median"] = std::round(median * 1000) / 1000;
    j["step_ms_min"] = std::round(times.front() * 1000) / 1000;
    j["images_per_s"] = std::round(static_cast<double>(o.batch) / (median / 1000) * 100) / 100;
    j["peak_rss_mb"] = std::round(peak_rss_mb() * 10) / 10;
    // The peak of live tensor storage (core/storage.h), to tell tensors from allocator overhead in peak_rss_mb.
    const MemoryStats mem = memory_stats();
    j["peak_tensor_mb"] = std::round(static_cast<double>(mem.peak) / (1 << 20) * 10) / 10;
    j["cached_mb"] = std::round(static_cast<double>(mem.cached + mem.allocated) / (1 << 20) * 10) / 10;
    if (gpu) {  // the GPU's tensor memory as the host's above: the peak of the timed steps, live tensors, and what
                // its allocator holds (live plus cached blocks)
        const MemoryStats dev = memory_stats(DeviceType::CUDA);
        const auto mb = [](int64_t bytes) { return std::round(static_cast<double>(bytes) / (1 << 20) * 10) / 10; };
        j["device_peak_mb"] = mb(dev.peak);
        j["device_allocated_mb"] = mb(dev.allocated);
        j["device_cached_mb"] = mb(dev.cached + dev.allocated);
        fmt::print(stderr,
                   "bench {} on {}: step {:.3f} ms (median); GPU memory peak {} MB, allocated {} MB, cached {} MB\n",
                   spec.name, o.device, median, mb(dev.peak), mb(dev.allocated), mb(dev.cached + dev.allocated));
    }
    j["params"] = model->num_parameters();
    const int64_t flops = trace::count_flops(forward);
    if (flops >= 0) {
        const double step_gflop = static_cast<double>(flops) * (o.infer ? 1 : 3) / 1e9;
        j["gflop_per_step"] = std::round(step_gflop * 1000) / 1000;
        j["gflop_s"] = std::stod(fmt::format("{:.4g}", step_gflop / (median / 1000)));  // 4 digits, never rounded to 0
        if (!o.peak.empty())
            j["conv_peak_fraction"] = std::round(step_gflop / (median / 1000) / conv_peak_gflops(o.peak) * 1000) / 1000;
    }
    fmt::print("{}\n", j.dump());
}

}  // namespace

void add_bench_command(CLI::App& app) {
    auto o = std::make_shared<BenchOptions>();
    auto* cmd = app.add_subcommand("bench",
                                   "Time training steps or inference forwards of a model on synthetic data; "
                                   "prints one JSON line");
    cmd->add_option("model", o->model, "Model name: " + model_names())->required();
    cmd->add_option("--batch", o->batch, "Images per step")->capture_default_str();
    cmd->add_option("--size", o->size,
                    "Input height and width in pixels (default: the side the model trains at, "
                    "288 for U²-Net, 48 for PANet's low-resolution input)");
    cmd->add_option("--steps", o->steps, "Timed steps (the median and minimum are reported)")->capture_default_str();
    cmd->add_option("--warmup", o->warmup, "Untimed steps first (allocations, oneDNN primitive creation)")
        ->capture_default_str();
    cmd->add_option("--threads", o->threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)")->capture_default_str();
    cmd->add_flag("--infer", o->infer, "Time inference forwards (eval mode, no gradients) instead of training steps");
    cmd->add_option("--memory-format", o->memory_format,
                    "Layout of the input images: channels_last (NHWC, the layout oneDNN convolves without reordering; "
                    "ops keep it) or contiguous (NCHW); default: the model's, as its trainer uses (channels_last for "
                    "pfld and yolov5*)")
        ->check(CLI::IsMember({"channels_last", "contiguous"}));
    cmd->add_option("--peak", o->peak,
                    "bench/peak's JSON output (build/bench/peak > peak.json): also print the step's GFLOP/s as a "
                    "fraction of oneDNN's float32 conv peak on this machine (conv_peak_fraction)");
    cmd->add_option("--precision", o->precision,
                    "fp32, or bf16: convolutions, matmuls and linear layers and their gradients in bfloat16 with "
                    "float32 accumulation, everything else float32 (torch.autocast's CPU list; core/autocast.h)")
        ->check(CLI::IsMember({"fp32", "bf16"}))
        ->capture_default_str();
    add_device_option(cmd, o->device,
                      "where the steps run; on a GPU each timed step waits for its kernels (synchronize), and the "
                      "JSON adds the GPU's tensor memory over the timed steps (device_peak_mb, device_allocated_mb, "
                      "device_cached_mb), also printed on stderr");
    cmd->add_option("--seed", o->seed, "Seed of the weights and the synthetic data")->capture_default_str();
    cmd->add_option("--set", o->set, "Model constructor argument KEY=VALUE (repeatable), e.g. --set width=32");
    cmd->add_option("--weights", o->weights,
                    "Bench the network these weights describe (a checkpoint or a state dict; a pruned YOLOv5 "
                    "with its own widths)");
    cmd->callback([o] { run_bench(*o); });
}

}  // namespace nabla::apps
