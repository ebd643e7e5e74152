// core/storage.h — a block of device memory that tensors view, and the allocators that make it.
// Several tensors (views) share one Storage. The storage also carries the version counter that autograd uses to
// detect an in-place change of a tensor saved for backward: every in-place op bumps it, and it is shared by all views.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/device.h"

namespace nabla {

// One allocator per device type. The CPU allocator lives in core; a device backend registers its own when the
// program starts (backends/cuda does), so core never names a backend. `device` carries the index of the GPU.
class Allocator {
public:
    virtual ~Allocator() = default;
    virtual void* allocate(size_t nbytes, Device device) = 0;
    virtual void deallocate(void* p, size_t nbytes, Device device) = 0;
    virtual size_t empty_cache() { return 0; }    // returns cached blocks to the system; the bytes released
    virtual int64_t cached_bytes() { return 0; }  // freed blocks kept for reuse
};

Allocator& allocator_for(Device device);  // a NotImplementedError for a device type nobody registered
void register_allocator(DeviceType type, Allocator* allocator);
// Page-locked host memory, which a GPU copies from asynchronously (Tensor::pin_memory, DataLoader's pin_memory).
// The CUDA backend registers a provider; nullptr in a build or on a machine without a GPU.
Allocator* pinned_allocator();
void register_pinned_allocator(Allocator* (*provider)());

// Bytes currently allocated and the high-water mark, per device type (the tracer and `nabla bench` report them).
struct MemoryStats {
    int64_t allocated = 0;
    int64_t peak = 0;
    int64_t cached = 0;  // freed blocks the allocator keeps for reuse (host: large blocks, see core/storage.cpp)
};
MemoryStats memory_stats(DeviceType type = DeviceType::CPU);
void reset_peak_memory(DeviceType type = DeviceType::CPU);
void note_allocation(DeviceType type, int64_t delta_bytes);  // called by allocators
// Returns an allocator's cached blocks to the system (torch.cuda.empty_cache; the host's by default); returns the
// bytes released.
size_t empty_cache(DeviceType type = DeviceType::CPU);
// The host's physical memory in bytes (what an op may check a huge temporary against before it asks for it).
int64_t host_memory_bytes();

class Storage {
public:
    Storage(size_t nbytes, Device device);
    Storage(size_t nbytes, Allocator& pinned);  // page-locked host memory from pinned_allocator()
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void* data() const { return data_; }
    size_t nbytes() const { return nbytes_; }
    Device device() const { return device_; }
    bool is_pinned() const { return pinned_; }

    uint64_t version() const { return version_; }
    void bump_version() { ++version_; }

private:
    void* data_ = nullptr;
    size_t nbytes_ = 0;
    Device device_;
    Allocator* allocator_;
    bool pinned_ = false;
    uint64_t version_ = 0;
};

}  // namespace nabla
