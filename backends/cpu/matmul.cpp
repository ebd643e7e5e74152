// backends/cpu/matmul.cpp — the batched matrix product on oneDNN's matmul primitive (float32; torch.bmm).
//   a: [B, M, K] @ b: [B, K, N] -> y: [B, M, N] (contiguous)
// oneDNN reads each operand in place through a strided memory desc: every matrix may be row-major or column-major
// with a leading dimension (so a transposed view costs nothing), and an operand with batch stride 0 is given batch
// dim 1, which oneDNN broadcasts. An operand without a unit stride (a stepped slice) is copied first; so are
// operands whose batch layout no implementation takes. Primitives are cached by dims and strides. float64 and empty
// products go to the reference kernel (the oracle of the tests).
#include <fmt/format.h>

#include <optional>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/dnnl_common.h"

namespace nabla {

namespace {

using dnnl::memory;

struct Operand {  // a [B', r, c] stack of matrices as oneDNN will read it
    memory::dims dims, strides;
};

// Dims and strides for t [B, r, c], or nothing when no matrix stride is 1. Size-1 dims may carry any stride in a
// tensor; they get the stride that keeps the layout plain, which is what oneDNN's checks look for.
std::optional<Operand> operand_of(const Tensor& t) {
    const int64_t B = t.size(0), r = t.size(1), c = t.size(2);
    int64_t sb = t.stride(0), sr = t.stride(1), sc = t.stride(2);
    if ((c == 1 || sc == 1) && (r == 1 || sr >= c)) {  // row-major, leading dimension sr
        sc = 1;
        if (r == 1) sr = c;
    } else if ((r == 1 || sr == 1) && (c == 1 || sc >= r)) {  // column-major, leading dimension sc
        sr = 1;
        if (c == 1) sc = r;
    } else {
        return std::nullopt;
    }
    const bool broadcast = sb == 0 || B == 1;
    if (broadcast) sb = std::max(sr * r, sc * c);
    return Operand{{broadcast ? 1 : B, r, c}, {sb, sr, sc}};
}

Operand contiguous_operand(const Tensor& t) {
    const int64_t B = t.size(0), r = t.size(1), c = t.size(2);
    return {{B, r, c}, {r * c, c, 1}};
}

struct MatmulPrimitive {
    bool ok = false;  // false when oneDNN has no implementation for the layout
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul prim;
};

std::string key_of(const Operand& a, const Operand& b) {
    return fmt::format("{}/{}x{}/{}", fmt::join(a.dims, ","), fmt::join(a.strides, ","), fmt::join(b.dims, ","),
                       fmt::join(b.strides, ","));
}

std::shared_ptr<MatmulPrimitive> primitive_for(const Operand& a, const Operand& b) {
    static dnnl_util::PrimitiveCache<MatmulPrimitive> cache;
    return cache.get(key_of(a, b), [&] {
        const memory::dim B = std::max(a.dims[0], b.dims[0]), M = a.dims[1], N = b.dims[2];
        const memory::desc ad(a.dims, memory::data_type::f32, a.strides);
        const memory::desc bd(b.dims, memory::data_type::f32, b.strides);
        const memory::desc yd({B, M, N}, memory::data_type::f32, memory::dims{M * N, N, 1});
        try {
            dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, yd), dnnl_util::engine());
            return MatmulPrimitive{true, pd, dnnl::matmul(pd)};
        } catch (const dnnl::error&) {
            return MatmulPrimitive{};
        }
    });
}

}  // namespace

Tensor CpuBackend::matmul(const Tensor& a_in, const Tensor& b_in) {
    const int64_t B = a_in.size(0), M = a_in.size(1), K = a_in.size(2), N = b_in.size(2);
    if (a_in.dtype() != kFloat32 || B * M * K * N == 0) return ReferenceBackend::matmul(a_in, b_in);
    Tensor a = a_in, b = b_in;
    std::optional<Operand> oa = operand_of(a), ob = operand_of(b);
    if (!oa) a = kernel::contiguous(a), oa = contiguous_operand(a);
    if (!ob) b = kernel::contiguous(b), ob = contiguous_operand(b);
    std::shared_ptr<MatmulPrimitive> p = primitive_for(*oa, *ob);
    if (!p->ok) {  // an exotic batch layout (e.g. batch stride smaller than a matrix): plain copies always work
        a = kernel::contiguous(a), oa = contiguous_operand(a);
        b = kernel::contiguous(b), ob = contiguous_operand(b);
        p = primitive_for(*oa, *ob);
    }
    Tensor y = make_tensor({B, M, N}, kFloat32, a.device());
    dnnl::engine& eng = dnnl_util::engine();
    memory ma(p->pd.src_desc(), eng, a.raw_data()), mb(p->pd.weights_desc(), eng, b.raw_data());
    memory my(p->pd.dst_desc(), eng, y.raw_data());
    dnnl::stream& s = dnnl_util::stream();
    p->prim.execute(s, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, my}});
    s.wait();
    return y;
}

}  // namespace nabla
