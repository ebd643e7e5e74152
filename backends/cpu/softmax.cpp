// backends/cpu/softmax.cpp — softmax and log_softmax (torch.softmax / log_softmax) and their backward on oneDNN's
// softmax_v2 primitives (float32), algorithm softmax_accurate or softmax_log.
//   x: contiguous, seen as [outer, n, inner] with the softmax over n (axis 1) -> y: same shape, contiguous.
//   backward: softmax dx = y * (dy - sum(y * dy));  log_softmax dx = dy - exp(y) * sum(dy)
// oneDNN's jit kernels want the axis dense: with inner = 1 they read the user's tensor as it is. Otherwise (softmax
// over the channels of NCHW, or over dim 0 of PANet's [L, H*W] scores) the only plain-layout implementation is
// oneDNN's scalar reference, so the tensors are reordered to the blocked layout aBc16b (n in blocks of 16, as
// nChw16c), where the jit kernel runs, and back. On [6686, 2304] over dim 0 (2 cores): 2.3 s forward with oneDNN's
// reference kernel, 0.08 s forward and 0.11 s backward reordered.
// Primitives are cached by (outer, n, inner, algorithm); the backward pd is hinted by the forward pd. float64 and
// empty tensors go to the reference kernels.
#include <fmt/format.h>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/dnnl_common.h"

namespace nabla {

namespace {

using dnnl::memory;

struct SoftmaxPrimitives {
    memory::desc user, md;  // the tensors' plain [outer, n, inner] layout; the layout the primitives run in
    dnnl::softmax_v2_forward::primitive_desc fwd_pd;
    dnnl::softmax_v2_forward fwd;
    dnnl::softmax_v2_backward::primitive_desc bwd_pd;
    dnnl::softmax_v2_backward bwd;
};

memory::dims rows_of(const Shape& shape, int64_t dim) {  // {outer, n, inner}
    memory::dim outer = 1, inner = 1;
    for (int64_t d = 0; d < dim; ++d) outer *= shape[d];
    for (int64_t d = dim + 1; d < static_cast<int64_t>(shape.size()); ++d) inner *= shape[d];
    return {outer, shape[dim], inner};
}

std::shared_ptr<SoftmaxPrimitives> primitives_for(const memory::dims& dims, bool log) {
    static dnnl_util::PrimitiveCache<SoftmaxPrimitives> cache;
    return cache.get(fmt::format("{},{},{}/{}", dims[0], dims[1], dims[2], log), [&] {
        const auto alg = log ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate;
        const memory::desc user(dims, memory::data_type::f32, memory::format_tag::abc);
        const memory::desc md =
            dims[2] == 1 ? user : memory::desc(dims, memory::data_type::f32, memory::format_tag::aBc16b);
        dnnl::engine& eng = dnnl_util::engine();
        dnnl::softmax_v2_forward::primitive_desc fwd_pd(
            dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_training, alg, md, md, 1), eng);
        dnnl::softmax_v2_backward::primitive_desc bwd_pd(dnnl::softmax_v2_backward::desc(alg, md, md, md, 1), eng,
                                                         fwd_pd);
        return SoftmaxPrimitives{
            user, md, fwd_pd, dnnl::softmax_v2_forward(fwd_pd), bwd_pd, dnnl::softmax_v2_backward(bwd_pd)};
    });
}

memory wrap(const Tensor& t, const memory::desc& d) { return memory(d, dnnl_util::engine(), t.raw_data()); }

// The tensor `out` as the primitive's output: itself when the layouts agree, else a scratch buffer to reorder back.
memory output_for(const Tensor& out, const SoftmaxPrimitives& p) {
    return p.md == p.user ? wrap(out, p.user) : dnnl_util::temp_memory(p.md);
}

}  // namespace

Tensor CpuBackend::softmax(const Tensor& x, int64_t dim, bool log) {
    if (x.dtype() != kFloat32 || x.numel() == 0) return ReferenceBackend::softmax(x, dim, log);
    const std::shared_ptr<SoftmaxPrimitives> p = primitives_for(rows_of(x.shape(), dim), log);
    dnnl_util::TempScope temps;
    Tensor y = make_tensor(x.shape(), kFloat32, x.device());
    const memory src = dnnl_util::reorder_if_needed(wrap(x, p->user), p->md), dst = output_for(y, *p);
    dnnl::stream& s = dnnl_util::stream();
    p->fwd.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    dnnl_util::reorder_into(dst, wrap(y, p->user));
    s.wait();
    return y;
}

Tensor CpuBackend::softmax_backward(const Tensor& gy, const Tensor& y, int64_t dim, bool log) {
    if (y.dtype() != kFloat32 || y.numel() == 0) return ReferenceBackend::softmax_backward(gy, y, dim, log);
    const std::shared_ptr<SoftmaxPrimitives> p = primitives_for(rows_of(y.shape(), dim), log);
    dnnl_util::TempScope temps;
    Tensor gx = make_tensor(y.shape(), kFloat32, y.device());
    const memory dst = dnnl_util::reorder_if_needed(wrap(y, p->user), p->md);
    const memory diff_dst = dnnl_util::reorder_if_needed(wrap(gy, p->user), p->md), diff_src = output_for(gx, *p);
    dnnl::stream& s = dnnl_util::stream();
    p->bwd.execute(s, {{DNNL_ARG_DST, dst}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, diff_src}});
    dnnl_util::reorder_into(diff_src, wrap(gx, p->user));
    s.wait();
    return gx;
}

}  // namespace nabla
