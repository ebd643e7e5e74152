// tests/backends/test_cuda.cpp — the CUDA backend: that it implements every kernel of backends/backend.h (checked at
// compile time, so it holds on machines without a GPU too), and, where a device is present, its allocator, pinned
// host memory, streams, device index and a few ops against the host. The op-by-op parity checks live with each op's
// tests (tests/ops, tests/nn), which run their fast side on every device fast_devices() returns.
// Without a device (as in CI) the device checks are skipped with a message, and what is checked instead is that
// using the device fails clearly.
#include <fstream>
#include <regex>
#include <sstream>

#include "support/support.h"

namespace {
// The kernels backends/backend.h declares: its `virtual` members but the destructor, name, description and
// synchronize (read from the source, so that a kernel added there and not listed below fails the test).
int count_backend_kernels() {
    std::ifstream in(std::string(NABLA_SOURCE_DIR) + "/backends/backend.h");
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    const std::regex kernel(R"(\n\s+virtual\s+(?!~)[^;{]*?\b(\w+)\()");
    int n = 0;
    for (auto it = std::sregex_iterator(s.begin(), s.end(), kernel); it != std::sregex_iterator(); ++it) {
        const std::string name = (*it)[1];
        if (name != "name" && name != "description" && name != "synchronize") ++n;
    }
    return n;
}
}  // namespace

TEST_CASE("cuda: the backend implements every kernel of backends/backend.h", "[backends][cuda]") {
    // One line per virtual kernel of Backend, in its order; a kernel the cuda backend inherits (Backend's default,
    // which throws NotImplementedError) fails here at compile time of this line's STATIC_REQUIRE.
    STATIC_REQUIRE(cuda_implements<&CudaBackend::copy_>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::fill_>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::unary>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::unary_backward>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::binary>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::where>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::reduce>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::reduce_with_indices>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::matmul>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::conv2d>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::conv2d_backward>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::conv_transpose2d>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::conv_transpose2d_backward>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::max_pool2d>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::max_pool2d_backward>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::avg_pool2d>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::avg_pool2d_backward>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::adaptive_avg_pool2d>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::adaptive_avg_pool2d_backward>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::upsample>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::upsample_backward>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::im2col>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::col2im>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::batch_norm>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::batch_norm_backward>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::softmax>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::softmax_backward>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::index_select>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::index_add_>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::gather>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::scatter_add_>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::index>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::index_put_>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::pad>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::pad_backward>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::flip>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::sort>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::topk>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::bce_with_logits>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::bce_with_logits_backward>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::sgd_step>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::adam_step>);
    STATIC_REQUIRE(cuda_implements<&CudaBackend::ema_update>);
    // The same count as the interface: a kernel added to backend.h without a line here fails.
    REQUIRE(count_backend_kernels() == 43);
}

TEST_CASE("fast_devices: the cpu, and cuda where the build, a device and the test's kernels allow",
          "[backends][cuda]") {
    REQUIRE(fast_devices(false) == std::vector<Device>{kCPU});
#ifdef NABLA_WITH_CUDA
    const bool device = cuda_device_count() > 0;
#else
    const bool device = false;
#endif
    REQUIRE(fast_devices(true) == (device ? std::vector<Device>{kCPU, kCUDA} : std::vector<Device>{kCPU}));
}

#ifdef NABLA_WITH_CUDA

namespace {
bool have_device() {
    if (cuda_device_count() > 0) return true;
    WARN("no CUDA device (" << cuda_unavailable_reason() << "): cuda device checks skipped");
    return false;
}
}  // namespace

TEST_CASE("cuda: without a device, tensors on it and pinned memory fail clearly", "[backends][cuda]") {
    if (cuda_device_count() > 0) return;  // the device checks below run instead
    WARN("no CUDA device (" << cuda_unavailable_reason() << "): cuda device checks skipped");
    REQUIRE_THROWS_WITH(zeros({2}, {.device = kCUDA}), Catch::Contains("no CUDA device"));
    REQUIRE_THROWS_AS(randn({2}).pin_memory(), NotImplementedError);
    REQUIRE(pinned_allocator() == nullptr);
}

