// backends/cuda/elementwise.h — the launchers of the elementwise kernels (elementwise.cu): copy, fill, unary and
// binary ops, where. Raw pointers and the strided geometry that elementwise.cpp and memory.cpp work out on the host.
#pragma once
#include <cstdint>

#include "backends/common/params.h"
#include "backends/common/strided_index.h"
#include "core/dtype.h"

namespace nabla::cuda {

// Pointers are to element 0 of each tensor; n elements; `ix` maps element k to each tensor's offset.
void launch_fill(DType dtype, void* dst, const StridedIndexer<1>& ix, int64_t n, double value);
void launch_copy(DType dst_dtype, void* dst, DType src_dtype, const void* src, const StridedIndexer<2>& ix, int64_t n);
void launch_unary(UnaryOp op, DType dtype, const void* x, void* y, const StridedIndexer<2>& ix, int64_t n,
                  UnaryArgs args);
void launch_unary_backward(UnaryOp op, DType dtype, const void* gy, const void* saved, void* gx,
                           const StridedIndexer<3>& ix, int64_t n, UnaryArgs args);
void launch_binary(BinaryOp op, DType dtype, const void* a, const void* b, void* out, const StridedIndexer<3>& ix,
                   int64_t n);
void launch_where(DType dtype, const bool* cond, const void* a, const void* b, void* out, const StridedIndexer<4>& ix,
                  int64_t n);

}  // namespace nabla::cuda
