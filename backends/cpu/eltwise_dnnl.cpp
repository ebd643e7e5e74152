// backends/cpu/eltwise_dnnl.cpp — see eltwise_dnnl.h. The tensors are seen as one flat dimension; primitives are
// cached by (algorithm, size). Backward uses the "use_dst_for_bwd" algorithms where the op saves its output
// (backends/common/unary_math.h: unary_grad_uses_output), so what autograd saved is exactly what oneDNN wants.
#include "backends/cpu/eltwise_dnnl.h"

#include <fmt/format.h>

#include "backends/backend.h"
#include "backends/common/unary_math.h"
#include "backends/cpu/dnnl_common.h"

namespace nabla::dnnl_util {
namespace {

using dnnl::algorithm;

constexpr int64_t kMinElements = 4096;  // below this, a primitive call costs more than the scalar loop

// oneDNN's algorithm for `op`, for forward (src-based) and backward (dst-based where we save y).
bool algorithm_for(UnaryOp op, UnaryArgs args, algorithm& fwd, algorithm& bwd, float& alpha) {
    alpha = 0;
    switch (op) {
        case UnaryOp::Exp: fwd = algorithm::eltwise_exp, bwd = algorithm::eltwise_exp_use_dst_for_bwd; return true;
        case UnaryOp::Log: fwd = bwd = algorithm::eltwise_log; return true;
        case UnaryOp::Sigmoid:
            fwd = algorithm::eltwise_logistic, bwd = algorithm::eltwise_logistic_use_dst_for_bwd;
            return true;
        case UnaryOp::Tanh: fwd = algorithm::eltwise_tanh, bwd = algorithm::eltwise_tanh_use_dst_for_bwd; return true;
        case UnaryOp::Silu: fwd = bwd = algorithm::eltwise_swish, alpha = 1; return true;
        // softplus with PyTorch's defaults only: beta 1, and a threshold at or above 20, where log1p(exp(x)) and x
        // are the same float
        case UnaryOp::Softplus:
            if (args.a != 1.0 || args.b < 20.0) return false;
            fwd = bwd = algorithm::eltwise_soft_relu;
            return true;
        default: return false;
    }
}

// t is float32 and lies as `like` does, in one dense block (contiguous or channels-last): flat index i is the same
// element in both.
bool dense_f32(const Tensor& t, const Tensor& like) {
    return t.dtype() == kFloat32 && t.shape() == like.shape() && t.strides() == like.strides() &&
           (like.is_contiguous() || like.is_contiguous(MemoryFormat::ChannelsLast));
}

struct Forward {
    dnnl::eltwise_forward::primitive_desc pd;
    dnnl::eltwise_forward prim;
};
struct Backward {
    dnnl::eltwise_backward prim;
};

dnnl::memory::desc flat(int64_t n) {
    return dnnl::memory::desc({n}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
}

Forward make_forward(algorithm alg, float alpha, int64_t n) {
    dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_training, alg, flat(n), alpha, 0.f);
    dnnl::eltwise_forward::primitive_desc pd(d, engine());
    return {pd, dnnl::eltwise_forward(pd)};
}

}  // namespace

namespace {

// A strided (not dense) float32 input of a dense output, such as a slice of a cat's gradient: it is copied into the
// output, and the primitive then runs in place there (oneDNN's eltwise allows src = dst and diff_dst = diff_src).
// A strided copy and one vectorised pass beat the scalar exp of the row loops several times over.
bool copy_into(const Tensor& t, const Tensor& dense_out) {
    if (t.dtype() != kFloat32 || t.shape() != dense_out.shape()) return false;
    backend_for(dense_out).copy_(dense_out, t);
    return true;
}

}  // namespace

bool eltwise_forward(UnaryOp op, const Tensor& x_in, const Tensor& out, UnaryArgs args) {
    algorithm fwd, bwd;
    float alpha;
    if (x_in.numel() < kMinElements || !algorithm_for(op, args, fwd, bwd, alpha) || !dense_f32(out, out)) return false;
    const bool dense = dense_f32(x_in, out);
    if (!dense && !copy_into(x_in, out)) return false;
    const Tensor& x = dense ? x_in : out;
    static PrimitiveCache<Forward> cache;
    const int64_t n = x.numel();
    auto f = cache.get(fmt::format("{}:{}:{}", static_cast<int>(fwd), alpha, n),
                       [&] { return make_forward(fwd, alpha, n); });
    dnnl::memory src(flat(n), engine(), x.raw_data()), dst(flat(n), engine(), out.raw_data());
    f->prim.execute(stream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    stream().wait();
    return true;
}

bool eltwise_backward(UnaryOp op, const Tensor& gy_in, const Tensor& saved, const Tensor& gx, UnaryArgs args) {
    algorithm fwd, bwd;
    float alpha;
    if (gy_in.numel() < kMinElements || !algorithm_for(op, args, fwd, bwd, alpha) || !dense_f32(saved, gx) ||
        !dense_f32(gx, gx))
        return false;
    const bool dense = dense_f32(gy_in, gx);
    if (!dense && !copy_into(gy_in, gx)) return false;
    const Tensor& gy = dense ? gy_in : gx;
    static PrimitiveCache<Backward> cache;
    const int64_t n = gy.numel();
    auto b = cache.get(fmt::format("{}:{}:{}", static_cast<int>(bwd), alpha, n), [&] {
        Forward hint = make_forward(bwd, alpha, n);  // the backward pd wants a forward pd of the same algorithm
        dnnl::eltwise_backward::desc d(bwd, flat(n), flat(n), alpha, 0.f);
        dnnl::eltwise_backward::primitive_desc pd(d, engine(), hint.pd);
        return Backward{dnnl::eltwise_backward(pd)};
    });
    dnnl::memory data(flat(n), engine(), saved.raw_data()), diff_dst(flat(n), engine(), gy.raw_data()),
        diff_src(flat(n), engine(), gx.raw_data());
    const int data_arg = unary_grad_uses_output(op) ? DNNL_ARG_DST : DNNL_ARG_SRC;
    b->prim.execute(stream(), {{data_arg, data}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, diff_src}});
    stream().wait();
    return true;
}

}  // namespace nabla::dnnl_util
