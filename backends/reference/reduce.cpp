// backends/reference/reduce.cpp — sum, mean, max and min over a set of dims, and max/min with indices along one dim.
// Sums accumulate in double (in int64 for integer tensors, exact as torch.sum). max/min propagate NaN; with indices,
// the first extreme (or first NaN) wins.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "backends/reference/reference_backend.h"
#include "backends/reference/strided.h"

namespace nabla {

Tensor ReferenceBackend::reduce(ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim) {
    Shape kept = x.shape();  // the output with reduced dims kept as 1
    for (int64_t d : dims) kept[d] = 1;
    Shape out_strides = contiguous_strides(kept);
    for (int64_t d : dims) out_strides[d] = 0;  // every element of a reduced dim lands on the same output
    int64_t count = 1;                          // elements per output; 0 only when a reduced dim is empty
    for (int64_t d : dims) count *= x.size(d);
    Shape final_shape;
    for (int64_t d = 0; d < x.dim(); ++d)
        if (keepdim || std::find(dims.begin(), dims.end(), d) == dims.end()) final_shape.push_back(kept[d]);

    Tensor y = make_tensor(final_shape, x.dtype(), x.device());
    dispatch_all(x.dtype(), [&]<class T>() {
        const T* px = x.data_ptr<T>();
        T* py = y.data_ptr<T>();
        const int64_t n = y.numel();
        if (op == ReduceOp::Sum || op == ReduceOp::Mean) {
            using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
            std::vector<Acc> acc(static_cast<size_t>(n), Acc{0});
            for_each_offset<2>(x.shape(), {&x.strides(), &out_strides},
                               [&](int64_t i, int64_t o) { acc[o] += static_cast<Acc>(px[i]); });
            const double per_output = static_cast<double>(count);
            for (int64_t o = 0; o < n; ++o) {
                if (op == ReduceOp::Mean)
                    py[o] = static_cast<T>(static_cast<double>(acc[o]) / per_output);
                else
                    py[o] = static_cast<T>(acc[o]);
            }
            return;
        }
        NB_CHECK(count > 0, op == ReduceOp::Max ? "max" : "min", ": cannot reduce over an empty dimension of ",
                 x.shape());
        std::vector<bool> first(static_cast<size_t>(n), true);
        const bool is_max = op == ReduceOp::Max;
        for_each_offset<2>(x.shape(), {&x.strides(), &out_strides}, [&](int64_t i, int64_t o) {
            const T v = px[i];
            if (first[o]) {
                py[o] = v;
                first[o] = false;
            } else if (v != v || (is_max ? v > py[o] : v < py[o])) {
                if (py[o] == py[o]) py[o] = v;  // once NaN, stays NaN
            }
        });
    });
    return y;
}

ValuesIndices ReferenceBackend::reduce_with_indices(ReduceOp op, const Tensor& x_in, int64_t dim, bool keepdim) {
    const Tensor x = kernel::contiguous(x_in);
    const int64_t n = x.size(dim);
    NB_CHECK(n > 0, "max/min: cannot reduce over the empty dim ", dim, " of ", x.shape());
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < dim; ++d) outer *= x.size(d);
    for (int64_t d = dim + 1; d < x.dim(); ++d) inner *= x.size(d);
    Shape s = x.shape();
    if (keepdim)
        s[dim] = 1;
    else
        s.erase(s.begin() + dim);
    Tensor values = make_tensor(s, x.dtype(), x.device());
    Tensor indices = make_tensor(s, kInt64, x.device());
    const bool is_max = op == ReduceOp::Max;
    dispatch_all(x.dtype(), [&]<class T>() {
        const T* px = x.data_ptr<T>();
        T* pv = values.data_ptr<T>();
        int64_t* pi = indices.data_ptr<int64_t>();
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t i = 0; i < inner; ++i) {
                const T* row = px + o * n * inner + i;  // row[k * inner], k < n
                int64_t best = 0;
                for (int64_t k = 1; k < n && row[best * inner] == row[best * inner]; ++k) {
                    const T v = row[k * inner];
                    if (v != v || (is_max ? v > row[best * inner] : v < row[best * inner])) best = k;
                }
                pv[o * inner + i] = row[best * inner];
                pi[o * inner + i] = best;
            }
    });
    return {values, indices};
}

}  // namespace nabla
