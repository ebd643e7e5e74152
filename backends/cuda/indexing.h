// backends/cuda/indexing.h — launchers of the indexing kernels (indexing.cu): index_select / index_add_, gather /
// scatter_add_, advanced indexing (index / index_put_), pad / pad_backward and flip. The host side
// (indexing.cpp) works out the geometry; the kernels take raw device pointers and these plain structs.
//
// Every index tensor handed to a launcher is contiguous int64 on the device. The kernels cannot throw per element,
// so an index outside the range the reference accepts (backends/reference/indexing.cpp) is not an error here: a
// kernel that reads through it writes 0, one that writes through it skips the element. Nothing outside the tensors
// is ever touched. (The reference, which sees the index values on the host, throws IndexError for them.)
#pragma once
#include <cstdint>

#include "backends/common/params.h"
#include "backends/common/strided_index.h"
#include "core/dtype.h"

namespace nabla::cuda {

// One dim indexed by an int64 tensor: the element at coordinate index[i] along it is at offset index[i] * stride.
struct IndexedDim {
    const int64_t* index = nullptr;
    int64_t size = 0;    // valid indices are [0, size) (and [-size, 0), wrapped, where a kernel wraps)
    int64_t stride = 0;  // of the indexed tensor along this dim
};

// index_select: y (contiguous, n elements, shape [*pre, m, *post], inner = numel(post)) gets
//   y[p, i, q] = x[p, index[i], q];  x_ix walks y's shape with x's strides and stride 0 along dim.
void launch_index_select(DType dtype, const void* x, const StridedIndexer<1>& x_ix, IndexedDim dim, int64_t m,
                         int64_t inner, void* y, int64_t n);
// index_add_: out[p, index[i], q] += src[p, i, q] over src's n elements (shape [*pre, m, *post]); ix walks src's
// shape with {out's strides with 0 along dim, src's strides}. Atomic: repeated indices accumulate.
void launch_index_add(DType dtype, void* out, const StridedIndexer<2>& ix, IndexedDim dim, int64_t m, int64_t inner,
                      const void* src, int64_t n);
// gather: y[e] = x[x_ix(e) + index[e] * dim.stride] for the n elements e of index's shape (y, index contiguous);
// x_ix walks index's shape with x's strides and stride 0 along dim.
void launch_gather(DType dtype, const void* x, const StridedIndexer<1>& x_ix, IndexedDim dim, void* y, int64_t n);
// scatter_add_: out[ix_0(e) + index[e] * dim.stride] += src[ix_1(e)] for the n elements e of index's shape; ix walks
// it with {out's strides with 0 along dim, src's strides}. Atomic.
void launch_scatter_add(DType dtype, void* out, const StridedIndexer<2>& ix, IndexedDim dim, const void* src,
                        int64_t n);

// Advanced indexing by k index tensors of one (broadcast) shape B with P = numel(B) positions: position p addresses
// t[i0[p], ..., ik-1[p], rest...], indices in [-size, size) wrapped as x[i] wraps them.
struct AdvancedIndex {
    int k = 0;
    IndexedDim dims[kMaxDims];
};
// index: y (contiguous [*B, *rest], n = P * r elements, r = numel(rest)) gets y[p, j] = x[base(p) + rest_ix(j)],
// where rest_ix walks rest with x's strides.
void launch_index(DType dtype, const void* x, const AdvancedIndex& ai, const StridedIndexer<1>& rest_ix, int64_t r,
                  void* y, int64_t n);

// index_put_: out[base(p) + rest_ix(j)] (+)= values[values_ix(p * r + j)] for the n = P * r elements; rest_ix walks
// rest with out's strides, values_ix walks [*B, *rest] with values' strides (0 where broadcast). accumulate adds
// atomically; assignment keeps the last of repeated positions, as the reference's loop does: it sorts the positions
// by their address (radix sort), so it needs a workspace of index_put_workspace_bytes(P) bytes, which the host
// allocates (none when accumulating). prefix_numel is the number of elements of out's first k dims.
int64_t index_put_workspace_bytes(int64_t positions, int64_t prefix_numel);
void launch_index_put(DType dtype, void* out, const AdvancedIndex& ai, const StridedIndexer<1>& rest_ix, int64_t r,
                      const void* values, const StridedIndexer<1>& values_ix, int64_t positions, int64_t prefix_numel,
                      bool accumulate, void* workspace, int64_t workspace_bytes);

// pad / pad_backward geometry, per dim d (merged where nothing is padded): the output (padded) size, the input
// size, the padding in front (negative crops), and the strides of the input and of the output.
struct PadGeometry {
    int ndim = 0;
    int64_t out_size[kMaxDims] = {};
    int64_t in_size[kMaxDims] = {};
    int64_t before[kMaxDims] = {};
    int64_t in_stride[kMaxDims] = {};
    int64_t out_stride[kMaxDims] = {};
};
// pad: y (contiguous, n elements, shape out_size) gets x at pad_source_index of each coordinate, or `value`.
void launch_pad(DType dtype, const void* x, void* y, const PadGeometry& g, PadMode mode, double value, int64_t n);
// pad_backward of reflect / replicate: gx[source(o)] += gy[o] (atomic) over gy's n elements (in = gx, out = gy).
void launch_pad_backward(DType dtype, const void* gy, void* gx, const PadGeometry& g, PadMode mode, int64_t n);

// flip: y[e] = x[ix(e)] for the n elements of y (contiguous), x pointing at the element that y[0] copies and ix
// carrying x's strides negated along the flipped dims.
void launch_flip(DType dtype, const void* x, const StridedIndexer<1>& ix, void* y, int64_t n);

}  // namespace nabla::cuda
