// ops/cat.cpp — torch.cat, stack, split and chunk (declared in ops/indexing.h).
//   cat: [*p, n_i, *q] for each i -> [*p, sum n_i, *q], written as an empty tensor with each input copied into its
//        narrow view; channels-last if all inputs are. Backward: input i gets gy.narrow(dim, start_i, n_i) (converted
//        back to its dtype).
//   stack: cat of the inputs unsqueezed at dim. split/chunk: narrow views. Both are composed of ops that record
//   their own gradients (unsqueeze, cat, narrow), so they need none of their own.
#include <algorithm>

#include "autograd/node.h"
#include "core/trace/trace.h"
#include "ops/factory.h"
#include "ops/indexing.h"

namespace nabla {

using autograd::Grads;
using autograd::NeedsGrad;

namespace {

// PyTorch still accepts (and skips) 1-D empty tensors in cat whatever the other shapes are.
bool skipped_in_cat(const Tensor& t) { return t.dim() == 1 && t.numel() == 0; }

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
    trace::OpScope ts("cat", tensors);
    NB_CHECK(!tensors.empty(), "cat: expected a non-empty list of tensors");
    DType dtype = tensors[0].dtype();
    for (const Tensor& t : tensors) dtype = promote_types(dtype, t.dtype());
    auto first = std::find_if(tensors.begin(), tensors.end(), [](const Tensor& t) { return !skipped_in_cat(t); });
    if (first == tensors.end()) return empty({0}, {.dtype = dtype, .device = tensors[0].device()});
    const Tensor& ref = *first;
    const int64_t ref_i = first - tensors.begin();
    NB_CHECK(ref.dim() > 0, "cat: zero-dimensional tensor (at position ", ref_i, ") cannot be concatenated");
    const int64_t d = wrap_dim(dim, ref.dim(), "cat");

    Shape out_shape = ref.shape();
    out_shape[d] = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const Tensor& t = tensors[i];
        if (skipped_in_cat(t)) continue;
        NB_CHECK(t.device() == ref.device(), "cat: tensor ", i, " is on ", t.device(), " but tensor ", ref_i, " on ",
                 ref.device());
        bool match = t.dim() == ref.dim();
        for (int64_t k = 0; match && k < t.dim(); ++k) match = k == d || t.size(k) == ref.size(k);
        NB_CHECK(match, "cat: sizes of tensors must match except in dimension ", d, ", but tensor ", i, " has ",
                 t.shape(), " and tensor ", ref_i, " has ", ref.shape());
        out_shape[d] += t.size(d);
    }

    // y: [*p, sum n_i, *q], channels-last when every input is (torch's rule), else contiguous
    bool channels_last = true;
    for (const Tensor& t : tensors)
        channels_last = channels_last && (skipped_in_cat(t) || t.suggest_memory_format() == MemoryFormat::ChannelsLast);
    Tensor y = make_tensor(out_shape, dtype, ref.device(),
                           channels_last ? MemoryFormat::ChannelsLast : MemoryFormat::Contiguous);
    std::vector<int64_t> starts;  // where each input begins along d (-1 for a skipped one)
    int64_t start = 0;
    for (const Tensor& t : tensors) {
        if (skipped_in_cat(t)) {
            starts.push_back(-1);
            continue;
        }
        starts.push_back(start);
        y.narrow(d, start, t.size(d)).copy_(t);
        start += t.size(d);
    }
    std::vector<Shape> shapes;
    std::vector<DType> dtypes;
    for (const Tensor& t : tensors) {
        shapes.push_back(t.shape());
        dtypes.push_back(t.dtype());
    }
    autograd::record("cat", tensors, y, [d, starts, shapes, dtypes](const Tensor& gy, const NeedsGrad& needs) {
        Grads grads(shapes.size());
        for (size_t i = 0; i < shapes.size(); ++i) {
            if (!needs[i]) continue;
            grads[i] = starts[i] < 0 ? zeros(shapes[i], {.dtype = dtypes[i], .device = gy.device()})
                                     : gy.narrow(d, starts[i], shapes[i][d]).to(dtypes[i]);
        }
        return grads;
    });
    return y;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
    trace::OpScope ts("stack", tensors);
    NB_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
    for (size_t i = 1; i < tensors.size(); ++i)
        NB_CHECK(tensors[i].shape() == tensors[0].shape(), "stack: expects each tensor to be equal size, but got ",
                 tensors[0].shape(), " at entry 0 and ", tensors[i].shape(), " at entry ", i);
    const int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
    std::vector<Tensor> expanded;
    for (const Tensor& t : tensors) expanded.push_back(t.unsqueeze(d));
    return cat(expanded, d);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
    NB_CHECK(x.dim() > 0, "split: expected at least a 1-dimensional tensor, got ", x.shape());
    const int64_t d = wrap_dim(dim, x.dim(), "split");
    const int64_t n = x.size(d);
    NB_CHECK_VALUE(split_size > 0 || (split_size == 0 && n == 0),
                   "split: split_size can only be 0 if dimension size is 0, but got split_size ", split_size,
                   " for dimension ", d, " of ", x.shape());
    if (n == 0) return {x.narrow(d, 0, 0)};
    std::vector<Tensor> parts;
    for (int64_t start = 0; start < n; start += split_size)
        parts.push_back(x.narrow(d, start, std::min(split_size, n - start)));
    return parts;
}

std::vector<Tensor> split(const Tensor& x, const Shape& split_sizes, int64_t dim) {
    NB_CHECK(x.dim() > 0, "split: expected at least a 1-dimensional tensor, got ", x.shape());
    const int64_t d = wrap_dim(dim, x.dim(), "split");
    int64_t total = 0;
    for (int64_t s : split_sizes) {
        NB_CHECK_VALUE(s >= 0, "split: split sizes ", split_sizes, " contain a negative size");
        total += s;
    }
    NB_CHECK(total == x.size(d), "split: split sizes ", split_sizes, " sum to ", total, " but dimension ", d, " of ",
             x.shape(), " has size ", x.size(d));
    std::vector<Tensor> parts;
    int64_t start = 0;
    for (int64_t s : split_sizes) {
        parts.push_back(x.narrow(d, start, s));
        start += s;
    }
    return parts;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
    NB_CHECK_VALUE(chunks > 0, "chunk: expected chunks > 0, got ", chunks);
    NB_CHECK(x.dim() > 0, "chunk: expected at least a 1-dimensional tensor, got ", x.shape());
    const int64_t d = wrap_dim(dim, x.dim(), "chunk");
    const int64_t n = x.size(d);
    if (n == 0) return std::vector<Tensor>(static_cast<size_t>(chunks), x.narrow(d, 0, 0));  // as PyTorch
    return split(x, (n + chunks - 1) / chunks, d);
}

}  // namespace nabla
