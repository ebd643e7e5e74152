// bench/peak.cpp — what this machine's oneDNN reaches at best: GFLOP/s of a large 3x3 convolution (channels-last,
// the layout Nabla's conv nets run in) and of a square matmul, in float32 and bfloat16, on the OpenMP threads given.
// `nabla bench --peak FILE` divides a step's GFLOP/s by conv_f32_gflops. One JSON line:
//   build/bench/peak [--threads N] > peak.json
//   {"cpu":"AMD EPYC ...","threads":2,"conv_f32_gflops":...,"conv_bf16_gflops":...,"gemm_f32_gflops":...,
//    "gemm_bf16_gflops":...}
// A bf16 entry is null where oneDNN has no bf16 kernel for the CPU. A multiply-add counts 2 FLOPs.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

// The best of `reps` runs (after one warm-up run), in seconds.
double best_seconds(const std::function<void()>& run, int reps) {
    run();
    double best = 1e30;
    for (int i = 0; i < reps; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

// A 3x3 convolution, batch 8, 256 -> 256 channels, 56x56, padding 1, forward inference.
nlohmann::json conv_gflops(dnnl::engine& eng, dnnl::stream& s, dt type) {
    const memory::dim n = 8, c = 256, k = 256, h = 56, w = 56;
    try {
        const memory::desc src({n, c, h, w}, type, tag::nhwc), dst({n, k, h, w}, type, tag::nhwc);
        const memory::desc wei({k, c, 3, 3}, type, tag::any);
        dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src,
                                          wei, dst, {1, 1}, {1, 1}, {1, 1});
        dnnl::convolution_forward::primitive_desc pd(d, eng);
        memory msrc(pd.src_desc(), eng), mwei(pd.weights_desc(), eng), mdst(pd.dst_desc(), eng);
        std::memset(msrc.get_data_handle(), 0, pd.src_desc().get_size());
        std::memset(mwei.get_data_handle(), 0, pd.weights_desc().get_size());
        dnnl::convolution_forward prim(pd);
        const double secs = best_seconds(
            [&] {
                prim.execute(s, {{DNNL_ARG_SRC, msrc}, {DNNL_ARG_WEIGHTS, mwei}, {DNNL_ARG_DST, mdst}});
                s.wait();
            },
            5);
        return 2.0 * n * k * h * w * c * 9 / secs / 1e9;
    } catch (const dnnl::error&) {
        return nullptr;  // no kernel for this data type here
    }
}

// C[m, n] = A[m, k] B[k, n] with m = n = k = 2048.
nlohmann::json gemm_gflops(dnnl::engine& eng, dnnl::stream& s, dt type) {
    const memory::dim m = 2048;
    try {
        const memory::desc a({m, m}, type, tag::ab), b({m, m}, type, tag::ab), c({m, m}, dt::f32, tag::ab);
        dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), eng);
        memory ma(a, eng), mb(b, eng), mc(c, eng);
        std::memset(ma.get_data_handle(), 0, a.get_size());
        std::memset(mb.get_data_handle(), 0, b.get_size());
        dnnl::matmul prim(pd);
        const double secs = best_seconds(
            [&] {
                prim.execute(s, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}});
                s.wait();
            },
            5);
        return 2.0 * m * m * m / secs / 1e9;
    } catch (const dnnl::error&) {
        return nullptr;
    }
}

std::string cpu_name() {
    std::ifstream f("/proc/cpuinfo");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) {
            omp_set_num_threads(std::atoi(argv[++i]));
        } else {
            std::cerr << "usage: peak [--threads N]   (prints one JSON line of oneDNN's best GFLOP/s here)\n";
            return a == "--help" || a == "-h" ? 0 : 2;
        }
    }
    dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream s(eng);
    nlohmann::ordered_json j;
    j["cpu"] = cpu_name();
    j["threads"] = omp_get_max_threads();
    j["conv_f32_gflops"] = conv_gflops(eng, s, dt::f32);
    j["conv_bf16_gflops"] = conv_gflops(eng, s, dt::bf16);
    j["gemm_f32_gflops"] = gemm_gflops(eng, s, dt::f32);
    j["gemm_bf16_gflops"] = gemm_gflops(eng, s, dt::bf16);
    for (auto it = j.begin(); it != j.end(); ++it)
        if (it->is_number_float()) *it = std::round(it->get<double>() * 10) / 10;
    std::cout << j.dump() << "\n";
}
