// backends/cpu/batch_norm.cpp — float32 batch norm (F.batch_norm) on contiguous [N, C, *] with OpenMP and loops the
// compiler vectorises; double and anything else go to the reference kernels. Same math as the reference
// (ops/batch_norm.cpp has it written out), arranged in as few passes over memory as possible:
//   forward  1. per channel (threads split the channels): Σ(x - K) and Σ(x - K)² in double, where K is the channel's
//               first value, so the variance does not cancel when |mean| >> std (the "shifted data" algorithm);
//            2. y = x * scale + shift with scale = weight * invstd, shift = bias - mean * scale (threads split planes).
//   backward 1. per channel: Σ gy and Σ gy (x - mean) in double;
//            2. gx = gy * k + x * p + q, per-channel constants that fold the training formula
//               k = weight * invstd, p = -k invstd² Σgy(x - mean) / n, q = -p mean - k Σgy / n (p = q = 0 in eval).
// x read as [N, C, S], S = prod(*); [N, C] inputs (S = 1) walk rows with the channel as the vector index instead.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"
#include "core/factory.h"

namespace nabla {

namespace {

constexpr int64_t kParallelMin = 1 << 15;  // elements below which one thread does it all

struct Layout {
    int64_t n, c, s;
};
Layout layout_of(const Tensor& x) {
    const int64_t n = x.size(0), c = x.size(1);
    return {n, c, n * c > 0 ? x.numel() / (n * c) : 1};
}
int64_t grain_for(const Layout& L, int64_t items) { return L.n * L.c * L.s >= kParallelMin ? 0 : items; }

// Per-channel Σ a(i) and Σ a(i) b(i) over each channel c, for a = pa - ka[c] and b = pb - kb[c] (in double).
// The forward calls it with a = b = x - K, the backward with a = gy, b = x - mean.
void channel_sums(const Layout& L, const float* pa, const double* ka, const float* pb, const double* kb,
                  std::vector<double>& sum_a, std::vector<double>& sum_ab) {
    sum_a.assign(static_cast<size_t>(L.c), 0.0);
    sum_ab.assign(static_cast<size_t>(L.c), 0.0);
    double* sa = sum_a.data();
    double* sab = sum_ab.data();
    parallel_for(0, L.c, grain_for(L, L.c), [&](int64_t c0, int64_t c1) {
        if (L.s == 1) {  // [N, C]: rows of channels
            for (int64_t n = 0; n < L.n; ++n) {
                const float* ra = pa + n * L.c;
                const float* rb = pb + n * L.c;
#pragma omp simd
                for (int64_t c = c0; c < c1; ++c) {
                    const double a = static_cast<double>(ra[c]) - ka[c];
                    sa[c] += a;
                    sab[c] += a * (static_cast<double>(rb[c]) - kb[c]);
                }
            }
            return;
        }
        for (int64_t c = c0; c < c1; ++c) {
            double s1 = 0, s2 = 0;
            const double ca = ka[c], cb = kb[c];
            for (int64_t n = 0; n < L.n; ++n) {
                const float* a = pa + (n * L.c + c) * L.s;
                const float* b = pb + (n * L.c + c) * L.s;
#pragma omp simd reduction(+ : s1, s2)
                for (int64_t i = 0; i < L.s; ++i) {
                    const double ai = static_cast<double>(a[i]) - ca;
                    s1 += ai;
                    s2 += ai * (static_cast<double>(b[i]) - cb);
                }
            }
            sa[c] = s1;
            sab[c] = s2;
        }
    });
}

// out = a * k[c] + b * p[c] + q[c] per channel (b may be null: out = a * k[c] + q[c]).
void channel_affine(const Layout& L, const float* a, const float* b, const float* k, const float* p, const float* q,
                    float* out) {
    if (L.s == 1) {
        parallel_for(0, L.n, grain_for(L, L.n), [&](int64_t n0, int64_t n1) {
            for (int64_t n = n0; n < n1; ++n) {
                const int64_t o = n * L.c;
                if (b) {
#pragma omp simd
                    for (int64_t c = 0; c < L.c; ++c) out[o + c] = a[o + c] * k[c] + b[o + c] * p[c] + q[c];
                } else {
#pragma omp simd
                    for (int64_t c = 0; c < L.c; ++c) out[o + c] = a[o + c] * k[c] + q[c];
                }
            }
        });
        return;
    }
    parallel_for(0, L.n * L.c, grain_for(L, L.n * L.c), [&](int64_t p0, int64_t p1) {
        for (int64_t plane = p0; plane < p1; ++plane) {  // plane = n * C + c
            const int64_t c = plane % L.c, o = plane * L.s;
            const float kc = k[c], qc = q[c];
            if (b) {
                const float pc = p[c];
#pragma omp simd
                for (int64_t i = 0; i < L.s; ++i) out[o + i] = a[o + i] * kc + b[o + i] * pc + qc;
            } else {
#pragma omp simd
                for (int64_t i = 0; i < L.s; ++i) out[o + i] = a[o + i] * kc + qc;
            }
        }
    });
}

}  // namespace

BatchNormResult CpuBackend::batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                       const Tensor& running_mean, const Tensor& running_var, bool training,
                                       double momentum, double eps) {
    if (x.dtype() != kFloat32 || !x.is_contiguous())
        return ReferenceBackend::batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps);
    const Layout L = layout_of(x);
    const double count = static_cast<double>(L.n * L.s);
    const float* px = x.data_ptr<float>();
    float* rm = running_mean.defined() ? running_mean.data_ptr<float>() : nullptr;
    float* rv = running_var.defined() ? running_var.data_ptr<float>() : nullptr;
    const int64_t rm_stride = rm ? running_mean.stride(0) : 0, rv_stride = rv ? running_var.stride(0) : 0;

    std::vector<double> mean(static_cast<size_t>(L.c)), var(static_cast<size_t>(L.c));
    if (training) {
        std::vector<double> shift(static_cast<size_t>(L.c), 0.0), s1, s2;
        if (L.n * L.s > 0)
            for (int64_t c = 0; c < L.c; ++c) shift[c] = px[c * L.s];  // x[0, c, 0]
        channel_sums(L, px, shift.data(), px, shift.data(), s1, s2);
        for (int64_t c = 0; c < L.c; ++c) {
            const double d = s1[c] / count;
            mean[c] = shift[c] + d;
            var[c] = std::max(s2[c] / count - d * d, 0.0);
            if (rm) {
                rm[c * rm_stride] = static_cast<float>((1 - momentum) * rm[c * rm_stride] + momentum * mean[c]);
                rv[c * rv_stride] =
                    static_cast<float>((1 - momentum) * rv[c * rv_stride] + momentum * var[c] * count / (count - 1));
            }
        }
    } else {
        for (int64_t c = 0; c < L.c; ++c) {
            mean[c] = rm[c * rm_stride];
            var[c] = rv[c * rv_stride];
        }
    }

    Tensor save_mean = make_tensor({L.c}, kFloat32, x.device());
    Tensor save_invstd = make_tensor({L.c}, kFloat32, x.device());
    std::vector<float> scale(static_cast<size_t>(L.c)), shift(static_cast<size_t>(L.c));
    const float* pw = weight.defined() ? weight.data_ptr<float>() : nullptr;
    const float* pb = bias.defined() ? bias.data_ptr<float>() : nullptr;
    for (int64_t c = 0; c < L.c; ++c) {
        const double invstd = 1 / std::sqrt(var[c] + eps);
        const double sc = (pw ? pw[c] : 1.0) * invstd;
        save_mean.data_ptr<float>()[c] = static_cast<float>(mean[c]);
        save_invstd.data_ptr<float>()[c] = static_cast<float>(invstd);
        scale[c] = static_cast<float>(sc);
        shift[c] = static_cast<float>((pb ? pb[c] : 0.0) - mean[c] * sc);
    }
    Tensor y = make_tensor(x.shape(), kFloat32, x.device());
    channel_affine(L, px, nullptr, scale.data(), nullptr, shift.data(), y.data_ptr<float>());
    return {y, save_mean, save_invstd};
}

