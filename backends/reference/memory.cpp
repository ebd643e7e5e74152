// backends/reference/memory.cpp — copy_ (strided, converting between any two dtypes as PyTorch, see convert_element
// in core/dtype.h) and fill_.
#include "backends/reference/reference_backend.h"
#include "backends/reference/strided.h"

namespace nabla {

void ReferenceBackend::copy_(const Tensor& dst, const Tensor& src) {
    dispatch_all(dst.dtype(), [&]<class D>() {
        dispatch_all(src.dtype(), [&]<class S>() {
            D* d = dst.data_ptr<D>();
            const S* s = src.data_ptr<S>();
            for_each_offset<2>(dst.shape(), {&dst.strides(), &src.strides()},
                               [&](int64_t od, int64_t os) { d[od] = convert_element<D>(s[os]); });
        });
    });
}

void ReferenceBackend::fill_(const Tensor& dst, double value) {
    dispatch_all(dst.dtype(), [&]<class T>() {
        T* d = dst.data_ptr<T>();
        T v = convert_element<T>(value);
        for_each_offset<1>(dst.shape(), {&dst.strides()}, [&](int64_t o) { d[o] = v; });
    });
}

}  // namespace nabla
