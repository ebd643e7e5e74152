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
// program starts (backends/cuda does), so core never names a backend.
class Allocator {
public:
    virtual ~Allocator() = default;
    virtual void* allocate(size_t nbytes) = 0;
    virtual void deallocate(void* p, size_t nbytes) = 0;
};

Allocator& allocator_for(Device device);  // a NotImplementedError for a device type nobody registered
void register_allocator(DeviceType type, Allocator* allocator);

// Bytes currently allocated and the high-water mark, per device type (the tracer and `nabla bench` report them).
struct MemoryStats {
    int64_t allocated = 0;
    int64_t peak = 0;
    int64_t cached = 0;  // freed blocks the allocator keeps for reuse (host: large blocks, see core/storage.cpp)
};
MemoryStats memory_stats(DeviceType type = DeviceType::CPU);
void reset_peak_memory(DeviceType type = DeviceType::CPU);
void note_allocation(DeviceType type, int64_t delta_bytes);  // called by allocators
// Returns the host allocator's cached blocks to the system (torch.cuda.empty_cache for the host); returns the bytes.
size_t empty_cache();
// The host's physical memory in bytes (what an op may check a huge temporary against before it asks for it).
int64_t host_memory_bytes();

class Storage {
public:
    Storage(size_t nbytes, Device device);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void* data() const { return data_; }
    size_t nbytes() const { return nbytes_; }
    Device device() const { return device_; }

    uint64_t version() const { return version_; }
    void bump_version() { ++version_; }

private:
    void* data_ = nullptr;
    size_t nbytes_ = 0;
    Device device_;
    uint64_t version_ = 0;
};

}  // namespace nabla
