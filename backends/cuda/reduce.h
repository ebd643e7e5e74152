// backends/cuda/reduce.h — launchers of the reduction kernels (reduce.cu): sum, mean, amax and amin over a set of
// dims, and max/min with their indices along one dim. The host side (reduce.cpp) drops size-1 dims, merges
// neighbouring dims that are both reduced or both kept, and hands the kernels one of two layouts of a contiguous x:
//   rows     [R, C, S], reduce R and S:  y[c]         = op over r < d0, s < d2 of x[(r * d1 + c) * d2 + s]
//   columns  [O, R, I], reduce R:        y[o * d2 + i] = op over r < d1 of x[(o * d1 + r) * d2 + i]
// (rows with R = 1 are the trailing-dims case; everything else is permuted into it by one copy). When there are few
// outputs for many elements each, the kernels split each reduction across blocks into partials in a workspace that
// the caller allocates (reduce_workspace_bytes says how much; 0 when one pass does), and a second pass combines them.
#pragma once
#include <cstddef>
#include <cstdint>

#include "backends/common/params.h"  // ReduceOp
#include "core/dtype.h"

namespace nabla::cuda {

struct ReduceLayout {
    bool columns = false;  // false: rows [d0, d1, d2]; true: columns [d0, d1, d2] (see above)
    int64_t d0 = 1, d1 = 1, d2 = 1;
};

// Sum and Mean accumulate in double (int64 for integer dtypes) as the reference does; Max and Min propagate NaN.
// Every reduced extent is non-empty and there is at least one output.
size_t reduce_workspace_bytes(ReduceOp op, DType dtype, const ReduceLayout& layout);
void launch_reduce(ReduceOp op, DType dtype, const void* x, void* y, const ReduceLayout& layout, void* workspace);

// op is Max or Min; the extreme that comes first wins a tie, and the first NaN wins over everything.
size_t reduce_with_indices_workspace_bytes(ReduceOp op, DType dtype, const ReduceLayout& layout);
void launch_reduce_with_indices(ReduceOp op, DType dtype, const void* x, void* values, int64_t* indices,
                                const ReduceLayout& layout, void* workspace);

}  // namespace nabla::cuda
