// bench/bench_ops.cpp — forward+backward time of each op on the shapes of U^2-Net, PANet, PFLD and YOLOv5, with
// Google Benchmark. One iteration = forward, then backward from a fixed random upstream gradient.
//   build/bench/bench_ops [--threads N] [--cases FILE] [--benchmark_format=json] [--benchmark_filter=conv2d]
// bench/compare_ops.sh runs this and bench_ops_torch.py (PyTorch 1.13, same cases, same threads) and prints ratios.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "ops/ops.h"

using namespace nabla;
using json = nlohmann::json;

namespace {

Shape shape_of(const json& j) { return j.get<Shape>(); }
Tensor input(const Shape& s) { return randn(s).requires_grad_(); }

// The op of a case as a function of its (grad-requiring) inputs.
std::function<Tensor()> make_case(const json& c, std::vector<Tensor>& inputs) {
    const std::string op = c["op"];
    if (op == "conv2d" || op == "conv_transpose2d") {
        Tensor x = input(shape_of(c["x"])), w = input(shape_of(c["w"]));
        Tensor b = input({op == "conv2d" ? w.size(0) : w.size(1) * c.value("groups", 1)});
        inputs = {x, w, b};
        if (op == "conv2d") {
            Conv2dOptions o{.stride = c.value("stride", 1),
                            .padding = c.value("padding", 0),
                            .dilation = c.value("dilation", 1),
                            .groups = c.value("groups", 1)};
            return [=] { return conv2d(x, w, b, o); };
        }
        ConvTranspose2dOptions o{.stride = c.value("stride", 1),
                                 .padding = c.value("padding", 0),
                                 .output_padding = c.value("output_padding", 0),
                                 .groups = c.value("groups", 1)};
        return [=] { return conv_transpose2d(x, w, b, o); };
    }
    if (op == "matmul") {
        Tensor a = input(shape_of(c["a"])), b = input(shape_of(c["b"]));
        inputs = {a, b};
        return [=] { return matmul(a, b); };
    }
    if (op == "batch_norm") {
        Tensor x = input(shape_of(c["x"]));
        Tensor w = ones({x.size(1)}).requires_grad_(), b = zeros({x.size(1)}).requires_grad_();
        Tensor rm = zeros({x.size(1)}), rv = ones({x.size(1)});
        inputs = {x, w, b};
        return [=] { return batch_norm(x, rm, rv, w, b, true); };
    }
    if (op == "bilinear") {
        Tensor x = input(shape_of(c["x"]));
        inputs = {x};
        Shape s = shape_of(c["size"]);
        return [=] { return interpolate(x, {.size = Int2{s[0], s[1]}, .mode = InterpolateMode::Bilinear}); };
    }
    if (op == "bicubic") {
        Tensor x = input(shape_of(c["x"]));
        inputs = {x};
        double f = c["scale"];
        return [=] {
            return interpolate(
                x,
                {.scale_factor = std::array<double, 2>{f, f}, .mode = InterpolateMode::Bicubic, .align_corners = true});
        };
    }
    if (op == "unfold") {
        Tensor x = input(shape_of(c["x"]));
        inputs = {x};
        UnfoldOptions o{.kernel_size = c["kernel"].get<int64_t>(), .padding = c.value("padding", 0)};
        return [=] { return unfold(x, o); };
    }
    if (op == "pixel_shuffle") {
        Tensor x = input(shape_of(c["x"]));
        inputs = {x};
        int64_t r = c["r"];
        return [=] { return pixel_shuffle(x, r).contiguous(); };
    }
    if (op == "max_pool2d") {
        Tensor x = input(shape_of(c["x"]));
        inputs = {x};
        MaxPool2dOptions o{.kernel_size = c["kernel"].get<int64_t>(),
                           .stride = c.value("stride", 0),
                           .ceil_mode = c.value("ceil_mode", false)};
        return [=] { return max_pool2d(x, o); };
    }
    if (op == "relu") {
        Tensor x = input(shape_of(c["x"]));
        inputs = {x};
        return [=] { return relu(x); };
    }
    if (op == "add" || op == "cat") {
        Tensor x = input(shape_of(c["x"])), y = input(shape_of(c["y"]));
        inputs = {x, y};
        if (op == "add") return [=] { return x + y; };
        return [=] { return cat({x, y}, 1); };
    }
    if (op == "softmax") {
        Tensor x = input(shape_of(c["x"]));
        inputs = {x};
        int64_t dim = c["dim"];
        return [=] { return softmax(x, dim); };
    }
    if (op == "bce_with_logits") {
        Tensor x = input(shape_of(c["x"]));
        Tensor t = gt(rand(x.shape()), 0.5).to(kFloat32);
        inputs = {x};
        return [=] { return binary_cross_entropy_with_logits(x, t).reshape({1}); };
    }
    throw Error("bench_ops: unknown op '" + op + "' in the cases file");
}

void run_case(benchmark::State& state, const json& c) {
    std::vector<Tensor> inputs;
    auto f = make_case(c, inputs);
    Tensor gy = randn(f().shape());
    for (auto _ : state) {
        Tensor y = f();
        y.backward(gy);
        for (Tensor& t : inputs) t.set_grad(Tensor());
    }
    state.counters["threads"] = omp_get_max_threads();
}

}  // namespace

int main(int argc, char** argv) {
    std::string cases_file = NABLA_BENCH_CASES;
    std::vector<char*> rest;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc)
            omp_set_num_threads(std::stoi(argv[++i]));
        else if (a == "--cases" && i + 1 < argc)
            cases_file = argv[++i];
        else
            rest.push_back(argv[i]);
    }
    int n = static_cast<int>(rest.size());
    benchmark::Initialize(&n, rest.data());
    std::ifstream in(cases_file);
    if (!in) {
        fmt::print(stderr, "bench_ops: cannot open the cases file {}\n", cases_file);
        return 1;
    }
    for (const json& c : json::parse(in))
        benchmark::RegisterBenchmark(c["name"].get<std::string>().c_str(), [c](benchmark::State& s) { run_case(s, c); })
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.5)
            ->UseRealTime();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
