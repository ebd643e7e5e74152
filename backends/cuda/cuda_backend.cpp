// backends/cuda/cuda_backend.cpp — the host side of the CUDA backend: the device allocator, copies between host and
// device, geometry for the elementwise launchers, and matmul mapped onto cuBLAS.
//
// cuBLAS is column-major. A row-major [M, K] matrix is the column-major [K, M] matrix, so C = A B (row-major) is
// computed as C^T = B^T A^T in cuBLAS terms: gemm(B, A) with the operands swapped and no data movement.
#include "backends/cuda/cuda_backend.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <dlfcn.h>

#include "backends/cuda/kernels.h"
#include "core/storage.h"

namespace nabla {

namespace {

void check(cudaError_t e, const char* what) {
    if (e != cudaSuccess) throw Error(detail::concat("cuda ", what, ": ", cudaGetErrorString(e)));
}

class CudaAllocator final : public Allocator {
public:
    void* allocate(size_t nbytes) override {
        if (cuda_device_count() == 0)
            throw Error(detail::concat("cuda: no CUDA device available (", cuda_unavailable_reason(), ")"));
        void* p = nullptr;
        check(cudaMalloc(&p, nbytes == 0 ? 1 : nbytes), "cudaMalloc");
        note_allocation(DeviceType::CUDA, static_cast<int64_t>(nbytes));
        return p;
    }
    void deallocate(void* p, size_t nbytes) override {
        cudaFree(p);
        note_allocation(DeviceType::CUDA, -static_cast<int64_t>(nbytes));
    }
};

template <int N>
StridedIndexer<N> indexer(const Shape& shape, const std::array<const Tensor*, N>& ts) {
    NB_CHECK(static_cast<int>(shape.size()) <= kMaxDims, "cuda: tensors of more than ", kMaxDims,
             " dims are not supported, got ", shape);
    StridedIndexer<N> ix;
    ix.ndim = static_cast<int>(shape.size());
    for (int d = 0; d < ix.ndim; ++d) {
        ix.sizes[d] = shape[d];
        for (int k = 0; k < N; ++k) ix.strides[k][d] = ts[k]->strides()[d];
    }
    return ix;
}

// cuBLAS is opened on first use (dlopen), not linked: the start-up of its libraries costs every process that links
// them 0.6-0.9 s (an empty program linked with -lcublas, measured here), which each test executable and each
// `nabla` command would pay, GPU or not. The three functions used are looked up by name.
struct Cublas {
    decltype(&cublasCreate_v2) create = nullptr;
    decltype(&cublasSgemmStridedBatched) sgemm = nullptr;
    decltype(&cublasDgemmStridedBatched) dgemm = nullptr;
    cublasHandle_t handle = nullptr;
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
        c.sgemm = reinterpret_cast<decltype(c.sgemm)>(find("cublasSgemmStridedBatched"));
        c.dgemm = reinterpret_cast<decltype(c.dgemm)>(find("cublasDgemmStridedBatched"));
        if (c.create(&c.handle) != CUBLAS_STATUS_SUCCESS) throw Error("cuda: cublasCreate failed");
        return c;
    }();
    return lib;
}

}  // namespace

int cuda_device_count() {
    static const int n = [] {
        int count = 0;
        return cudaGetDeviceCount(&count) == cudaSuccess ? count : 0;
    }();
    return n;
}

std::string cuda_unavailable_reason() {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    return e == cudaSuccess ? (count == 0 ? "no device found" : "available") : cudaGetErrorString(e);
}

// The allocator and the kernels register themselves for DeviceType::CUDA when the program starts; the build links
// this library whole (CMake's WHOLE_ARCHIVE), since nothing refers to it by name.
namespace {
CudaAllocator g_allocator;
CudaBackend g_backend;
const bool g_registered = [] {
    register_allocator(DeviceType::CUDA, &g_allocator);
    register_backend(DeviceType::CUDA, &g_backend);
    return true;
}();
}  // namespace

