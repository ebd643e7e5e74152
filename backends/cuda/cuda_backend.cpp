// backends/cuda/cuda_backend.cpp — the CUDA backend's registration and what it says about itself: the device count,
// the reason when there is none, and `nabla --verbose`'s line. The kernels are in the op-family files
// (cuda_backend.h lists them), the allocators in allocator.cpp, streams and launches in launch.cpp.
#include "backends/cuda/cuda_backend.h"

#include <cuda_runtime.h>

#include "core/error.h"

namespace nabla {

int cuda_device_count() {
    static const int n = [] {
        int count = 0;
        return cudaGetDeviceCount(&count) == cudaSuccess ? count : 0;
    }();
    return n;
}

std::string cuda_unavailable_reason() {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    return e == cudaSuccess ? (count == 0 ? "no device found" : "available") : cudaGetErrorString(e);
}

std::string CudaBackend::description() const {
    const int n = cuda_device_count();
    std::string devices;
    for (int i = 0; i < n; ++i) {
        cudaDeviceProp p{};
        if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
        devices += detail::concat(i ? ", " : "", "cuda:", i, " ", p.name, " (sm_", p.major, p.minor, ", ",
                                  p.totalGlobalMem >> 20, " MiB)");
    }
    int runtime = 0;
    cudaRuntimeGetVersion(&runtime);
    return detail::concat("cuda (runtime ", runtime / 1000, ".", runtime % 1000 / 10, ", convolutions on ",
                          NABLA_CUDA_CONV_PATH, "): ", n ? devices : "no device (" + cuda_unavailable_reason() + ")");
}

// The kernels register themselves for DeviceType::CUDA when the program starts (the allocators in allocator.cpp);
// the build links this library whole (CMake's WHOLE_ARCHIVE), since nothing refers to it by name.
namespace {
CudaBackend g_backend;
const bool g_registered = [] {
    register_backend(DeviceType::CUDA, &g_backend);
    return true;
}();
}  // namespace

}  // namespace nabla
