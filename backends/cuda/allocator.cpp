// backends/cuda/allocator.cpp — the caching device allocator and the pinned host allocator.
//
// cudaMalloc and cudaFree are slow (cudaFree synchronises the whole device), and a training step allocates and
// frees the same sizes every step, so, as PyTorch's CUDA caching allocator does:
//   - a freed block goes back to its device's free list instead of to the driver, and the next request of that
//     device takes the smallest free block that fits, if it is at most twice the request (sizes are rounded up to
//     512 bytes, and to 2 MiB above 1 MiB, so that similar sizes share blocks). Blocks are never split.
//   - each device has one stream (launch.h) and every kernel runs on it, so a block freed by the host while kernels
//     that use it are still queued can be handed out at once: the next user's kernels queue behind them. (PyTorch
//     tracks the streams a block was used on; with one stream per device there is nothing to track.)
//   - when cudaMalloc fails, the free blocks of that device are released and the request tried once more; a second
//     failure is an OutOfMemoryError that says what was asked for, what is in use and what is cached.
//   - empty_cache() gives the free blocks back to the driver (torch.cuda.empty_cache).
// allocated/peak count the bytes of live tensors (core/storage.h memory_stats(DeviceType::CUDA)); cached the free
// blocks.
//
// Pinned host memory (cudaHostAlloc) backs Tensor::pin_memory and the DataLoader's pinned batches. A pinned block
// may still be the source of an asynchronous copy when the host frees it, so its free records an event on every
// device's stream and the block is reused only once those events have completed.
#include <cuda_runtime.h>

#include <atomic>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/launch.h"
#include "core/error.h"
#include "core/storage.h"

namespace nabla {
namespace {

constexpr size_t kSmallRound = 512;
constexpr size_t kLargeRound = size_t{2} << 20;
constexpr size_t kLargeFrom = size_t{1} << 20;
constexpr double kReuseSlack = 2.0;

size_t round_size(size_t nbytes) {
    const size_t round = nbytes >= kLargeFrom ? kLargeRound : kSmallRound;
    return std::max<size_t>((nbytes + round - 1) / round * round, kSmallRound);
}

std::string mib(int64_t bytes) { return detail::concat(static_cast<double>(bytes) / (1 << 20), " MiB"); }

class CudaCachingAllocator final : public Allocator {
public:
    void* allocate(size_t nbytes, Device device) override {
        if (cuda_device_count() == 0)
            throw Error(detail::concat("cuda: no CUDA device available (", cuda_unavailable_reason(), ")"));
        NB_CHECK(device.index >= 0 && device.index < cuda_device_count(), "cuda: no device ", device.str(), " (",
                 cuda_device_count(), " present)");
        const size_t bytes = round_size(nbytes);
        std::lock_guard<std::mutex> lock(mutex_);
        Pool& pool = pools_[device.index];
        void* p = nullptr;
        if (auto it = pool.free.lower_bound(bytes);
            it != pool.free.end() && static_cast<double>(it->first) <= kReuseSlack * static_cast<double>(bytes)) {
            p = it->second;
            cached_ -= static_cast<int64_t>(it->first);
            pool.free.erase(it);
        } else {
            p = malloc_on(device.index, bytes, nbytes);
            pool.size[p] = bytes;
        }
        note_allocation(DeviceType::CUDA, static_cast<int64_t>(nbytes));
        return p;
    }

    void deallocate(void* p, size_t nbytes, Device device) override {
        note_allocation(DeviceType::CUDA, -static_cast<int64_t>(nbytes));
        std::lock_guard<std::mutex> lock(mutex_);
        Pool& pool = pools_[device.index];
        const size_t bytes = pool.size.at(p);
        pool.free.emplace(bytes, p);
        cached_ += static_cast<int64_t>(bytes);
    }

    size_t empty_cache() override {
        std::lock_guard<std::mutex> lock(mutex_);
        size_t released = 0;
        for (auto& [index, pool] : pools_) released += release(index, pool);
        return released;
    }

    // No lock: malloc_on's OutOfMemoryError asks memory_stats, which calls this, with mutex_ held.
    int64_t cached_bytes() override { return cached_.load(); }

private:
    struct Pool {
        std::multimap<size_t, void*> free;       // free blocks by size
        std::unordered_map<void*, size_t> size;  // every block of the device, in use or free
    };

