// backends/cuda/pool.h — launchers of the 2-D pooling kernels (backends/cuda/pool.cu): max, average and adaptive
// average pooling and their backwards, on contiguous NCHW tensors seen as `planes` = N*C independent [H, W] planes.
// Raw device pointers and plain structs only, so that both nvcc and the host compiler read it.
#pragma once
#include <cstdint>

#include "backends/common/params.h"
#include "core/dtype.h"

namespace nabla::cuda {

// y, indices: [planes, p.out_h, p.out_w]; indices are flat h*W+w per plane, -1 for a window that misses the input.
void launch_max_pool2d(DType dtype, const void* x, void* y, int64_t* indices, int64_t planes, int64_t H, int64_t W,
                       const PoolParams& p);
// gx [planes, HW] (zeroed here) += gy [planes, OHW] scattered to the saved indices.
void launch_max_pool2d_backward(DType dtype, const void* gy, const int64_t* indices, void* gx, int64_t planes,
                                int64_t HW, int64_t OHW);

// y: [planes, p.out_h, p.out_w]; gx: [planes, H, W], every element written.
void launch_avg_pool2d(DType dtype, const void* x, void* y, int64_t planes, int64_t H, int64_t W, const PoolParams& p);
void launch_avg_pool2d_backward(DType dtype, const void* gy, void* gx, int64_t planes, int64_t H, int64_t W,
                                const PoolParams& p);

// y: [planes, OH, OW]; gx: [planes, H, W], every element written (zeros when OH or OW is 0).
void launch_adaptive_avg_pool2d(DType dtype, const void* x, void* y, int64_t planes, int64_t H, int64_t W, int64_t OH,
                                int64_t OW);
void launch_adaptive_avg_pool2d_backward(DType dtype, const void* gy, void* gx, int64_t planes, int64_t H, int64_t W,
                                         int64_t OH, int64_t OW);

}  // namespace nabla::cuda
