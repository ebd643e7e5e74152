// backends/cuda/blas.h — batched GEMM on cuBLAS in row-major terms, for matmul (matmul.cpp) and the im2col
// convolution (conv_gemm.cpp). cuBLAS is opened with dlopen on first use (matmul.cpp says why).
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace nabla::cuda {

// For b in [0, batch): C_b = alpha * op(A_b) @ op(B_b) + beta * C_b, every matrix row-major, on the current device's
// stream. op(A_b) is [m, k] (A_b is stored [k, m] when trans_a), op(B_b) is [k, n] (stored [n, k] when trans_b), C_b
// is [m, n]; ld* are the row strides in elements and stride_* the batch strides (0 repeats one matrix).
// dtype is Float32 or Float64; the pointers are to device memory of that dtype.
struct Gemm {
    DType dtype = DType::Float32;
    bool trans_a = false, trans_b = false;
    int64_t m = 0, n = 0, k = 0;
    double alpha = 1, beta = 0;
    const void* a = nullptr;
    int64_t lda = 0, stride_a = 0;
    const void* b = nullptr;
    int64_t ldb = 0, stride_b = 0;
    void* c = nullptr;
    int64_t ldc = 0, stride_c = 0;
    int64_t batch = 1;
};
void gemm(const Gemm& g);  // throws nabla::Error naming cuBLAS's status on failure

}  // namespace nabla::cuda
