// backends/reference/indexing.cpp — placeholder: these kernels are not written yet; each throws NotImplementedError.
#include "backends/reference/reference_backend.h"

namespace nabla {

Tensor ReferenceBackend::index_select(const Tensor& x, int64_t dim, const Tensor& index) {
    (void)x; (void)dim; (void)index;
    not_implemented("index_select");
}

void ReferenceBackend::index_add_(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
    (void)out; (void)dim; (void)index; (void)src;
    not_implemented("index_add_");
}

Tensor ReferenceBackend::gather(const Tensor& x, int64_t dim, const Tensor& index) {
    (void)x; (void)dim; (void)index;
    not_implemented("gather");
}

void ReferenceBackend::scatter_add_(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
    (void)out; (void)dim; (void)index; (void)src;
    not_implemented("scatter_add_");
}

Tensor ReferenceBackend::index(const Tensor& x, const std::vector<Tensor>& indices) {
    (void)x; (void)indices;
    not_implemented("index");
}

void ReferenceBackend::index_put_(const Tensor& out, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate) {
    (void)out; (void)indices; (void)values; (void)accumulate;
    not_implemented("index_put_");
}

Tensor ReferenceBackend::pad(const Tensor& x, const Shape& pads, PadMode mode, double value) {
    (void)x; (void)pads; (void)mode; (void)value;
    not_implemented("pad");
}

Tensor ReferenceBackend::pad_backward(const Tensor& gy, const Shape& x_shape, const Shape& pads, PadMode mode) {
    (void)gy; (void)x_shape; (void)pads; (void)mode;
    not_implemented("pad_backward");
}

Tensor ReferenceBackend::flip(const Tensor& x, const Shape& dims) {
    (void)x; (void)dims;
    not_implemented("flip");
}

}  // namespace nabla
