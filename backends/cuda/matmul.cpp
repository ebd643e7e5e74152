// backends/cuda/matmul.cpp — matmul on cuBLAS, and the row-major batched GEMM (blas.h) that the im2col convolution
// shares.
//
// cuBLAS is column-major. A row-major [M, K] matrix is the column-major [K, M] matrix, so C = A B (row-major) is
// computed as C^T = B^T A^T in cuBLAS terms: gemm(B, A) with the operands swapped and no data movement; a transposed
// row-major operand is a transposed column-major one, so the transpose flags carry over unchanged.
//
// cuBLAS is opened on first use (dlopen), not linked: the start-up of its libraries costs every process that links
// them 0.6-0.9 s (an empty program linked with -lcublas, measured here), which each test executable and each
// `nabla` command would pay, GPU or not. The functions used are looked up by name; one handle per device.
#include <cublas_v2.h>
#include <dlfcn.h>

#include <array>
#include <mutex>

#include "backends/cuda/blas.h"
#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"
#include "backends/cuda/launch.h"

namespace nabla {

namespace {

struct Cublas {
    decltype(&cublasCreate_v2) create = nullptr;
    decltype(&cublasSetStream_v2) set_stream = nullptr;
    decltype(&cublasSgemmStridedBatched) sgemm = nullptr;
    decltype(&cublasDgemmStridedBatched) dgemm = nullptr;
};

const Cublas& cublas() {
    static const Cublas lib = [] {
        void* so = dlopen(NABLA_CUBLAS_LIBRARY, RTLD_NOW | RTLD_LOCAL);
        if (!so) so = dlopen("libcublas.so", RTLD_NOW | RTLD_LOCAL);
        if (!so) throw Error(detail::concat("cuda: cannot load cuBLAS (", NABLA_CUBLAS_LIBRARY, "): ", dlerror()));
        auto find = [&](const char* name) {
            void* f = dlsym(so, name);
            if (!f) throw Error(detail::concat("cuda: cuBLAS has no ", name));
            return f;
        };
        Cublas c;
        c.create = reinterpret_cast<decltype(c.create)>(find("cublasCreate_v2"));
        c.set_stream = reinterpret_cast<decltype(c.set_stream)>(find("cublasSetStream_v2"));
        c.sgemm = reinterpret_cast<decltype(c.sgemm)>(find("cublasSgemmStridedBatched"));
        c.dgemm = reinterpret_cast<decltype(c.dgemm)>(find("cublasDgemmStridedBatched"));
        return c;
    }();
    return lib;
}

// The current device's handle, bound to its stream.
cublasHandle_t handle() {
    static std::array<std::once_flag, cuda::kMaxDevices> once;
    static std::array<cublasHandle_t, cuda::kMaxDevices> handles{};
    int device = 0;
    cuda::check(cudaGetDevice(&device), "cudaGetDevice");
    NB_CHECK(device < cuda::kMaxDevices, "cuda: device index ", device, " out of range");
    std::call_once(once[device], [&] {
        if (cublas().create(&handles[device]) != CUBLAS_STATUS_SUCCESS) throw Error("cuda: cublasCreate failed");
        cublas().set_stream(handles[device], cuda::stream_of(device));
    });
    return handles[device];
}

int as_int(int64_t v, const char* what) {
    NB_CHECK(v <= INT32_MAX, "cuda matmul: ", what, " = ", v, " exceeds cuBLAS's 32-bit sizes");
    return static_cast<int>(v);
}

}  // namespace

void cuda::gemm(const Gemm& g) {
    cuda::Launch launch(g.dtype == DType::Float32 ? "sgemm" : "dgemm");  // traced; cuBLAS launches on the stream
    const cublasOperation_t op_b = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, op_a = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    const int n = as_int(g.n, "n"), m = as_int(g.m, "m"), k = as_int(g.k, "k"), batch = as_int(g.batch, "batch");
    const int ldb = as_int(std::max<int64_t>(g.ldb, 1), "ldb"), lda = as_int(std::max<int64_t>(g.lda, 1), "lda"),
              ldc = as_int(std::max<int64_t>(g.ldc, 1), "ldc");
    cublasStatus_t st;
    if (g.dtype == DType::Float32) {
        const float alpha = static_cast<float>(g.alpha), beta = static_cast<float>(g.beta);
        st = cublas().sgemm(handle(), op_b, op_a, n, m, k, &alpha, static_cast<const float*>(g.b), ldb, g.stride_b,
                            static_cast<const float*>(g.a), lda, g.stride_a, &beta, static_cast<float*>(g.c), ldc,
                            g.stride_c, batch);
    } else {
        NB_CHECK(g.dtype == DType::Float64, "cuda matmul: float32 or float64 expected, got ", dtype_name(g.dtype));
        st = cublas().dgemm(handle(), op_b, op_a, n, m, k, &g.alpha, static_cast<const double*>(g.b), ldb, g.stride_b,
                            static_cast<const double*>(g.a), lda, g.stride_a, &g.beta, static_cast<double*>(g.c), ldc,
                            g.stride_c, batch);
    }
    if (st != CUBLAS_STATUS_SUCCESS)
        throw Error(detail::concat("cuda matmul: cuBLAS gemm failed with status ", static_cast<int>(st)));
    launch.check();
}

Tensor CudaBackend::matmul(const Tensor& a_in, const Tensor& b_in, bool /*bf16*/) {
    cuda::DeviceGuard guard(a_in.device());
    // a [B, M, K] @ b [B, K, N]: each matrix needs a unit stride in one of its two dims for cuBLAS (else a copy);
    // a matrix whose unit stride is in the row dim is a transposed row-major one.
    auto prepare = [](const Tensor& t, bool& trans) {
        trans = false;
        if (t.stride(2) == 1 && t.stride(1) >= t.size(2)) return t;
        if (t.stride(1) == 1 && t.stride(2) >= t.size(1)) {
            trans = true;
            return t;
        }
        return kernel::contiguous(t);
    };
    bool ta = false, tb = false;
    const Tensor a = prepare(a_in, ta), b = prepare(b_in, tb);
    const int64_t B = std::max(a.size(0), b.size(0)), M = a.size(1), K = a.size(2), N = b.size(2);
    Tensor c = kernel::empty({B, M, N}, a.options());
    if (K == 0) {  // an empty sum: zeros (cuBLAS leaves C untouched for k = 0 only with beta = 0 on some versions)
        fill_(c, 0.0);
        return c;
    }
    if (M == 0 || N == 0 || B == 0) return c;
    cuda::gemm({.dtype = a.dtype(),
                .trans_a = ta,
                .trans_b = tb,
                .m = M,
                .n = N,
                .k = K,
                .a = a.raw_data(),
                .lda = ta ? a.stride(2) : a.stride(1),
                .stride_a = a.size(0) == 1 ? 0 : a.stride(0),
                .b = b.raw_data(),
                .ldb = tb ? b.stride(2) : b.stride(1),
                .stride_b = b.size(0) == 1 ? 0 : b.stride(0),
                .c = c.raw_data(),
                .ldc = N,
                .stride_c = M * N,
                .batch = B});
    return c;
}

}  // namespace nabla
