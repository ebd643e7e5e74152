// ops/matmul.cpp — torch.matmul, torch.mm, torch.bmm and F.linear.
//   matmul: [K]·[K] -> [] (dot);  [M, K]·[K] -> [M];  [K]·[K, N] -> [N];  [..., M, K]·[..., K, N] -> [batch..., M, N]
//   with the batch dims broadcast by numpy rules. A 1-D operand is promoted (a to [1, K], b to [K, 1]) and the added
//   dim squeezed from the result: those are views with their own gradients, so only the batched product records.
// Backward of y = a @ b:  ga = gy @ b^T,  gb = a^T @ gy, each summed back over the batch dims its operand was
// broadcast along (sum_to). When b has no batch (x @ W), the batch is folded into the rows: gb = a_rows^T @ gy_rows.
// linear(x [*, in], weight [out, in], bias [out]) = x @ weight^T + bias:
//   gx = gy @ weight,  gweight = gy_rows^T @ x_rows,  gbias = sum gy_rows.
// The kernel (backends/*/matmul.cpp) multiplies a [B, M, K] by b [B, K, N]: transposes reach it as strides and a
// broadcast batch as batch stride 0, so neither is copied. Under bfloat16 autocast (core/autocast.h) the kernel is
// told to multiply float32 operands in bfloat16 (float32 accumulation); the backward's products get the flag the
// forward was recorded with, wherever backward() is called.
#include "ops/matmul.h"

#include <optional>

#include "autograd/node.h"
#include "backends/backend.h"
#include "core/autocast.h"
#include "core/trace/flops.h"
#include "core/trace/trace.h"
#include "ops/reduce.h"

