// backends/cuda/interpolate.h — launchers of the upsample kernels (backends/cuda/interpolate.cu: F.interpolate's
// nearest, bilinear and bicubic modes and their backward) on contiguous NCHW tensors seen as `planes` = N*C
// independent [H, W] planes. Raw device pointers and plain structs only, so that nvcc and the host compiler read it.
#pragma once
#include <cstdint>

#include "backends/common/params.h"
#include "core/dtype.h"

namespace nabla::cuda {

// y: [planes, p.out_h, p.out_w] from x: [planes, H, W].
void launch_upsample(DType dtype, const void* x, void* y, int64_t planes, int64_t H, int64_t W,
                     const UpsampleParams& p);
// gx: [planes, H, W] (zeroed here) += the adjoint of upsample applied to gy: [planes, p.out_h, p.out_w].
void launch_upsample_backward(DType dtype, const void* gy, void* gx, int64_t planes, int64_t H, int64_t W,
                              const UpsampleParams& p);

}  // namespace nabla::cuda