TEST_CASE("cuda: elementwise ops and matmul equal the host kernels", "[backends][cuda]") {
    if (!have_device()) return;
    Tensor x = randn({5, 7}), y = randn({1, 7});
    Tensor xc = x.to(kCUDA), yc = y.to(kCUDA);
    REQUIRE_THAT((xc * yc + sigmoid(xc)).to(kCPU), ClosesTo(x * y + sigmoid(x), 1e-5, 1e-5));
    REQUIRE_THAT(xc.t().contiguous().to(kCPU), ClosesTo(x.t().contiguous()));
    Tensor w = randn({7, 3});
    REQUIRE_THAT(matmul(xc, w.to(kCUDA)).to(kCPU), ClosesTo(matmul(x, w), 1e-4, 1e-4));
    // A transposed operand goes to cuBLAS as such (no copy); both orders of batch broadcasting.
    Tensor a = randn({4, 3, 6}), b = randn({6, 5});
    REQUIRE_THAT(matmul(a.to(kCUDA).transpose(1, 2).contiguous().transpose(1, 2), b.to(kCUDA)).to(kCPU),
                 ClosesTo(matmul(a, b), 1e-4, 1e-4));
    REQUIRE_THAT(matmul(b.t().to(kCUDA), a.transpose(1, 2).to(kCUDA)).to(kCPU),
                 ClosesTo(matmul(b.t(), a.transpose(1, 2)), 1e-4, 1e-4));
}

TEST_CASE("cuda: the caching allocator reuses freed blocks and counts live, peak and cached bytes",
          "[backends][cuda]") {
    if (!have_device()) return;
    synchronize(kCUDA);
    empty_cache(DeviceType::CUDA);
    reset_peak_memory(DeviceType::CUDA);
    const MemoryStats before = memory_stats(DeviceType::CUDA);
    void* first = nullptr;
    {
        Tensor t = empty({1 << 20}, {.device = kCUDA});  // 4 MiB
        first = t.raw_data();
        REQUIRE(memory_stats(DeviceType::CUDA).allocated == before.allocated + (4 << 20));
    }
    REQUIRE(memory_stats(DeviceType::CUDA).allocated == before.allocated);
    REQUIRE(memory_stats(DeviceType::CUDA).cached >= (4 << 20));
    REQUIRE(memory_stats(DeviceType::CUDA).peak >= before.allocated + (4 << 20));
    {
        Tensor again = empty({(1 << 20) - 100}, {.device = kCUDA});  // a little smaller: the same block
        REQUIRE(again.raw_data() == first);
    }
    REQUIRE(empty_cache(DeviceType::CUDA) >= (size_t{4} << 20));
    REQUIRE(memory_stats(DeviceType::CUDA).cached == 0);
    // Out of memory is an OutOfMemoryError that names the device and the size.
    REQUIRE_THROWS_AS(empty({int64_t{1} << 46}, {.device = kCUDA}), OutOfMemoryError);
}

TEST_CASE("cuda: pinned batches copy asynchronously and arrive intact", "[backends][cuda]") {
    if (!have_device()) return;
    Tensor host = arange(0, 100000, 1, {.dtype = kFloat32}).reshape({100, 1000});
    Tensor pinned = host.pin_memory();
    REQUIRE(pinned.is_pinned());
    REQUIRE_FALSE(host.is_pinned());
    REQUIRE(pinned.pin_memory().is_same(pinned));
    Tensor d = pinned.to(kCUDA);
    pinned = Tensor();  // freed while the copy may still be queued: the block waits for it before reuse
    Tensor other = zeros({100, 1000}).pin_memory();
    REQUIRE_THAT(d.to(kCPU), ClosesTo(host, 0, 0));
    REQUIRE_THAT(other, ClosesTo(zeros({100, 1000}), 0, 0));
}

TEST_CASE("cuda: Device::index picks the GPU, and copies between GPUs", "[backends][cuda]") {
    if (!have_device()) return;
    if (cuda_device_count() < 2) {
        WARN("one CUDA device: the second-device checks are skipped");
        REQUIRE_THROWS_WITH(zeros({2}, {.device = Device{DeviceType::CUDA, 1}}), Catch::Contains("no device cuda:1"));
        return;
    }
    const Device d1{DeviceType::CUDA, 1};
    Tensor x = randn({3, 4});
    Tensor on1 = x.to(d1);
    REQUIRE(on1.device() == d1);
    REQUIRE_THAT((on1 * 2).to(kCPU), ClosesTo(x * 2));
    REQUIRE_THAT(on1.to(kCUDA).to(kCPU), ClosesTo(x, 0, 0));
}

#else
TEST_CASE("cuda: a build without CUDA refuses cuda tensors with a clear message", "[backends][cuda]") {
    WARN("built without CUDA: cuda checks skipped");
    REQUIRE_THROWS_WITH(zeros({2}, {.device = kCUDA}), Catch::Contains("built without the CUDA backend"));
}
#endif