namespace nabla {

using autograd::Grads;
using autograd::NeedsGrad;
using autograd::save;

namespace {

void check_operands(const char* op, const Tensor& a, const Tensor& b) {
    NB_CHECK(a.device() == b.device(), op, ": tensors on different devices (", a.device(), " and ", b.device(), ")");
    NB_CHECK_VALUE(is_floating(a.dtype()) && a.dtype() == b.dtype(), op,
                   ": expected two float32 or two float64 tensors, got ", dtype_name(a.dtype()), " ", a.shape(),
                   " and ", dtype_name(b.dtype()), " ", b.shape());
}

// The batch dims of a [..., r, c] shape.
Shape batch_of(const Shape& s) { return Shape(s.begin(), s.end() - 2); }

// [*, c] seen as rows: {prod(*), c}, spelled out so that zero-sized dims need no -1 inference.
Shape as_rows(const Shape& s) { return {numel_of(Shape(s.begin(), s.end() - 1)), s.back()}; }

Shape with_matrix(Shape batch, int64_t rows, int64_t cols) {
    batch.push_back(rows);
    batch.push_back(cols);
    return batch;
}

// The one stride that walks dims [0, n) of t as a single flattened dim, or nothing when they do not collapse.
// Size-1 dims are skipped; broadcast dims (stride 0) collapse to stride 0.
std::optional<int64_t> collapsed_stride(const Tensor& t, int64_t n) {
    int64_t stride = -1, span = 1;
    for (int64_t d = n - 1; d >= 0; --d) {
        if (t.size(d) == 1) continue;
        if (stride < 0)
            stride = t.stride(d);
        else if (t.stride(d) != stride * span)
            return std::nullopt;  // the next dim out must step over the ones inside
        span *= t.size(d);
    }
    return std::max<int64_t>(stride, 0);
}

// t [..., r, c] (no autograd) expanded to batch + [r, c] and seen as [B, r, c]: a view when the batch dims collapse,
// otherwise a contiguous copy.
Tensor as_batched(const Tensor& t, const Shape& batch) {
    const int64_t r = t.size(-2), c = t.size(-1);
    Tensor e = t.expand(with_matrix(batch, r, c));
    std::optional<int64_t> stride = collapsed_stride(e, static_cast<int64_t>(batch.size()));
    if (!stride) {
        e = e.contiguous();
        stride = r * c;
    }
    return make_view(e, {numel_of(batch), r, c}, {*stride, e.stride(-2), e.stride(-1)}, e.offset());
}

// Whether products of these operands run in bfloat16: float32 under a bfloat16 AutocastGuard.
bool use_bf16(const Tensor& a) { return autocast_precision() == Precision::BFloat16 && a.dtype() == kFloat32; }

// a [..., M, K] @ b [..., K, N] -> [batch..., M, N] on the kernels, no autograd; both at least 2-D, shapes checked.
Tensor product(const Tensor& a, const Tensor& b, bool bf16) {
    const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
    const Shape ba = batch_of(a.shape()), bb = batch_of(b.shape());
    const Shape batch = broadcast_shapes(ba, bb, "matmul");
    Backend& be = backend_for(a);
    if (numel_of(bb) == 1 && numel_of(ba) > 1) {  // x @ W: one [1, batch*M, K] @ [1, K, N] product, if a's rows allow
        if (std::optional<int64_t> rs = collapsed_stride(a, a.dim() - 1)) {
            Tensor rows = make_view(a, {1, numel_of(ba) * M, K}, {0, *rs, a.stride(-1)}, a.offset());
            return be.matmul(rows, as_batched(b, {1}), bf16).view(with_matrix(batch, M, N));
        }
    }
    return be.matmul(as_batched(a, batch), as_batched(b, batch), bf16).view(with_matrix(batch, M, N));
}

// gb = a^T @ gy for a [..., M, K], gy [batch..., M, N], summed back to b's shape [..., K, N].
Tensor matmul_grad_b(const Tensor& a, const Tensor& gy, const Shape& b_shape, bool bf16) {
    if (numel_of(batch_of(b_shape)) != 1) return sum_to(product(a.transpose(-1, -2), gy, bf16), b_shape);
    // b has no batch: fold the batch into the rows, [K, rows] @ [rows, N]
    return product(a.reshape(as_rows(a.shape())).t(), gy.reshape(as_rows(gy.shape())), bf16).view(b_shape);
}

// The recorded batched product: a [..., M, K], b [..., K, N], both at least 2-D.
Tensor matmul_nd(const char* op, const Tensor& a, const Tensor& b) {
    trace::OpScope ts(
        op, [&] { return trace::matmul_flops(a.shape(), b.shape()); }, a, b);
    const Shape ba = batch_of(a.shape()), bb = batch_of(b.shape());
    for (size_t i = 1; i <= std::min(ba.size(), bb.size()); ++i) {
        const int64_t da = ba[ba.size() - i], db = bb[bb.size() - i];
        NB_CHECK(da == db || da == 1 || db == 1, op, ": batch dims of ", a.shape(), " and ", b.shape(),
                 " do not broadcast");
    }
    const bool bf16 = use_bf16(a);
    Tensor y = product(a.detach(), b.detach(), bf16);  // [batch..., M, N]
    // a is needed only for b's gradient and b only for a's: save the minimum
    autograd::record(op, {a, b}, y,
                     [sa = save(b.requires_grad() ? a : Tensor()), sb = save(a.requires_grad() ? b : Tensor()),
                      a_shape = a.shape(), b_shape = b.shape(), bf16](const Tensor& gy, const NeedsGrad& needs) {
                         Tensor ga, gb;
                         if (needs[0]) ga = sum_to(product(gy, sb.get().transpose(-1, -2), bf16), a_shape);
                         if (needs[1]) gb = matmul_grad_b(sa.get(), gy, b_shape, bf16);
                         return Grads{ga, gb};
                     });
    return y;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
    NB_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both arguments need at least 1 dim, got ", a.shape(), " and ",
             b.shape());
    check_operands("matmul", a, b);
    const int64_t ka = a.size(-1), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
    NB_CHECK(ka == kb, "matmul: shapes ", a.shape(), " and ", b.shape(), " cannot be multiplied (", ka, " != ", kb,
             ")");
    Tensor y = matmul_nd("matmul", a.dim() == 1 ? a.unsqueeze(0) : a, b.dim() == 1 ? b.unsqueeze(1) : b);
    if (a.dim() == 1) y = y.squeeze(-2);  // [..., 1, N] -> [..., N]
    if (b.dim() == 1) y = y.squeeze(-1);  // [..., M, 1] -> [..., M]
    return y;
}

Tensor mm(const Tensor& a, const Tensor& b) {
    NB_CHECK(a.dim() == 2 && b.dim() == 2, "mm: expected two 2-D tensors, got ", a.shape(), " and ", b.shape());
    check_operands("mm", a, b);
    NB_CHECK(a.size(1) == b.size(0), "mm: shapes ", a.shape(), " and ", b.shape(), " cannot be multiplied (", a.size(1),
             " != ", b.size(0), ")");
    return matmul_nd("mm", a, b);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
    NB_CHECK(a.dim() == 3 && b.dim() == 3, "bmm: expected two 3-D tensors, got ", a.shape(), " and ", b.shape());
    check_operands("bmm", a, b);
    NB_CHECK(a.size(0) == b.size(0) && a.size(2) == b.size(1), "bmm: shapes ", a.shape(), " and ", b.shape(),
             " cannot be multiplied (expected [B, M, K] and [B, K, N])");
    return matmul_nd("bmm", a, b);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    trace::OpScope ts("linear", x, weight, bias);
    NB_CHECK(weight.dim() == 2, "linear: weight must be [out_features, in_features], got ", weight.shape());
    check_operands("linear", x, weight);
    const int64_t out = weight.size(0), in = weight.size(1);
    NB_CHECK(x.dim() >= 1 && x.size(-1) == in, "linear: input ", x.shape(), " does not end in weight ", weight.shape(),
             "'s in_features ", in);
    NB_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == out), "linear: bias ",
             bias.defined() ? bias.shape() : Shape{}, " does not match weight ", weight.shape(), " (expected [", out,
             "])");
    Shape y_shape = x.shape();
    y_shape.back() = out;
    // x [*, in] as rows [R, in];  y_rows [R, out] = x_rows @ w^T (+ bias)
    const bool bf16 = use_bf16(x);
    Tensor y = product(x.detach().reshape(as_rows(x.shape())), weight.detach().t(), bf16).view(y_shape);
    if (bias.defined()) y.add_(bias.detach());
    // x is needed only for weight's gradient and weight only for x's
    autograd::record(
        "linear", {x, weight, bias}, y,
        [x_shape = x.shape(), sx = save(weight.requires_grad() ? x : Tensor()),
         sw = save(x.requires_grad() ? weight : Tensor()), bf16](const Tensor& gy, const NeedsGrad& needs) {
            const Tensor gy_rows = gy.reshape(as_rows(gy.shape()));  // [R, out]
            Tensor gx, gweight, gbias;
            if (needs[0]) gx = product(gy_rows, sw.get(), bf16).view(x_shape);                       // [R, in]
            if (needs[1]) gweight = product(gy_rows.t(), sx.get().reshape(as_rows(x_shape)), bf16);  // [out, in]
            if (needs[2]) gbias = sum(gy_rows, {0});                                                 // [out]
            return Grads{gx, gweight, gbias};
        });
    return y;
}

}  // namespace nabla
