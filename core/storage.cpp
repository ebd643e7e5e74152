// core/storage.cpp — Storage, the host allocator, memory stats.
#include "core/storage.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>

#include "core/error.h"

namespace nabla {
namespace {

struct Counters {
    std::atomic<int64_t> allocated{0};
    std::atomic<int64_t> peak{0};
};
Counters g_counters[kDeviceTypes];

// The host allocator.
//
// Tensors of a training step are allocated and freed in the same sizes every step. Served by glibc as it comes,
// every large block is a fresh mmap() that page-faults (and is zeroed by the kernel) 4 KiB at a time and is
// unmapped again on free: a softmax over [6686, 48, 48] ran 2.3x slower for it. Served from glibc's heap without
// trimming instead, freed blocks are reused, but the heap fragments: a U2NETP training step with 944 MB of live
// tensors kept a 2.1 GB footprint. So, like PyTorch's CUDA caching allocator:
//   - small blocks (below 128 KiB, glibc's initial mmap threshold) come from malloc, whose heap reuses them well.
//     With the line at 1 MiB, blocks between the two were glibc's: mmapped fresh or trimmed from the heap top now
//     and then, each a few ms of page faults here (a [4, 512, 10, 10] gradient sum took 2.2 ms instead of 0.05);
//     at 128 KiB YOLOv5s batch 4 at 320 trains in 217 instead of 231 ms with 586 instead of 626 MB peak RSS,
//     PFLD batch 32 in 386 instead of 400 ms, and U2NETP's peak RSS is 1,270 instead of 1,302 MB;
//   - large blocks are mmap()ed in size classes (a 1/16 octave: at most 6% rounding) and cached when freed; a
//     request takes the smallest cached block of its class or up to twice its size, so from the second step on a
//     training loop maps nothing. Exact classes alone were not enough where the sizes are many and uneven: a
//     pruned YOLOv5s (widths such as 21, 81, 143) mapped and page-faulted 90 blocks a forward, and ran batch 8 at
//     640 in 356-385 ms instead of 238-251 (1.25x slack: 267-271). The 2x slack also made the unpruned YOLOv5s
//     (b8 640 inference 487 -> 452 ms), U2NETP (791 -> 776) and PANet (1,885 -> 1,764) faster and cut peak RSS
//     of YOLOv5s b1 inference 373 -> 288 MB and batch 4 training 587 -> 533 MB; it costs +14% RSS for b8 640
//     inference (756 -> 861 MB) and 1-2% for U2NETP and PANet training;
//   - on a miss, cached blocks (of other sizes) are unmapped while live + cached memory exceeds 1.1x the live
//     peak, or the peak + 256 MiB if that is more, so the footprint stays close to what the tensors need. The slack
//     is for inference, where each activation dies right after its use: the live peak is small, the sizes many,
//     and with 1.1x alone the cache unmapped and page-faulted every layer's output again (YOLOv5s batch 4 at 320:
//     248 ms a forward, 88 ms with the slack; 436 MB peak RSS for a 73 MB live peak);
//   - empty_cache() unmaps the cached blocks (after work at other sizes, such as validation at another resolution).
// Measured on a U2NETP training step (batch 2, 288x288, 2 threads; 972 MB live peak), step time and peak RSS:
// glibc's heap untrimmed 1,073 ms, 2,309 MB; exact reuse without a limit 1,071 ms, 1,554 MB; this allocator
// 1,140-1,160 ms, 1,300 MB (1,250 ms without huge pages); PyTorch 1.13 1,562 ms, 1,486 MB.
constexpr size_t kLargeBlock = size_t{128} << 10;
constexpr double kReserveLimit = 1.1;
constexpr size_t kReserveSlack = size_t{256} << 20;
constexpr double kReuseSlack = 2.0;

// What a failed host allocation throws: the size asked for against what is in use and what the machine has, so that
// a too large --size or --batch reads as such (std::bad_alloc says nothing).
OutOfMemoryError out_of_memory(size_t nbytes) {
    const double gib = 1024.0 * 1024.0 * 1024.0;
    return OutOfMemoryError(detail::concat(
        "out of memory: cannot allocate ", fmt::format("{:.2f}", static_cast<double>(nbytes) / gib),
        " GiB on the CPU (", fmt::format("{:.2f}", static_cast<double>(g_counters[0].allocated.load()) / gib),
        " GiB already in tensors, the machine has ",
        fmt::format("{:.1f}", static_cast<double>(host_memory_bytes()) / gib),
        " GiB); try a smaller batch or image size"));
}

size_t size_class(size_t nbytes) {
    size_t octave = 1;
    while (octave * 2 <= nbytes) octave *= 2;
    const size_t step = std::max<size_t>(octave / 16, 4096);
    return (nbytes + step - 1) / step * step;
}

class CpuAllocator final : public Allocator {
public:
    void* allocate(size_t nbytes, Device) override {
        void* p = allocate_block(nbytes);
        note_allocation(DeviceType::CPU, static_cast<int64_t>(nbytes));  // once it succeeded: a failure counts nothing
        return p;
    }
    void deallocate(void* p, size_t nbytes, Device) override {
        note_allocation(DeviceType::CPU, -static_cast<int64_t>(nbytes));
        if (nbytes < kLargeBlock) {
            std::free(p);
            return;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        const size_t bytes = blocks_.at(p).bytes;
        cache_.emplace(bytes, p);
        cached_bytes_ += bytes;
    }
    size_t empty_cache() override {
        std::lock_guard<std::mutex> lock(mutex_);
        const size_t released = cached_bytes_;
        release_locked(cached_bytes_);
        return released;
    }
    int64_t cached_bytes() override {
        std::lock_guard<std::mutex> lock(mutex_);
        return static_cast<int64_t>(cached_bytes_);
    }

private:
    void* allocate_block(size_t nbytes) {
        if (nbytes < kLargeBlock) {
            void* p = std::aligned_alloc(64, nbytes == 0 ? 64 : (nbytes + 63) / 64 * 64);
            if (!p) throw out_of_memory(nbytes);
            return p;
        }
        const size_t bytes = size_class(nbytes);
        std::lock_guard<std::mutex> lock(mutex_);
        // The smallest cached block of this class or up to twice its size (a block keeps its class when freed again).
        if (auto it = cache_.lower_bound(bytes);
            it != cache_.end() && static_cast<double>(it->first) <= kReuseSlack * static_cast<double>(bytes)) {
            void* p = it->second;
            cached_bytes_ -= it->first;
            cache_.erase(it);
            return p;
        }
        // A miss: keep live + cached within kReserveLimit of the live peak, giving back cached blocks of other sizes.
        // (this request counted as live already; live counts the bytes asked for, so a block serving a request up to
        // half its size is undercounted by the difference: the limit is a bound on the tensors, not on the mappings)
        const auto live = static_cast<double>(g_counters[0].allocated.load() + static_cast<int64_t>(nbytes));
        const auto peak = std::max(static_cast<double>(g_counters[0].peak.load()), live);
        const double limit = std::max(kReserveLimit * peak, peak + static_cast<double>(kReserveSlack));
        const double reserved = live + static_cast<double>(cached_bytes_);
        if (reserved > limit) release_locked(static_cast<size_t>(reserved - limit) + bytes);
        return map_block(bytes);
    }
    struct Block {
        char* base;     // what mmap returned
        size_t length;  // what was mapped
        size_t bytes;   // the size class
    };

    // Maps a block of `bytes` and returns it at a "colour" offset: blocks that all started on a page boundary would
    // put x[i], y[i] and dy[i] of an elementwise kernel in the same L1 set and on the same 4 KiB alias, and stall
    // it (a softmax backward over three 62 MB tensors ran 20% slower).
    void* map_block(size_t bytes) {
        const size_t length = bytes + kColourSpan;
        void* base = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED) {  // out of memory or address space: give the cached blocks back and try once more
            release_locked(cached_bytes_);
            base = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (base == MAP_FAILED) throw out_of_memory(bytes);
        }
        ::madvise(base, length, MADV_HUGEPAGE);  // 2 MiB pages where the kernel allows: 512x fewer page faults
        char* p = static_cast<char*>(base) + (colour_++ % (kColourSpan / 64)) * 64;
        blocks_[p] = {static_cast<char*>(base), length, bytes};
        return p;
    }
    // Unmaps cached blocks, largest first, until `bytes` are released or the cache is empty.
    void release_locked(size_t bytes) {
        size_t released = 0;
        while (released < bytes && !cache_.empty()) {
            auto it = std::prev(cache_.end());
            const Block block = blocks_.at(it->second);
            ::munmap(block.base, block.length);
            blocks_.erase(it->second);
            released += it->first;
            cached_bytes_ -= it->first;
            cache_.erase(it);
        }
    }

