// backends/cpu/matmul.cpp — the batched matrix product on oneDNN's matmul primitive (float32; torch.bmm).
//   a: [B, M, K] @ b: [B, K, N] -> y: [B, M, N] (contiguous)
// oneDNN reads each operand in place through a strided memory desc: every matrix may be row-major or column-major
// with a leading dimension (so a transposed view costs nothing), and an operand with batch stride 0 is given batch
// dim 1, which oneDNN broadcasts. An operand without a unit stride (a stepped slice) is copied first; so are
// operands whose batch layout no implementation takes. Primitives are cached by dims and strides. float64 and empty
// products go to the reference kernel (the oracle of the tests).
// With bf16 (autocast, core/autocast.h) each operand is reordered into a dense bfloat16 temporary and the product
// accumulates in float32, as torch's CPU autocast runs matmul and linear. Where oneDNN has no bfloat16 matmul for this
// CPU, the product stays float32.
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

std::string key_of(const Operand& a, const Operand& b, memory::data_type type) {
    return fmt::format("{}/{}x{}/{}/{}", fmt::join(a.dims, ","), fmt::join(a.strides, ","), fmt::join(b.dims, ","),
                       fmt::join(b.strides, ","), static_cast<int>(type));
}

// The product of a and b read as `type` (f32, or bf16 for autocast), written as float32.
std::shared_ptr<MatmulPrimitive> primitive_for(const Operand& a, const Operand& b,
                                               memory::data_type type = memory::data_type::f32) {
    static dnnl_util::PrimitiveCache<MatmulPrimitive> cache;
    return cache.get(key_of(a, b, type), [&] {
        const memory::dim B = std::max(a.dims[0], b.dims[0]), M = a.dims[1], N = b.dims[2];
        const memory::desc ad(a.dims, type, a.strides);
        const memory::desc bd(b.dims, type, b.strides);
        const memory::desc yd({B, M, N}, memory::data_type::f32, memory::dims{M * N, N, 1});
        try {
            dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, yd), dnnl_util::engine());
            return MatmulPrimitive{true, pd, dnnl::matmul(pd)};
        } catch (const dnnl::error&) {
            return MatmulPrimitive{};
        }
    });
}

// The same matrices laid out densely (the layout of a bfloat16 copy).
Operand dense(const Operand& o) { return {o.dims, {o.dims[1] * o.dims[2], o.dims[2], 1}}; }

}  // namespace

Tensor CpuBackend::matmul(const Tensor& a_in, const Tensor& b_in, bool bf16) {
    const int64_t B = a_in.size(0), M = a_in.size(1), K = a_in.size(2), N = b_in.size(2);
    if (a_in.dtype() != kFloat32 || B * M * K * N == 0) return ReferenceBackend::matmul(a_in, b_in, bf16);
    Tensor a = a_in, b = b_in;
    std::optional<Operand> oa = operand_of(a), ob = operand_of(b);
    if (!oa) a = kernel::contiguous(a), oa = contiguous_operand(a);
    if (!ob) b = kernel::contiguous(b), ob = contiguous_operand(b);
    std::shared_ptr<MatmulPrimitive> p;
    if (bf16) p = primitive_for(dense(*oa), dense(*ob), memory::data_type::bf16);
    if (!p || !p->ok) p = primitive_for(*oa, *ob);
    if (!p->ok) {  // an exotic batch layout (e.g. batch stride smaller than a matrix): plain copies always work
        a = kernel::contiguous(a), oa = contiguous_operand(a);
        b = kernel::contiguous(b), ob = contiguous_operand(b);
        p = primitive_for(*oa, *ob);
    }
    Tensor y = make_tensor({B, M, N}, kFloat32, a.device());
    dnnl_util::TempScope temps;  // the bfloat16 copies
    dnnl::engine& eng = dnnl_util::engine();
    // The operands as they are (float32, their strides), reordered when the primitive reads bfloat16.
    const memory ma = dnnl_util::reorder_if_needed(
        memory({oa->dims, memory::data_type::f32, oa->strides}, eng, a.raw_data()), p->pd.src_desc());
    const memory mb = dnnl_util::reorder_if_needed(
        memory({ob->dims, memory::data_type::f32, ob->strides}, eng, b.raw_data()), p->pd.weights_desc());
    memory my(p->pd.dst_desc(), eng, y.raw_data());
    dnnl::stream& s = dnnl_util::stream();
    p->prim.execute(s, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, my}});
    s.wait();
    return y;
}

}  // namespace nabla