    void* malloc_on(int index, size_t bytes, size_t asked) {
        int previous = 0;
        cudaGetDevice(&previous);
        cudaSetDevice(index);
        void* p = nullptr;
        cudaError_t e = cudaMalloc(&p, bytes);
        if (e == cudaErrorMemoryAllocation) {  // give this device's free blocks back and try once more
            cudaGetLastError();                // clear the sticky-free error state of the failed call
            release(index, pools_[index]);
            e = cudaMalloc(&p, bytes);
        }
        cudaSetDevice(previous);
        if (e != cudaSuccess) {
            cudaGetLastError();
            const MemoryStats s = memory_stats(DeviceType::CUDA);
            throw OutOfMemoryError(detail::concat("cuda:", index, ": out of memory allocating ", mib(int64_t(asked)),
                                                  " (", cudaGetErrorString(e), "); ", mib(s.allocated),
                                                  " in use by tensors, ", mib(cached_.load()), " cached"));
        }
        return p;
    }

    // Frees a device's free blocks (cudaFree waits for the device, so no queued kernel still uses them).
    size_t release(int index, Pool& pool) {
        int previous = 0;
        cudaGetDevice(&previous);
        cudaSetDevice(index);
        size_t released = 0;
        for (auto& [bytes, p] : pool.free) {
            cudaFree(p);
            pool.size.erase(p);
            released += bytes;
        }
        pool.free.clear();
        cached_ -= static_cast<int64_t>(released);
        cudaSetDevice(previous);
        return released;
    }

    std::mutex mutex_;
    std::map<int, Pool> pools_;  // by device index
    std::atomic<int64_t> cached_{0};
};

class PinnedAllocator final : public Allocator {
public:
    void* allocate(size_t nbytes, Device) override {
        const size_t bytes = round_size(nbytes);
        std::lock_guard<std::mutex> lock(mutex_);
        // The smallest free block that fits (up to twice the size) and that no queued copy reads any more.
        for (auto it = free_.lower_bound(bytes);
             it != free_.end() && static_cast<double>(it->first) <= kReuseSlack * static_cast<double>(bytes); ++it) {
            bool ready = true;
            for (cudaEvent_t e : it->second.ready) ready = ready && cudaEventQuery(e) == cudaSuccess;
            if (!ready) continue;
            void* p = it->second.p;
            for (cudaEvent_t e : it->second.ready) cudaEventDestroy(e);
            free_.erase(it);
            note_allocation(DeviceType::CPU, static_cast<int64_t>(nbytes));
            return p;
        }
        void* p = nullptr;
        cuda::check(cudaHostAlloc(&p, bytes, cudaHostAllocDefault), "pin_memory (cudaHostAlloc)");
        size_[p] = bytes;
        note_allocation(DeviceType::CPU, static_cast<int64_t>(nbytes));
        return p;
    }

    void deallocate(void* p, size_t nbytes, Device) override {
        note_allocation(DeviceType::CPU, -static_cast<int64_t>(nbytes));
        // One event on every device's stream, each completing when the copies queued there so far (which may read p)
        // are done: the copies of a cuda:N tensor went on N's stream, whatever device is current here. An event
        // belongs to its stream's device, hence the switches.
        std::vector<cudaEvent_t> ready;
        int previous = 0;
        if (cudaGetDevice(&previous) == cudaSuccess) {
            for (int d = 0; d < cuda_device_count(); ++d) {
                cudaStream_t stream = cuda::existing_stream(d);
                cudaEvent_t e = nullptr;
                if (!stream || cudaSetDevice(d) != cudaSuccess ||
                    cudaEventCreateWithFlags(&e, cudaEventDisableTiming) != cudaSuccess)
                    continue;
                if (cudaEventRecord(e, stream) == cudaSuccess)
                    ready.push_back(e);
                else
                    cudaEventDestroy(e);
            }
            cudaSetDevice(previous);
        }
        std::lock_guard<std::mutex> lock(mutex_);
        free_.emplace(size_.at(p), Free{p, std::move(ready)});
    }

private:
    struct Free {
        void* p;
        std::vector<cudaEvent_t> ready;  // all complete: no queued copy reads p any more
    };
    std::mutex mutex_;
    std::multimap<size_t, Free> free_;
    std::unordered_map<void*, size_t> size_;
};

// Never destroyed: tensors freed during static destruction still return their blocks here.
CudaCachingAllocator& device_allocator() {
    static auto* a = new CudaCachingAllocator;
    return *a;
}
Allocator* pinned_provider() {
    static auto* a = new PinnedAllocator;
    return cuda_device_count() > 0 ? a : nullptr;
}

const bool g_registered = [] {
    register_allocator(DeviceType::CUDA, &device_allocator());
    register_pinned_allocator(&pinned_provider);
    return true;
}();

}  // namespace
}  // namespace nabla