void CudaBackend::copy_(const Tensor& dst, const Tensor& src) {
    const size_t nbytes = static_cast<size_t>(dst.numel()) * element_size(dst.dtype());
    if (dst.device().is_cuda() && src.device().is_cuda()) {
        auto ix = indexer<2>(dst.shape(), {&dst, &src});
        cuda::launch_copy(dst.dtype(), dst.raw_data(), src.dtype(), src.raw_data(), ix, dst.numel());
        return;
    }
    // Host <-> device: make the host side contiguous and of the destination dtype, then one cudaMemcpy.
    if (src.device().is_cpu()) {
        Tensor s = kernel::to(src, dst.dtype());
        if (dst.is_contiguous())
            return check(cudaMemcpy(dst.raw_data(), s.raw_data(), nbytes, cudaMemcpyHostToDevice), "copy to device");
        Tensor staging = make_tensor(dst.shape(), dst.dtype(), dst.device());
        check(cudaMemcpy(staging.raw_data(), s.raw_data(), nbytes, cudaMemcpyHostToDevice), "copy to device");
        return copy_(dst, staging);
    }
    Tensor s = src.dtype() == dst.dtype() ? kernel::contiguous(src) : kernel::to(src, dst.dtype());
    if (dst.is_contiguous())
        return check(cudaMemcpy(dst.raw_data(), s.raw_data(), nbytes, cudaMemcpyDeviceToHost), "copy to host");
    Tensor staging = make_tensor(dst.shape(), dst.dtype(), kCPU);
    check(cudaMemcpy(staging.raw_data(), s.raw_data(), nbytes, cudaMemcpyDeviceToHost), "copy to host");
    backend_for(kCPU).copy_(dst, staging);
}

void CudaBackend::fill_(const Tensor& dst, double value) {
    cuda::launch_fill(dst.dtype(), dst.raw_data(), indexer<1>(dst.shape(), {&dst}), dst.numel(), value);
}

void CudaBackend::unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryArgs args) {
    cuda::launch_unary(op, x.dtype(), x.raw_data(), out.raw_data(), indexer<2>(out.shape(), {&out, &x}), out.numel(),
                       args);
}

void CudaBackend::unary_backward(UnaryOp op, const Tensor& gy, const Tensor& saved, const Tensor& gx, UnaryArgs args) {
    cuda::launch_unary_backward(op, gy.dtype(), gy.raw_data(), saved.raw_data(), gx.raw_data(),
                                indexer<3>(gx.shape(), {&gx, &gy, &saved}), gx.numel(), args);
}

void CudaBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
    cuda::launch_binary(op, a.dtype(), a.raw_data(), b.raw_data(), out.raw_data(),
                        indexer<3>(out.shape(), {&out, &a, &b}), out.numel());
}

void CudaBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
    cuda::launch_where(a.dtype(), static_cast<const bool*>(cond.raw_data()), a.raw_data(), b.raw_data(), out.raw_data(),
                       indexer<4>(out.shape(), {&out, &cond, &a, &b}), out.numel());
}

Tensor CudaBackend::matmul(const Tensor& a_in, const Tensor& b_in, bool /*bf16*/) {
    // a [B, M, K] @ b [B, K, N]; each matrix needs a unit stride in its last dim for cuBLAS (else copy).
    auto prepare = [](const Tensor& t) {
        return t.stride(2) == 1 && t.stride(1) >= t.size(2) ? t : kernel::contiguous(t);
    };
    const Tensor a = prepare(a_in), b = prepare(b_in);
    const int64_t B = std::max(a.size(0), b.size(0)), M = a.size(1), K = a.size(2), N = b.size(2);
    Tensor c = make_tensor({B, M, N}, a.dtype(), a.device());
    const int lda = static_cast<int>(std::max<int64_t>(a.stride(1), 1)),
              ldb = static_cast<int>(std::max<int64_t>(b.stride(1), 1));
    const long long sa = a.size(0) == 1 ? 0 : a.stride(0), sb = b.size(0) == 1 ? 0 : b.stride(0), sc = M * N;
    cublasStatus_t st;
    if (a.dtype() == kFloat32) {
        const float one = 1, zero = 0;
        st = cublas().sgemm(cublas().handle, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(N), static_cast<int>(M),
                            static_cast<int>(K), &one, b.data_ptr<float>(), ldb, sb, a.data_ptr<float>(), lda, sa,
                            &zero, c.data_ptr<float>(), static_cast<int>(N), sc, static_cast<int>(B));
    } else {
        const double one = 1, zero = 0;
        st = cublas().dgemm(cublas().handle, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(N), static_cast<int>(M),
                            static_cast<int>(K), &one, b.data_ptr<double>(), ldb, sb, a.data_ptr<double>(), lda, sa,
                            &zero, c.data_ptr<double>(), static_cast<int>(N), sc, static_cast<int>(B));
    }
    if (st != CUBLAS_STATUS_SUCCESS)
        throw Error(detail::concat("cuda matmul: cuBLAS gemm failed with status ", static_cast<int>(st)));
    return c;
}

}  // namespace nabla
