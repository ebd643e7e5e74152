// tests/faults/test_memory_bound.cpp — a long run does not grow: evaluating a small convolutional network at 400
// different image sizes (each size builds new oneDNN primitives and asks for blocks of new sizes) keeps the resident
// memory flat once the caches are full, because the primitive caches (backends/cpu/dnnl_common.h, LRU) and the host
// block cache (core/storage.cpp, within the live peak + 256 MiB) both evict.
// CTest runs it with ONEDNN_PRIMITIVE_CACHE_CAPACITY=32 (tests/CMakeLists.txt) so that the primitive caches fill
// within the first sizes; with the default 1,024 entries the same curve flattens after about 1,000 sizes
// (docs/reliability.md gives both).
#include <fmt/format.h>

#include <fstream>

#include "nn/nn.h"
#include "support/support.h"

namespace {

double rss_mb() {  // VmRSS of /proc/self/status
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

}  // namespace

TEST_CASE("memory: 400 image sizes through a conv net; the resident memory stops growing", "[faults][memory]") {
    manual_seed(0);
    using namespace nabla::nn;
    Sequential net({std::make_shared<Conv2d>(3, 16, 3, Conv2dArgs{.padding = 1}), std::make_shared<BatchNorm2d>(16),
                    std::make_shared<ReLU>(),
                    std::make_shared<Conv2d>(16, 32, 3, Conv2dArgs{.stride = 2, .padding = 1}),
                    std::make_shared<BatchNorm2d>(32), std::make_shared<ReLU>(), std::make_shared<Conv2d>(32, 8, 1)});
    net.eval();
    NoGradGuard no_grad;
    std::vector<double> rss;  // after every 100 sizes
    for (int i = 0; i < 400; ++i) {
        const int64_t h = 40 + i % 200, w = 40 + (i * 37) % 200 + i / 200;  // 400 distinct sizes, 40..240 a side
        const Tensor y = net(randn({2, 3, h, w}));
        REQUIRE(y.size(2) == (h + 1) / 2);
        if (i % 100 == 99) rss.push_back(rss_mb());
    }
    const MemoryStats m = memory_stats();
    WARN(
        fmt::format("resident memory after 100, 200, 300, 400 sizes: {:.1f}, {:.1f}, {:.1f}, {:.1f} MB; block cache "
                    "{:.1f} MB for a live peak of {:.1f} MB",
                    rss[0], rss[1], rss[2], rss[3], m.cached / 1048576.0, m.peak / 1048576.0));
    CHECK(rss[3] - rss[1] < 8.0);                      // flat over the last 200 sizes
    CHECK(m.cached <= m.peak + (int64_t{256} << 20));  // the block cache's bound
}
