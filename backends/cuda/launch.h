// backends/cuda/launch.h — what every CUDA launcher (backends/cuda/*.cu) uses: the block size and grid of a
// grid-stride loop, and the Launch scope that gives a kernel its stream, checks the launch and shows it in the tracer.
// Plain CUDA runtime and standard headers only, so that nvcc and the host compiler both read it.
//
//   void launch_fill(...) {
//       Launch launch("fill_");                                        // a `cuda` trace scope, the current stream
//       fill_kernel<<<blocks_for(n), kThreads, 0, launch.stream()>>>(...);
//       launch.check();                                                // throws nabla::Error naming the kernel
//   }
//
// Every kernel runs on the stream of the current device (backends/cuda/device.h: DeviceGuard sets the device), one
// stream per device, so the kernels of one device run in the order they were launched and the caching allocator may
// hand a freed block to the next launch at once (backends/cuda/allocator.cpp).
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace nabla::cuda {

inline constexpr int kThreads = 256;
inline constexpr int kMaxDevices = 64;  // per-device tables (streams, library handles) have this many entries

// Blocks for a grid-stride loop over n items: enough to fill any GPU, never more than the items need.
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
    return static_cast<unsigned>(std::clamp<int64_t>((n + threads - 1) / threads, 1, 4096));
}

// The stream of the current device, and of device `device`, created on first use (never the legacy default stream).
cudaStream_t current_stream();
cudaStream_t stream_of(int device);
// The stream of device `device` if it has been created, else nullptr; creates nothing and never throws.
cudaStream_t existing_stream(int device);
// Hands the device durations of timed launches (trace::Config::device_time) to the tracer; waits for them.
void drain_timings();

class Launch {
public:
    explicit Launch(const char* kernel);  // `kernel` is a literal; it names the trace record and any error
    ~Launch();
    Launch(const Launch&) = delete;
    Launch& operator=(const Launch&) = delete;

    cudaStream_t stream() const { return stream_; }
    // Throws nabla::Error("cuda <kernel>: <CUDA error string>") if the launch failed.
    void check();

private:
    const char* kernel_;
    cudaStream_t stream_;
    bool traced_ = false;
    cudaEvent_t start_ = nullptr;  // device timing (trace::Config::device_time): events around the launch
};

// Throws nabla::Error("cuda <what>: <CUDA error string>") when e is not cudaSuccess.
void check(cudaError_t e, const char* what);

}  // namespace nabla::cuda
