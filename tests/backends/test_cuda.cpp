// tests/backends/test_cuda.cpp — the CUDA backend's kernels against the same ops on the host (the cpu backend).
// Without a device (as in CI) the parity checks are skipped with a message, and what is checked instead is that
// using the device fails clearly. First, fast_devices (tests/support): the devices that the parity tests of tests/ops
// and tests/nn run their fast side on.
#include "support/support.h"

TEST_CASE("fast_devices: the cpu, and cuda only where the build, a device and the test's kernels allow",
          "[backends][cuda]") {
    STATIC_REQUIRE(cuda_implements<&CudaBackend::binary>);
    STATIC_REQUIRE_FALSE(cuda_implements<&CudaBackend::conv2d>);  // Backend's default, which throws
    REQUIRE(fast_devices(false) == std::vector<Device>{kCPU});
#ifdef NABLA_WITH_CUDA
    const bool device = cuda_device_count() > 0;
#else
    const bool device = false;
#endif
    REQUIRE(fast_devices(true) == (device ? std::vector<Device>{kCPU, kCUDA} : std::vector<Device>{kCPU}));
}

#ifdef NABLA_WITH_CUDA
#include "backends/cuda/cuda_backend.h"

TEST_CASE("cuda: elementwise ops and matmul equal the host kernels", "[backends][cuda]") {
    if (cuda_device_count() == 0) {
        WARN("no CUDA device (" << cuda_unavailable_reason() << "): cuda parity tests skipped");
        REQUIRE_THROWS_WITH(zeros({2}, {.device = kCUDA}), Catch::Contains("no CUDA device"));
        return;
    }
    Tensor x = randn({5, 7}), y = randn({1, 7});
    Tensor xc = x.to(kCUDA), yc = y.to(kCUDA);
    REQUIRE_THAT((xc * yc + sigmoid(xc)).to(kCPU), ClosesTo(x * y + sigmoid(x), 1e-5, 1e-5));
    REQUIRE_THAT(xc.t().contiguous().to(kCPU), ClosesTo(x.t().contiguous()));
    Tensor w = randn({7, 3});
    REQUIRE_THAT(matmul(xc, w.to(kCUDA)).to(kCPU), ClosesTo(matmul(x, w), 1e-4, 1e-4));
}
#else
TEST_CASE("cuda: a build without CUDA refuses cuda tensors with a clear message", "[backends][cuda]") {
    WARN("built without CUDA: cuda parity tests skipped");
    REQUIRE_THROWS_WITH(zeros({2}, {.device = kCUDA}), Catch::Contains("built without the CUDA backend"));
}
#endif
