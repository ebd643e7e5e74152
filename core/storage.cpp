// core/storage.cpp — Storage, the host allocator, memory stats.
#include "core/storage.h"

#include <malloc.h>

#include <cstdlib>
#include <new>

#include "core/error.h"

namespace nabla {
namespace {

struct Counters {
    std::atomic<int64_t> allocated{0};
    std::atomic<int64_t> peak{0};
};
Counters g_counters[2];

// The host allocator: 64-byte aligned blocks (as oneDNN and AVX-512 like them).
//
// Tensors of a training step are allocated and freed in the same sizes every step. By default glibc serves large
// blocks with fresh mmap()s and returns freed memory to the OS, so every step would pay a page fault (and the
// kernel's zeroing) per 4 KiB touched, for our tensors and for oneDNN's scratch buffers alike: a softmax over
// [6686, 48, 48] ran 2.3x slower for it. So all blocks come from glibc's heap, which is never trimmed: freed memory
// is reused by the next step, and the footprint stays at the run's peak, as with PyTorch's caching allocators.
class CpuAllocator final : public Allocator {
public:
    CpuAllocator() {
        mallopt(M_MMAP_MAX, 0);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
    }
    void* allocate(size_t nbytes) override {
        void* p = std::aligned_alloc(64, nbytes == 0 ? 64 : (nbytes + 63) / 64 * 64);
        if (!p) throw std::bad_alloc();
        note_allocation(DeviceType::CPU, static_cast<int64_t>(nbytes));
        return p;
    }
    void deallocate(void* p, size_t nbytes) override {
        std::free(p);
        note_allocation(DeviceType::CPU, -static_cast<int64_t>(nbytes));
    }
};

CpuAllocator g_cpu_allocator;

}  // namespace

void note_allocation(DeviceType type, int64_t delta) {
    Counters& c = g_counters[static_cast<int>(type)];
    int64_t now = c.allocated.fetch_add(delta) + delta;
    int64_t peak = c.peak.load();
    while (now > peak && !c.peak.compare_exchange_weak(peak, now)) {}
}

MemoryStats memory_stats(DeviceType type) {
    const Counters& c = g_counters[static_cast<int>(type)];
    return {c.allocated.load(), c.peak.load()};
}

void reset_peak_memory(DeviceType type) {
    Counters& c = g_counters[static_cast<int>(type)];
    c.peak.store(c.allocated.load());
}

#ifdef NABLA_WITH_CUDA
Allocator& cuda_allocator();  // backends/cuda/cuda_backend.cpp
#endif

Allocator& allocator_for(Device device) {
    if (device.is_cpu()) return g_cpu_allocator;
#ifdef NABLA_WITH_CUDA
    return cuda_allocator();
#else
    throw NotImplementedError(detail::concat("no allocator for device ", device.str(), ": Nabla was built without CUDA"));
#endif
}

Device Device::parse(const std::string& s) {
    if (s == "cpu") return kCPU;
    if (s == "cuda") return kCUDA;
    const std::string index = s.rfind("cuda:", 0) == 0 ? s.substr(5) : "";
    if (!index.empty() && index.size() <= 4 && index.find_first_not_of("0123456789") == std::string::npos)
        return Device{DeviceType::CUDA, std::stoi(index)};
    throw ValueError(detail::concat("unknown device '", s, "' (expected cpu, cuda or cuda:N)"));
}

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
    data_ = allocator_for(device).allocate(nbytes);
}

Storage::~Storage() { allocator_for(device_).deallocate(data_, nbytes_); }

}  // namespace nabla
