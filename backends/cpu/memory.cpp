// backends/cpu/memory.cpp — copy_ and fill_: contiguous same-dtype copies as one memcpy, contiguous fills as a
// parallel loop; everything else (strided, converting) goes to the reference walk.
#include <cstring>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace nabla {

void CpuBackend::copy_(const Tensor& dst, const Tensor& src) {
    if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
        const int64_t nbytes = dst.numel() * static_cast<int64_t>(element_size(dst.dtype()));
        char* d = static_cast<char*>(dst.raw_data());
        const char* s = static_cast<const char*>(src.raw_data());
        parallel_for(0, nbytes, 1 << 20, [&](int64_t begin, int64_t end) { std::memcpy(d + begin, s + begin, end - begin); });
        return;
    }
    ReferenceBackend::copy_(dst, src);
}

void CpuBackend::fill_(const Tensor& dst, double value) {
    if (!dst.is_contiguous()) return ReferenceBackend::fill_(dst, value);
    dispatch_all(dst.dtype(), [&]<class T>() {
        T* d = dst.data_ptr<T>();
        T v = static_cast<T>(value);
        parallel_for(0, dst.numel(), 1 << 16, [&](int64_t begin, int64_t end) { std::fill(d + begin, d + end, v); });
    });
}

}  // namespace nabla
