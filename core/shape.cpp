// core/shape.cpp — shape arithmetic shared by every op.
#include "core/shape.h"

#include <algorithm>

#include "core/error.h"

namespace nabla {

int64_t numel_of(const Shape& shape) {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    return n;
}

Shape contiguous_strides(const Shape& shape) {
    Shape strides(shape.size());
    int64_t s = 1;
    for (size_t i = shape.size(); i-- > 0;) {
        strides[i] = s;
        s *= std::max<int64_t>(shape[i], 1);
    }
    return strides;
}

Shape channels_last_strides(const Shape& shape) {
    NB_CHECK(shape.size() == 4, "channels_last: expected a 4-D shape [N, C, H, W], got ", shape_str(shape));
    const int64_t c = std::max<int64_t>(shape[1], 1), w = std::max<int64_t>(shape[3], 1);
    const int64_t h = std::max<int64_t>(shape[2], 1);
    return {h * w * c, 1, w * c, c};
}

std::vector<int64_t> memory_order(const Shape& strides) {
    std::vector<int64_t> order(strides.size());
    for (size_t d = 0; d < order.size(); ++d) order[d] = static_cast<int64_t>(d);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return strides[a] > strides[b]; });
    return order;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
    int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
    if (dim < lo || dim > hi)
        throw IndexError(detail::concat(op, ": dim ", dim, " out of range for a tensor of ", ndim, " dims (expected [",
                                        lo, ", ", hi, "])"));
    return dim < 0 ? dim + std::max<int64_t>(ndim, 1) : dim;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    size_t n = std::max(a.size(), b.size());
    Shape out(n);
    for (size_t i = 0; i < n; ++i) {
        int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        NB_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", a, " and ", b, " cannot be broadcast together (dim ",
                 i, ": ", da, " vs ", db, ")");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

std::string shape_str(const Shape& shape) { return fmt::format("{}", shape); }

}  // namespace nabla
