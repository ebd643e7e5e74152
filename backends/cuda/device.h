// backends/cuda/device.h — host-side helpers that the CUDA backend's kernel files (backends/cuda/*.cpp) share:
// DeviceGuard, which makes a tensor's device current for the launches in its scope (so Device::index is honoured),
// and the geometry of strided tensors handed to the elementwise launchers. Host compiler only (it reads Tensor).
#pragma once
#include <array>

#include "backends/common/strided_index.h"
#include "core/tensor.h"

namespace nabla::cuda {

// Makes `device` (a CUDA device) current for its scope and restores the previous one; the launches and allocations
// inside run on that device and its stream (backends/cuda/launch.h: current_stream). A CPU device changes nothing.
class DeviceGuard {
public:
    explicit DeviceGuard(Device device);
    ~DeviceGuard();
    DeviceGuard(const DeviceGuard&) = delete;
    DeviceGuard& operator=(const DeviceGuard&) = delete;

private:
    int previous_ = -1;
};

// The StridedIndexer of N tensors that share `shape` (their own strides, 0 where broadcast). Throws for more than
// kMaxDims dims, naming the shape.
template <int N>
StridedIndexer<N> indexer(const Shape& shape, const std::array<const Tensor*, N>& ts) {
    NB_CHECK(static_cast<int>(shape.size()) <= kMaxDims, "cuda: tensors of more than ", kMaxDims,
             " dims are not supported, got ", shape);
    StridedIndexer<N> ix;
    ix.ndim = static_cast<int>(shape.size());
    for (int d = 0; d < ix.ndim; ++d) {
        ix.sizes[d] = shape[d];
        for (int k = 0; k < N; ++k) ix.strides[k][d] = ts[k]->strides()[d];
    }
    return ix;
}

}  // namespace nabla::cuda
