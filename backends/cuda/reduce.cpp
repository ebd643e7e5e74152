// backends/cuda/reduce.cpp — CudaBackend::reduce and reduce_with_indices: the output shape, the layout the kernels
// of reduce.cu take, and their workspace.
//   reduce: x [*] -> y: x's shape without the reduced dims (kept as 1 with keepdim), contiguous.
// Once size-1 dims are dropped and neighbours that are both reduced (or both kept) merged, a contiguous x falls into
// one of the layouts of reduce.h (the same cases as backends/cpu/reduce.cpp):
//   rows [R, C, S]: all dims (R = C = 1), trailing dims (R = 1), dims (0, 2, 3) of NCHW (batch statistics)
//   columns [O, R, I]: leading dims (O = 1), a middle dim such as the channels of [N, C, H, W]
// Other patterns (R K R K, K R K R, ...) are copied with the reduced dims moved last, into rows [1, C, S]; a strided
// x that fits a layout is made contiguous first. Both are one pass over x.
#include "backends/cuda/reduce.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"

namespace nabla {

namespace {

// The workspace of a split reduction, as a byte tensor on x's device (the caching allocator makes it cheap).
Tensor workspace(size_t bytes, Device device) {
    if (bytes == 0) return Tensor();
    return kernel::empty({static_cast<int64_t>(bytes)}, {.dtype = kUInt8, .device = device});
}

void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

}  // namespace

Tensor CudaBackend::reduce(ReduceOp op, const Tensor& x_in, const Shape& dims, bool keepdim) {
    cuda::DeviceGuard guard(x_in.device());
    const int64_t nd = x_in.dim();
    std::vector<bool> reduced(static_cast<size_t>(nd), false);
    int64_t count = 1;  // elements per output; 0 only when a reduced dim is empty
    for (int64_t d : dims) reduced[static_cast<size_t>(d)] = true, count *= x_in.size(d);
    Shape y_shape;
    for (int64_t d = 0; d < nd; ++d)
        if (!reduced[static_cast<size_t>(d)])
            y_shape.push_back(x_in.size(d));
        else if (keepdim)
            y_shape.push_back(1);
    NB_CHECK(count > 0 || op == ReduceOp::Sum || op == ReduceOp::Mean, op == ReduceOp::Max ? "max" : "min",
             ": cannot reduce over an empty dimension of ", x_in.shape());
    if (count == 0) return kernel::full(y_shape, op == ReduceOp::Mean ? NAN : 0.0, x_in.options());  // as torch
    Tensor y = kernel::empty(y_shape, x_in.options());
    if (y.numel() == 0) return y;

    struct Group {
        int64_t size;
        bool reduced;
    };
    std::vector<Group> groups;
    std::string pattern;  // "RKR", "KRK", ...
    for (int64_t d = 0; d < nd; ++d) {
        const bool r = reduced[static_cast<size_t>(d)];
        if (x_in.size(d) == 1) continue;
        if (!groups.empty() && groups.back().reduced == r) {
            groups.back().size *= x_in.size(d);
        } else {
            groups.push_back({x_in.size(d), r});
            pattern += r ? 'R' : 'K';
        }
    }
    auto g = [&](size_t i) { return groups[i].size; };
    cuda::ReduceLayout layout;
    Tensor x;
    if (pattern.empty()) {
        layout = {true, 1, 1, 1};
    } else if (pattern == "K") {  // nothing to reduce: each output reads its one element
        layout = {true, 1, 1, g(0)};
    } else if (pattern == "R") {
        layout = {false, 1, 1, g(0)};
    } else if (pattern == "KR") {
        layout = {false, 1, g(0), g(1)};
    } else if (pattern == "RKR") {
        layout = {false, g(0), g(1), g(2)};
    } else if (pattern == "RK") {
        layout = {true, 1, g(0), g(1)};
    } else if (pattern == "KRK") {
        layout = {true, g(0), g(1), g(2)};
    } else {
        // kept dims first, then the reduced ones, in one copy: rows [1, outputs, count]
        Shape shape, strides;
        for (bool want_reduced : {false, true})
            for (int64_t d = 0; d < nd; ++d)
                if (reduced[static_cast<size_t>(d)] == want_reduced) {
                    shape.push_back(x_in.size(d));
                    strides.push_back(x_in.stride(d));
                }
        x = kernel::contiguous(make_view(x_in, shape, strides, x_in.offset()));
        layout = {false, 1, y.numel(), count};
    }
    if (!x.defined()) x = kernel::contiguous(x_in);

    const Tensor ws = workspace(cuda::reduce_workspace_bytes(op, x.dtype(), layout), x.device());
    cuda::launch_reduce(op, x.dtype(), x.raw_data(), y.raw_data(), layout, data_or_null(ws));
    return y;
}

ValuesIndices CudaBackend::reduce_with_indices(ReduceOp op, const Tensor& x_in, int64_t dim, bool keepdim) {
    cuda::DeviceGuard guard(x_in.device());
    const int64_t n = x_in.size(dim);
    NB_CHECK(n > 0, "max/min: cannot reduce over the empty dim ", dim, " of ", x_in.shape());
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < dim; ++d) outer *= x_in.size(d);
    for (int64_t d = dim + 1; d < x_in.dim(); ++d) inner *= x_in.size(d);
    Shape s = x_in.shape();
    if (keepdim)
        s[static_cast<size_t>(dim)] = 1;
    else
        s.erase(s.begin() + dim);
    Tensor values = kernel::empty(s, x_in.options());
    Tensor indices = kernel::empty(s, {.dtype = kInt64, .device = x_in.device()});
    if (values.numel() == 0) return {values, indices};

    const Tensor x = kernel::contiguous(x_in);
    // rows [1, outer, n] when dim is the last (of size > 1), else columns [outer, n, inner]
    const cuda::ReduceLayout layout =
        inner == 1 ? cuda::ReduceLayout{false, 1, outer, n} : cuda::ReduceLayout{true, outer, n, inner};
    const Tensor ws = workspace(cuda::reduce_with_indices_workspace_bytes(op, x.dtype(), layout), x.device());
    cuda::launch_reduce_with_indices(op, x.dtype(), x.raw_data(), values.raw_data(), indices.data_ptr<int64_t>(),
                                     layout, data_or_null(ws));
    return {values, indices};
}

}  // namespace nabla
