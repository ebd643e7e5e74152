// ops/indexing.h — joining, splitting and indexing tensors, with PyTorch's names and semantics:
//   torch.cat / stack / split / chunk (ops/cat.cpp), index_select, gather, scatter_add, masked_fill, masked_select,
//   flip, and advanced indexing x[i0, i1, ...] (index) and its out-of-place assignment (index_put) in ops/indexing.cpp.
// Index tensors are int64. Out-of-range indices throw IndexError naming the op, the index and the size.
// Padding is in ops/pad.h, sorting in ops/sort.h.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace nabla {

// torch.cat: sizes must match except along dim; dtypes promote; 1-D empty tensors (shape [0]) are skipped.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
// torch.stack: equal shapes [*s] -> [*s[:dim], n, *s[dim:]].
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
// torch.split: views of split_size along dim (the last one smaller), or of the given sizes (which sum to the dim).
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, const Shape& split_sizes, int64_t dim = 0);
// torch.chunk: split into ceil(n / chunks)-sized views (so possibly fewer than `chunks` of them).
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);

// torch.index_select: x [*pre, n, *post], index [m] -> [*pre, m, *post].
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// torch.gather: y[a][b][c] = x[a][index[a][b][c]][c] for dim 1; y has index's shape.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// torch.scatter_add (out of place): y = x; y[a][index[a][b][c]][c] += src[a][b][c] for dim 1.
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// torch.masked_fill: value where the bool mask (broadcast to x) is true.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
// torch.masked_select: the elements of x where the bool mask is true (both broadcast), as a 1-D tensor.
Tensor masked_select(const Tensor& x, const Tensor& mask);
// torch.flip: reverses the order along each of dims.
Tensor flip(const Tensor& x, const Shape& dims);

// x[i0, i1, ..., ik-1] (advanced indexing on the leading k dims): the int64 index tensors broadcast together to
// shape B, and the result is [*B, *x.shape[k:]]; negative indices count from the end. YOLOv5: p[b, a, gj, gi].
Tensor index(const Tensor& x, const std::vector<Tensor>& indices);
// The out-of-place x[i0, ..., ik-1] = values (or += with accumulate, which sums repeated indices; without it the last
// write wins). values broadcast to [*B, *x.shape[k:]].
Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate = false);

}  // namespace nabla