ConvGrads CpuBackend::batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight,
                                          const Tensor& save_mean, const Tensor& save_invstd, bool training,
                                          std::array<bool, 3> needs) {
    if (x.dtype() != kFloat32 || !x.is_contiguous() || !gy.is_contiguous())
        return ReferenceBackend::batch_norm_backward(gy, x, weight, save_mean, save_invstd, training, needs);
    const Layout L = layout_of(x);
    const double count = static_cast<double>(L.n * L.s);
    const float* pgy = gy.data_ptr<float>();
    const float* px = x.data_ptr<float>();
    const float* pw = weight.defined() ? weight.data_ptr<float>() : nullptr;
    const float* pm = save_mean.data_ptr<float>();
    const float* pi = save_invstd.data_ptr<float>();

    ConvGrads g;
    const bool need_sums = needs[1] || needs[2] || (needs[0] && training);
    std::vector<double> sum_gy(static_cast<size_t>(L.c), 0.0), sum_gy_xmu(static_cast<size_t>(L.c), 0.0);
    if (need_sums) {
        std::vector<double> zero(static_cast<size_t>(L.c), 0.0), mean(pm, pm + L.c);
        channel_sums(L, pgy, zero.data(), px, mean.data(), sum_gy, sum_gy_xmu);  // Σ gy, Σ gy (x - mean)
    }
    if (needs[1]) {
        g.weight = make_tensor({L.c}, kFloat32, x.device());
        for (int64_t c = 0; c < L.c; ++c) g.weight.data_ptr<float>()[c] = static_cast<float>(sum_gy_xmu[c] * pi[c]);
    }
    if (needs[2]) {
        g.bias = make_tensor({L.c}, kFloat32, x.device());
        for (int64_t c = 0; c < L.c; ++c) g.bias.data_ptr<float>()[c] = static_cast<float>(sum_gy[c]);
    }
    if (needs[0]) {
        std::vector<float> k(static_cast<size_t>(L.c)), p(static_cast<size_t>(L.c)), q(static_cast<size_t>(L.c));
        for (int64_t c = 0; c < L.c; ++c) {
            const double invstd = pi[c], kc = (pw ? pw[c] : 1.0) * invstd;
            const double pc = training ? -kc * invstd * invstd * sum_gy_xmu[c] / count : 0.0;
            const double qc = training ? -pc * pm[c] - kc * sum_gy[c] / count : 0.0;
            k[c] = static_cast<float>(kc);
            p[c] = static_cast<float>(pc);
            q[c] = static_cast<float>(qc);
        }
        g.input = make_tensor(x.shape(), kFloat32, x.device());
        channel_affine(L, pgy, training ? px : nullptr, k.data(), p.data(), q.data(), g.input.data_ptr<float>());
    }
    return g;
}

}  // namespace nabla
