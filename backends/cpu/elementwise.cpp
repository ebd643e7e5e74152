// backends/cpu/elementwise.cpp — elementwise float32 ops as flat parallel loops the compiler vectorises, for the
// common cases: every operand contiguous, or a binary op with a scalar (one-element) operand. Other layouts and
// dtypes go to the reference kernels. The math is backends/common/*_math.h, the same as every backend's.
#include "backends/common/binary_math.h"
#include "backends/common/unary_math.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace nabla {
namespace {
constexpr int64_t kGrain = 1 << 15;

bool flat(const Tensor& t, const Tensor& out) { return t.is_contiguous() && t.shape() == out.shape(); }
}  // namespace

void CpuBackend::unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryArgs args) {
    if (x.dtype() != kFloat32 || !flat(x, out) || !out.is_contiguous()) return ReferenceBackend::unary(op, x, out, args);
    const float* px = x.data_ptr<float>();
    float* py = out.data_ptr<float>();
    const float a = static_cast<float>(args.a), b = static_cast<float>(args.b);
    visit_unary(op, [&]<UnaryOp Op>() {
        parallel_for(0, out.numel(), kGrain, [&](int64_t begin, int64_t end) {
#pragma omp simd
            for (int64_t i = begin; i < end; ++i) py[i] = unary_fn<Op>(px[i], a, b);
        });
    });
}

void CpuBackend::unary_backward(UnaryOp op, const Tensor& gy, const Tensor& saved, const Tensor& gx, UnaryArgs args) {
    if (gy.dtype() != kFloat32 || !flat(gy, gx) || !flat(saved, gx) || !gx.is_contiguous())
        return ReferenceBackend::unary_backward(op, gy, saved, gx, args);
    const float* pg = gy.data_ptr<float>();
    const float* ps = saved.data_ptr<float>();
    float* po = gx.data_ptr<float>();
    const float a = static_cast<float>(args.a), b = static_cast<float>(args.b);
    visit_unary(op, [&]<UnaryOp Op>() {
        parallel_for(0, gx.numel(), kGrain, [&](int64_t begin, int64_t end) {
#pragma omp simd
            for (int64_t i = begin; i < end; ++i) po[i] = pg[i] * unary_grad<Op>(ps[i], a, b);
        });
    });
}

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
    auto scalar = [](const Tensor& t) { return std::all_of(t.strides().begin(), t.strides().end(), [](int64_t s) { return s == 0; }); };
    const bool ok = a.dtype() == kFloat32 && !is_comparison(op) && out.is_contiguous() && (flat(a, out) || scalar(a)) &&
                    (flat(b, out) || scalar(b));
    if (!ok) return ReferenceBackend::binary(op, a, b, out);
    const float* pa = a.data_ptr<float>();
    const float* pb = b.data_ptr<float>();
    float* po = out.data_ptr<float>();
    const bool sa = scalar(a), sb = scalar(b);
    visit_binary(op, [&]<BinaryOp Op>() {
        if constexpr (!is_comparison(Op)) {
            parallel_for(0, out.numel(), kGrain, [&](int64_t begin, int64_t end) {
                if (!sa && !sb) {
#pragma omp simd
                    for (int64_t i = begin; i < end; ++i) po[i] = binary_fn<Op>(pa[i], pb[i]);
                } else if (!sa) {
                    const float vb = pb[0];
#pragma omp simd
                    for (int64_t i = begin; i < end; ++i) po[i] = binary_fn<Op>(pa[i], vb);
                } else if (!sb) {
                    const float va = pa[0];
#pragma omp simd
                    for (int64_t i = begin; i < end; ++i) po[i] = binary_fn<Op>(va, pb[i]);
                } else {
                    std::fill(po + begin, po + end, binary_fn<Op>(pa[0], pb[0]));
                }
            });
        }
    });
}

}  // namespace nabla
