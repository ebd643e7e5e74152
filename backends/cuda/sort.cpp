// backends/cuda/sort.cpp — the CudaBackend methods sort (stable) and topk: x made contiguous, seen as
// [outer, n, inner] around the dim, and sorted along n on the device (sort.cu). topk is that sort cut to its first k
// (largest first when `largest`), which is what the reference does: always sorted, so `sorted` = false is served
// too, and ties keep their original order. (A selection of k would be faster for k << n; this is correct first.)
#include "backends/cuda/sort.h"

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"

namespace nabla {

namespace {

// The first k of each row along dim, in sorted order, with their positions.
ValuesIndices sort_rows(const Tensor& x_in, int64_t dim, int64_t k, bool descending) {
    cuda::DeviceGuard guard(x_in.device());
    const Tensor x = kernel::contiguous(x_in);
    const int64_t n = x.size(dim);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < dim; ++d) outer *= x.size(d);
    for (int64_t d = dim + 1; d < x.dim(); ++d) inner *= x.size(d);
    Shape s = x.shape();
    s[dim] = k;
    Tensor values = kernel::empty(s, x.options());
    Tensor indices = kernel::empty(s, {.dtype = kInt64, .device = x.device()});
    if (values.numel() == 0) return {values, indices};
    const int64_t bytes = cuda::sort_workspace_bytes(x.dtype(), outer, n, inner);
    const Tensor workspace = kernel::empty({bytes}, {.dtype = kUInt8, .device = x.device()});
    cuda::launch_sort(x.dtype(), x.raw_data(), outer, n, inner, k, descending, values.raw_data(),
                      indices.data_ptr<int64_t>(), workspace.raw_data(), bytes);
    return {values, indices};
}

}  // namespace

ValuesIndices CudaBackend::sort(const Tensor& x, int64_t dim, bool descending) {
    return sort_rows(x, dim, x.size(dim), descending);
}

ValuesIndices CudaBackend::topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool /*sorted*/) {
    return sort_rows(x, dim, k, largest);
}

}  // namespace nabla