    static constexpr size_t kColourSpan = 4096;
    std::mutex mutex_;
    std::multimap<size_t, void*> cache_;       // free large blocks by size class
    std::unordered_map<void*, Block> blocks_;  // every large block, in use or cached
    size_t cached_bytes_ = 0;
    size_t colour_ = 0;
};

CpuAllocator g_cpu_allocator;

// Device allocators by DeviceType, and the pinned host allocator, filled by register_allocator during static
// initialisation (zero-initialised before any constructor runs, so the order of the registering files does not
// matter).
Allocator* g_device_allocators[kDeviceTypes] = {};
Allocator* (*g_pinned_provider)() = nullptr;

}  // namespace

void note_allocation(DeviceType type, int64_t delta) {
    Counters& c = g_counters[static_cast<int>(type)];
    int64_t now = c.allocated.fetch_add(delta) + delta;
    int64_t peak = c.peak.load();
    while (now > peak && !c.peak.compare_exchange_weak(peak, now)) {
    }
}

MemoryStats memory_stats(DeviceType type) {
    const Counters& c = g_counters[static_cast<int>(type)];
    Allocator* a = type == DeviceType::CPU ? &g_cpu_allocator : g_device_allocators[static_cast<int>(type)];
    return {c.allocated.load(), c.peak.load(), a ? a->cached_bytes() : 0};
}

size_t empty_cache(DeviceType type) {
    Allocator* a = type == DeviceType::CPU ? &g_cpu_allocator : g_device_allocators[static_cast<int>(type)];
    return a ? a->empty_cache() : 0;
}

int64_t host_memory_bytes() {
    return static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<int64_t>(sysconf(_SC_PAGE_SIZE));
}

void reset_peak_memory(DeviceType type) {
    Counters& c = g_counters[static_cast<int>(type)];
    c.peak.store(c.allocated.load());
}

void register_allocator(DeviceType type, Allocator* allocator) {
    g_device_allocators[static_cast<int>(type)] = allocator;
}

Allocator* pinned_allocator() { return g_pinned_provider ? g_pinned_provider() : nullptr; }
void register_pinned_allocator(Allocator* (*provider)()) { g_pinned_provider = provider; }

Allocator& allocator_for(Device device) {
    if (device.is_cpu()) return g_cpu_allocator;
    if (Allocator* a = g_device_allocators[static_cast<int>(device.type)]) return *a;
    throw NotImplementedError(
        detail::concat("no allocator for device ", device.str(), ": Nabla was built without the CUDA backend"));
}

Device Device::parse(const std::string& s) {
    if (s == "cpu") return kCPU;
    if (s == "cuda") return kCUDA;
    const std::string index = s.rfind("cuda:", 0) == 0 ? s.substr(5) : "";
    if (!index.empty() && index.size() <= 4 && index.find_first_not_of("0123456789") == std::string::npos)
        return Device{DeviceType::CUDA, std::stoi(index)};
    throw ValueError(detail::concat("unknown device '", s, "' (expected cpu, cuda or cuda:N)"));
}

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device), allocator_(&allocator_for(device)) {
    data_ = allocator_->allocate(nbytes, device);
}

Storage::Storage(size_t nbytes, Allocator& pinned)
    : nbytes_(nbytes), device_(kCPU), allocator_(&pinned), pinned_(true) {
    data_ = pinned.allocate(nbytes, kCPU);
}

Storage::~Storage() { allocator_->deallocate(data_, nbytes_, device_); }

}  // namespace nabla
