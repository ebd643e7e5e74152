// backends/cpu/loss.cpp — the fused binary_cross_entropy_with_logits kernels in float32 as one parallel pass each,
// for dense x and t and a pos_weight that is absent or one value; other layouts go to the reference kernels.
// The math is backends/common/loss_math.h.
#include "backends/common/loss_math.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace nabla {
namespace {

bool dense(const Tensor& a, const Tensor& like) {
    return a.dtype() == kFloat32 && a.is_contiguous() && a.shape() == like.shape();
}

// One value broadcast over the whole shape: every dim of size > 1 has stride 0.
bool broadcast_scalar(const Tensor& t) {
    for (int64_t d = 0; d < t.dim(); ++d)
        if (t.size(d) > 1 && t.stride(d) != 0) return false;
    return t.dtype() == kFloat32;
}

// pos_weight as one number, if it is absent or a broadcast scalar (YOLOv5's BCEWithLogitsLoss(pos_weight=[1.0])).
bool scalar_pos_weight(const Tensor& pw, float& value) {
    if (!pw.defined()) return value = 1.f, true;
    if (!broadcast_scalar(pw)) return false;
    value = *pw.data_ptr<float>();
    return true;
}

constexpr int64_t kGrain = 1 << 14;

}  // namespace

Tensor CpuBackend::bce_with_logits(const Tensor& x, const Tensor& t, const Tensor& pw) {
    float w = 1.f;
    if (!dense(x, x) || !dense(t, x) || (pw.defined() && pw.dtype() != kFloat32) || !scalar_pos_weight(pw, w))
        return ReferenceBackend::bce_with_logits(x, t, pw);
    Tensor y = make_tensor(x.shape(), kFloat32, x.device());
    const float *px = x.data_ptr<float>(), *pt = t.data_ptr<float>();
    float* py = y.data_ptr<float>();
    parallel_for(0, x.numel(), kGrain, [=](int64_t begin, int64_t end) {  // by value: no aliasing for the vectoriser
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) py[i] = bce_with_logits_fn(px[i], pt[i], w);
    });
    return y;
}

Tensor CpuBackend::bce_with_logits_backward(const Tensor& gy, const Tensor& x, const Tensor& t, const Tensor& pw) {
    float w = 1.f;
    // gy is dense, or one value broadcast (the backward of a mean or sum)
    const bool gy_scalar = broadcast_scalar(gy);
    if ((!dense(gy, x) && !gy_scalar) || !dense(x, x) || !dense(t, x) || (pw.defined() && pw.dtype() != kFloat32) ||
        !scalar_pos_weight(pw, w))
        return ReferenceBackend::bce_with_logits_backward(gy, x, t, pw);
    Tensor gx = make_tensor(x.shape(), kFloat32, x.device());
    const float *pg = gy.data_ptr<float>(), *px = x.data_ptr<float>(), *pt = t.data_ptr<float>();
    float* po = gx.data_ptr<float>();
    const int64_t g_step = gy_scalar ? 0 : 1;
    parallel_for(0, x.numel(), kGrain, [=](int64_t begin, int64_t end) {
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) po[i] = pg[i * g_step] * bce_with_logits_grad(px[i], pt[i], w);
    });
    return gx;
}

}  // namespace nabla
