// backends/cuda/launch.cpp — streams, the current device, and the Launch scope of every kernel (launch.h).
//
// One stream per device, created on first use with cudaStreamNonBlocking, so nothing synchronises with the legacy
// default stream behind our back: every kernel and every copy of the backend goes on it (copies with
// cudaMemcpyAsync), and the host waits only where it reads device memory (memory.cpp) or asks to
// (Backend::synchronize). The tracer's `cuda` category records each launch as a scope (the host's launch cost);
// with trace::Config::device_time it also times the kernel on the device with a pair of events and records that
// duration as "<kernel> (device)" when the stream is synchronised (Backend::synchronize; `nabla bench` does it after
// every step) or when 4096 timed launches are pending.
#include "backends/cuda/launch.h"

#include <array>
#include <atomic>
#include <mutex>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"
#include "core/error.h"
#include "core/trace/trace.h"

namespace nabla::cuda {

namespace {

struct Streams {
    std::array<std::once_flag, kMaxDevices> once;
    std::array<std::atomic<cudaStream_t>, kMaxDevices> stream{};  // atomic: existing_stream reads them unlocked
};
Streams& streams() {
    static Streams s;
    return s;
}

int current_device() {
    int d = 0;
    check(cudaGetDevice(&d), "cudaGetDevice");
    return d;
}

// Device-timed launches waiting for their end event: resolved into trace records by drain_timings().
struct Pending {
    const char* name;
    cudaEvent_t start, end;
};
std::mutex g_pending_mutex;
std::vector<Pending> g_pending;

}  // namespace

void check(cudaError_t e, const char* what) {
    if (e != cudaSuccess) throw Error(detail::concat("cuda ", what, ": ", cudaGetErrorString(e)));
}

cudaStream_t stream_of(int device) {
    NB_CHECK(device >= 0 && device < kMaxDevices, "cuda: device index ", device, " out of range");
    Streams& s = streams();
    std::call_once(s.once[device], [&] {
        int previous = current_device();
        check(cudaSetDevice(device), "cudaSetDevice");
        cudaStream_t stream = nullptr;
        check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
        s.stream[device] = stream;
        check(cudaSetDevice(previous), "cudaSetDevice");
    });
    return s.stream[device];
}

cudaStream_t existing_stream(int device) {
    return device >= 0 && device < kMaxDevices ? streams().stream[device].load() : nullptr;
}

cudaStream_t current_stream() { return stream_of(current_device()); }

// Records the device durations of finished timed launches (all of them once the stream was synchronised).
void drain_timings() {
    std::lock_guard<std::mutex> lock(g_pending_mutex);
    for (const Pending& p : g_pending) {
        cudaEventSynchronize(p.end);
        float ms = 0;
        cudaEventElapsedTime(&ms, p.start, p.end);
        trace::record_device(p.name, static_cast<int64_t>(static_cast<double>(ms) * 1e6));
        cudaEventDestroy(p.start);
        cudaEventDestroy(p.end);
    }
    g_pending.clear();
}

Launch::Launch(const char* kernel) : kernel_(kernel), stream_(current_stream()) {
    if (trace::enabled(trace::cuda)) [[unlikely]] {
        traced_ = trace::detail::begin(kernel, trace::cuda, -1);
        if (traced_ && trace::current_config().device_time) {
            cuda::check(cudaEventCreate(&start_), "cudaEventCreate");
            cuda::check(cudaEventRecord(start_, stream_), "cudaEventRecord");
        }
    }
}

Launch::~Launch() {
    if (traced_) [[unlikely]]
        trace::detail::end();
}

void Launch::check() {
    cudaError_t e = cudaGetLastError();
    if (start_) {
        cudaEvent_t end = nullptr;
        size_t pending = 0;
        if (cudaEventCreate(&end) == cudaSuccess && cudaEventRecord(end, stream_) == cudaSuccess) {
            std::lock_guard<std::mutex> lock(g_pending_mutex);
            g_pending.push_back({kernel_, start_, end});
            pending = g_pending.size();
        }
        start_ = nullptr;
        if (pending >= 4096) drain_timings();  // bounded: waits for the oldest, which have long finished
    }
    if (e != cudaSuccess) throw Error(detail::concat("cuda ", kernel_, ": ", cudaGetErrorString(e)));
}

DeviceGuard::DeviceGuard(Device device) {
    if (!device.is_cuda()) return;
    const int current = current_device();
    if (current == device.index) return;
    check(cudaSetDevice(device.index), "cudaSetDevice");
    previous_ = current;  // restored at scope end
}

DeviceGuard::~DeviceGuard() {
    if (previous_ >= 0) cudaSetDevice(previous_);
}

}  // namespace nabla::cuda

namespace nabla {

void CudaBackend::synchronize(Device device) {
    cuda::DeviceGuard guard(device);
    cuda::check(cudaStreamSynchronize(cuda::current_stream()), "synchronize");
    cuda::drain_timings();
}

}  // namespace nabla
