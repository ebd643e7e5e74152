// backends/reference/matmul.cpp — the batched matrix product as the textbook triple loop (torch.bmm).
//   a: [B, M, K] @ b: [B, K, N] -> y: [B, M, N] (contiguous);  y[p][i][j] = sum_k a[p][i][k] * b[p][k][j]
// a and b may have any strides: a transposed operand arrives as swapped strides, a broadcast one with batch stride 0.
// Products accumulate in double, so the float32 result is the correctly rounded sum (the oracle of the cpu kernel).
// The op and its backward rule are in ops/matmul.cpp.
#include "backends/reference/reference_backend.h"

namespace nabla {

Tensor ReferenceBackend::matmul(const Tensor& a, const Tensor& b, bool /*bf16*/) {
    const int64_t B = a.size(0), M = a.size(1), K = a.size(2), N = b.size(2);
    Tensor y = make_tensor({B, M, N}, a.dtype(), a.device());
    dispatch_floating(a.dtype(), "matmul", [&]<class T>() {
        const T* pa = a.data_ptr<T>();
        const T* pb = b.data_ptr<T>();
        T* py = y.data_ptr<T>();
        const Shape &sa = a.strides(), &sb = b.strides();
        for (int64_t p = 0; p < B; ++p)
            for (int64_t i = 0; i < M; ++i)
                for (int64_t j = 0; j < N; ++j) {
                    const T* row = pa + p * sa[0] + i * sa[1];  // a[p][i][:]
                    const T* col = pb + p * sb[0] + j * sb[2];  // b[p][:][j]
                    double acc = 0;
                    for (int64_t k = 0; k < K; ++k)
                        acc += static_cast<double>(row[k * sa[2]]) * static_cast<double>(col[k * sb[1]]);
                    py[(p * M + i) * N + j] = static_cast<T>(acc);
                }
    });
    return y;
}

}  // namespace nabla
