// backends/reference/sort.cpp — sort (stable) and topk along one dim (torch.sort(stable=True), torch.topk).
// Each row along `dim` is sorted as a permutation of 0..n-1 with std::stable_sort, so equal values keep their
// original order in both directions. NaN counts as larger than every number, as in PyTorch: last when ascending,
// first when descending (and first for topk largest). topk takes the first k of that order, so its output is
// always sorted (sorted=false allows any order in PyTorch; sorted is one of them).
//   x: [*pre, n, *post] -> values, indices: [*pre, n or k, *post] (indices int64, positions along dim)
#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>

#include "backends/reference/reference_backend.h"

namespace nabla {

namespace {

template <class T>
bool is_nan(T v) {
    if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
    return false;
}

// The first k of each row along dim, in sorted order, with their positions.
ValuesIndices sort_rows(const Tensor& x_in, int64_t dim, int64_t k, bool descending) {
    const Tensor x = kernel::contiguous(x_in.detach());  // detached: nothing inside a kernel goes on the tape
    const int64_t n = x.size(dim);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < dim; ++d) outer *= x.size(d);
    for (int64_t d = dim + 1; d < x.dim(); ++d) inner *= x.size(d);
    Shape s = x.shape();
    s[dim] = k;
    Tensor values = make_tensor(s, x.dtype(), x.device());
    Tensor indices = make_tensor(s, kInt64, x.device());
    dispatch_all(x.dtype(), [&]<class T>() {
        const T* px = x.data_ptr<T>();
        T* pv = values.data_ptr<T>();
        int64_t* pi = indices.data_ptr<int64_t>();
        // NaN is larger than every number
        auto before = [descending](T a, T b) {
            if (descending) return (is_nan(a) && !is_nan(b)) || a > b;
            return (!is_nan(a) && is_nan(b)) || a < b;
        };
#pragma omp parallel for if (x.numel() > (1 << 14))  // a parallel region costs more than a small sort
        for (int64_t row = 0; row < outer * inner; ++row) {
            const int64_t o = row / inner, i = row % inner;
            const T* xr = px + o * n * inner + i;  // xr[j * inner], j < n
            std::vector<int64_t> perm(static_cast<size_t>(n));
            std::iota(perm.begin(), perm.end(), int64_t{0});
            std::stable_sort(perm.begin(), perm.end(),
                             [&](int64_t a, int64_t b) { return before(xr[a * inner], xr[b * inner]); });
            for (int64_t j = 0; j < k; ++j) {
                pv[(o * k + j) * inner + i] = xr[perm[j] * inner];
                pi[(o * k + j) * inner + i] = perm[j];
            }
        }
    });
    return {values, indices};
}

}  // namespace

ValuesIndices ReferenceBackend::sort(const Tensor& x, int64_t dim, bool descending) {
    return sort_rows(x, dim, x.size(dim), descending);
}

ValuesIndices ReferenceBackend::topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
    return sort_rows(x, dim, k, largest);
}

}  // namespace nabla
