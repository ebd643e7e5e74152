// backends/reference/sort.cpp — placeholder: these kernels are not written yet; each throws NotImplementedError.
#include "backends/reference/reference_backend.h"

namespace nabla {

ValuesIndices ReferenceBackend::sort(const Tensor& x, int64_t dim, bool descending) {
    (void)x; (void)dim; (void)descending;
    not_implemented("sort");
}

ValuesIndices ReferenceBackend::topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
    (void)x; (void)k; (void)dim; (void)largest; (void)sorted;
    not_implemented("topk");
}

}  // namespace nabla
