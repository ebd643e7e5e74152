// backends/reference/softmax.cpp — softmax and log_softmax along one dim, and their backward, as plain loops.
//   x: contiguous [outer, n, inner] around `dim` (n = x.size(dim)) -> y: same shape, contiguous.
//   softmax: y = exp(x - max) / sum exp(x - max);  log_softmax: y = (x - max) - log(sum exp(x - max))
//   backward: softmax gx = y * (gy - sum(y * gy));  log_softmax gx = gy - exp(y) * sum(gy)
// Each row along dim is visited at stride `inner`; sums accumulate in double. ops/softmax.cpp has the op.
#include <cmath>

#include "backends/reference/reference_backend.h"

namespace nabla {

namespace {

struct Rows {  // the rows along dim of a contiguous tensor: row (o, i) is data[o * n * inner + i + k * inner], k < n
    int64_t outer = 1, n = 1, inner = 1;
};
Rows rows_of(const Shape& shape, int64_t dim) {
    Rows r;
    r.n = shape[dim];
    for (int64_t d = 0; d < dim; ++d) r.outer *= shape[d];
    for (int64_t d = dim + 1; d < static_cast<int64_t>(shape.size()); ++d) r.inner *= shape[d];
    return r;
}

}  // namespace

Tensor ReferenceBackend::softmax(const Tensor& x, int64_t dim, bool log) {
    const Rows r = rows_of(x.shape(), dim);
    Tensor y = make_tensor(x.shape(), x.dtype(), x.device());
    dispatch_floating(x.dtype(), log ? "log_softmax" : "softmax", [&]<class T>() {
        for (int64_t o = 0; o < r.outer; ++o)
            for (int64_t i = 0; i < r.inner; ++i) {
                const T* px = x.data_ptr<T>() + o * r.n * r.inner + i;
                T* py = y.data_ptr<T>() + o * r.n * r.inner + i;
                double max = -INFINITY;
                for (int64_t k = 0; k < r.n; ++k) max = std::fmax(max, static_cast<double>(px[k * r.inner]));
                for (int64_t k = 0; k < r.n; ++k)  // NaN in, NaN out (fmax above skipped it)
                    if (std::isnan(static_cast<double>(px[k * r.inner]))) max = NAN;
                double sum = 0;
                for (int64_t k = 0; k < r.n; ++k) sum += std::exp(static_cast<double>(px[k * r.inner]) - max);
                for (int64_t k = 0; k < r.n; ++k) {
                    const double shifted = static_cast<double>(px[k * r.inner]) - max;
                    py[k * r.inner] = static_cast<T>(log ? shifted - std::log(sum) : std::exp(shifted) / sum);
                }
            }
    });
    return y;
}

Tensor ReferenceBackend::softmax_backward(const Tensor& gy, const Tensor& y, int64_t dim, bool log) {
    const Rows r = rows_of(y.shape(), dim);
    Tensor gx = make_tensor(y.shape(), y.dtype(), y.device());
    dispatch_floating(y.dtype(), log ? "log_softmax_backward" : "softmax_backward", [&]<class T>() {
        for (int64_t o = 0; o < r.outer; ++o)
            for (int64_t i = 0; i < r.inner; ++i) {
                const int64_t base = o * r.n * r.inner + i;
                const T* pg = gy.data_ptr<T>() + base;
                const T* py = y.data_ptr<T>() + base;
                T* pgx = gx.data_ptr<T>() + base;
                double sum = 0;  // softmax: sum(y * gy); log_softmax: sum(gy)
                for (int64_t k = 0; k < r.n; ++k)
                    sum += log ? static_cast<double>(pg[k * r.inner])
                               : static_cast<double>(py[k * r.inner]) * static_cast<double>(pg[k * r.inner]);
                for (int64_t k = 0; k < r.n; ++k) {
                    const double g = pg[k * r.inner], v = py[k * r.inner];
                    pgx[k * r.inner] = static_cast<T>(log ? g - std::exp(v) * sum : v * (g - sum));
                }
            }
    });
    return gx;
}

}  // namespace nabla
