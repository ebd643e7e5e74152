// backends/cuda/sort.h — launchers of the sort kernels (sort.cu): the stable sort of every row along one dim, with
// the positions, and the first k of each sorted row (sort, and topk as sort + slice; sort.cpp).
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace nabla::cuda {

// Bytes of device workspace launch_sort needs for x [outer, n, inner]; the host allocates them (kernel::empty).
int64_t sort_workspace_bytes(DType dtype, int64_t outer, int64_t n, int64_t inner);

// x: contiguous [outer, n, inner] of dtype; values [outer, k, inner] (dtype) and indices (int64, positions along
// the n dim) contiguous, k <= n: the first k of each row x[o, :, q] in stable sorted order, ascending or descending,
// NaN larger than every number (last ascending, first descending) and -0.0 equal to 0.0, as the reference
// (backends/reference/sort.cpp). One outer slice must hold fewer than 2^31 elements.
void launch_sort(DType dtype, const void* x, int64_t outer, int64_t n, int64_t inner, int64_t k, bool descending,
                 void* values, int64_t* indices, void* workspace, int64_t workspace_bytes);

}  // namespace nabla::cuda
