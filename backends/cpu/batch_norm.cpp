// backends/cpu/batch_norm.cpp — float32 batch norm (F.batch_norm) on contiguous [N, C, *] with OpenMP and loops the
// compiler vectorises; double and anything else go to the reference kernels. Same math as the reference
// (ops/batch_norm.cpp writes it out), arranged for as little memory traffic as possible. x is read as [N, C, S].
//   forward  per channel: Σ(x - K) and Σ(x - K)² (float partial sums of 64 values, added up in double), K = the
//            channel's first value, so that the variance does not cancel when |mean| >> std ("shifted data"); then
//            y = x * scale + shift with scale = weight * invstd, shift = bias - mean * scale.
//   backward per channel: Σ gy and Σ gy (x - mean) (summed the same way); then gx = gy * k + x * p + q with
//            per-channel constants that fold the training formula: k = weight * invstd,
//            p = -k invstd² Σgy(x - mean) / n, q = -p mean - k Σgy / n (p = q = 0 in eval).
// Threads split the channels, and each channel's two passes run back to back, so the second pass reads the channel's
// N planes from cache (they fit in L2 for the feature maps of a conv net): about one read of x fewer per direction.
// [N, C] inputs (S = 1) walk rows instead, with the channel as the vector index; so do channels-last [N, C, H, W]
// tensors, as N*H*W rows of C (the output keeps the input's layout). Eval is a single affine pass.
// A fused activation (NormAct: relu or silu of the output, backends/common/norm_act_math.h) costs no pass: the forward
// applies it as it writes y, and the backward's sums pass computes gz = gy act'(x * scale + shift) (the forward's z,
// recomputed from the same float scale and shift), keeps it in gx's buffer and sums it; the affine pass then maps gz
// to gx in place. Separate relu/silu kernels would add a read and a write of the activation each way.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/common/norm_act_math.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace nabla {

namespace {

constexpr int64_t kParallelMin = 1 << 15;  // elements below which one thread does it all

struct Layout {
    int64_t n, c, s;
    int64_t grain(int64_t items) const { return n * c * s >= kParallelMin ? 0 : items; }  // parallel_for's grain
};
Layout layout_of(const Tensor& x) {
    const int64_t n = x.size(0), c = x.size(1);
    if (x.suggest_memory_format() == MemoryFormat::ChannelsLast) return {n * x.size(2) * x.size(3), c, 1};
    return {n, c, n * c > 0 ? x.numel() / (n * c) : 1};
}

// The layouts these kernels walk: contiguous [N, C, *], or channels-last [N, C, H, W].
bool dense(const Tensor& t) { return t.is_contiguous() || t.is_contiguous(MemoryFormat::ChannelsLast); }

// The per-channel affine map of the forward, y = act(x * scale + shift), from the statistics as saved (rounded to
// float): the backward rebuilds the same scale and shift, so its recomputed z is bit for bit the forward's.
struct Affine {
    float scale, shift;
};
Affine affine_of(const float* pw, const float* pb, int64_t c, float mean, float invstd) {
    const double sc = (pw ? pw[c] : 1.0) * static_cast<double>(invstd);
    return {static_cast<float>(sc), static_cast<float>((pb ? pb[c] : 0.0) - static_cast<double>(mean) * sc)};
}

// What the sums passes of a fused backward add up instead of gy: the gradient at the pre-activation,
// g = a act'(b * scale + shift) with a = gy and b = x, which they also store in g_out.
template <NormAct A>
inline float summand(float a, float b, float scale, float shift, float* g_out) {
    const float g = a * norm_act_grad<A>(b * scale + shift);
    *g_out = g;
    return g;
}

// Σ (g - ka) and Σ (g - ka)(b - kb) over one channel's N planes, g = summand<A>(a, b) (stored in g_out unless A =
// None). Float partial sums over blocks of at most kBlock values (4 or 8 SIMD lanes of a few values each) go into
// double accumulators: the precision of a double sum at the speed of float SIMD (a double loop on baseline x86-64 is
// compute-bound, 2-3x slower than memory here).
constexpr int64_t kBlock = 64;
template <NormAct A>
NB_CPU_CLONES void plane_sums(const Layout& L, int64_t c, const float* a, float ka, const float* b, float kb,
                              double& s_a, double& s_ab, Affine f = {}, float* g_out = nullptr) {
    double s1 = 0, s2 = 0;
    for (int64_t n = 0; n < L.n; ++n) {
        const int64_t o = (n * L.c + c) * L.s;
        const float *pa = a + o, *pb = b + o;
        float* pg = g_out ? g_out + o : nullptr;
        for (int64_t i0 = 0; i0 < L.s; i0 += kBlock) {
            const int64_t i1 = std::min(L.s, i0 + kBlock);
            float f1 = 0, f2 = 0;
#pragma omp simd reduction(+ : f1, f2)
            for (int64_t i = i0; i < i1; ++i) {
                float ai = pa[i];
                if constexpr (A != NormAct::None) ai = summand<A>(ai, pb[i], f.scale, f.shift, pg + i);
                ai -= ka;
                f1 += ai;
                f2 += ai * (pb[i] - kb);
            }
            s1 += f1;
            s2 += f2;
        }
    }
    s_a = s1;
    s_ab = s2;
}

// out = a * k + b * p + q over one channel's N planes (b null: out = act(a * k + q), the forward).
template <NormAct A>
NB_CPU_CLONES void plane_affine(const Layout& L, int64_t c, const float* a, const float* b, float k, float p, float q,
                                float* out) {
    for (int64_t n = 0; n < L.n; ++n) {
        const int64_t o = (n * L.c + c) * L.s;
        if (b) {
#pragma omp simd
            for (int64_t i = 0; i < L.s; ++i) out[o + i] = a[o + i] * k + b[o + i] * p + q;
        } else {
#pragma omp simd
            for (int64_t i = 0; i < L.s; ++i) out[o + i] = norm_act<A>(a[o + i] * k + q);
        }
    }
}

// The row versions, for [N, C] (S = 1) and channels-last tensors: L.n rows of L.c channels, the channel as the
// vector index. Threads split the rows, not the channels: each streams its own block of memory with full-width
// vectors. Each thread sums blocks of kBlock rows in float, adds them into its own double sums, and the threads'
// sums are added in thread order (the result depends on the thread count, not on timing). g and g_out as plane_sums,
// with per-channel scale and shift.
// Rows [r0, r1) of row_sums into da, dab (fa, fab: [C] float scratch).
template <NormAct A>
NB_CPU_CLONES void row_block_sums(const Layout& L, int64_t r0, int64_t r1, const float* a, const float* fka,
                                  const float* b, const float* fkb, const float* scale, const float* shift,
                                  float* g_out, float* fa, float* fab, double* da, double* dab) {
    for (int64_t n0 = r0; n0 < r1; n0 += kBlock) {
        std::fill(fa, fa + L.c, 0.0f);
        std::fill(fab, fab + L.c, 0.0f);
        for (int64_t n = n0; n < std::min(r1, n0 + kBlock); ++n) {
            const float* ra = a + n * L.c;
            const float* rb = b + n * L.c;
            float* rg = g_out ? g_out + n * L.c : nullptr;
#pragma omp simd
            for (int64_t c = 0; c < L.c; ++c) {
                float ac = ra[c];
                if constexpr (A != NormAct::None) ac = summand<A>(ac, rb[c], scale[c], shift[c], rg + c);
                ac -= fka[c];
                fa[c] += ac;
                fab[c] += ac * (rb[c] - fkb[c]);
            }
        }
        for (int64_t c = 0; c < L.c; ++c) da[c] += fa[c], dab[c] += fab[c];
    }
}

template <NormAct A>
void row_sums(const Layout& L, const float* a, const double* ka, const float* b, const double* kb, double* s_a,
              double* s_ab, const float* scale = nullptr, const float* shift = nullptr, float* g_out = nullptr) {
    const size_t C = static_cast<size_t>(L.c);
    const int nt = L.grain(L.n) == 0 ? num_threads() : 1;
    std::vector<double> partial(2 * C * static_cast<size_t>(nt), 0.0);
    std::vector<float> fka(C), fkb(C);
    for (size_t c = 0; c < C; ++c) fka[c] = static_cast<float>(ka[c]), fkb[c] = static_cast<float>(kb[c]);
    parallel_for(0, nt, 1, [&](int64_t t0, int64_t t1) {  // one block of rows per thread; inline when nt = 1
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t rows = (L.n + nt - 1) / nt, r0 = t * rows, r1 = std::min(L.n, r0 + rows);
            double* da = partial.data() + 2 * C * static_cast<size_t>(t);
            std::vector<float> fa(C), fab(C);
            row_block_sums<A>(L, r0, r1, a, fka.data(), b, fkb.data(), scale, shift, g_out, fa.data(), fab.data(), da,
                              da + C);
        }
    });
    std::fill(s_a, s_a + L.c, 0.0);
    std::fill(s_ab, s_ab + L.c, 0.0);
    for (int t = 0; t < nt; ++t)
        for (size_t c = 0; c < C; ++c) s_a[c] += partial[2 * C * t + c], s_ab[c] += partial[2 * C * t + C + c];
}

// out = a * k + b * p + q row by row (b null: out = act(a * k + q), the forward), k, p, q per channel.
template <NormAct A>
NB_CPU_CLONES void affine_rows(const Layout& L, int64_t n0, int64_t n1, const float* a, const float* b, const float* k,
                               const float* p, const float* q, float* out) {
    for (int64_t n = n0; n < n1; ++n) {
        const float* ra = a + n * L.c;
        float* ro = out + n * L.c;
        if (b) {
            const float* rb = b + n * L.c;
#pragma omp simd
            for (int64_t c = 0; c < L.c; ++c) ro[c] = ra[c] * k[c] + rb[c] * p[c] + q[c];
        } else {
#pragma omp simd
            for (int64_t c = 0; c < L.c; ++c) ro[c] = norm_act<A>(ra[c] * k[c] + q[c]);
        }
    }
}

template <NormAct A>
void row_affine(const Layout& L, const float* a, const float* b, const float* k, const float* p, const float* q,
                float* out) {
    parallel_for(0, L.n, L.grain(L.n), [&](int64_t n0, int64_t n1) { affine_rows<A>(L, n0, n1, a, b, k, p, q, out); });
}

}  // namespace

BatchNormResult CpuBackend::batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                       const Tensor& running_mean, const Tensor& running_var, bool training,
                                       double momentum, double eps, NormAct act) {
    if (x.dtype() != kFloat32 || !dense(x))
        return ReferenceBackend::batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps, act);
    const Layout L = layout_of(x);
    const size_t C = static_cast<size_t>(L.c);
    const double count = static_cast<double>(L.n * L.s);
    const float* px = x.data_ptr<float>();
    const float* pw = weight.defined() ? weight.data_ptr<float>() : nullptr;
    const float* pb = bias.defined() ? bias.data_ptr<float>() : nullptr;
    float* rm = running_mean.defined() ? running_mean.data_ptr<float>() : nullptr;
    float* rv = running_var.defined() ? running_var.data_ptr<float>() : nullptr;
    const int64_t rm_stride = rm ? running_mean.stride(0) : 0, rv_stride = rv ? running_var.stride(0) : 0;
    Tensor y = make_tensor(x.shape(), kFloat32, x.device(), x.suggest_memory_format());
    Tensor save_mean = make_tensor({L.c}, kFloat32, x.device());
    Tensor save_invstd = make_tensor({L.c}, kFloat32, x.device());
    float* py = y.data_ptr<float>();
    std::vector<float> scale(C), shift(C);

    // From channel c's statistics: running-stat update, saved mean/invstd, and the affine map of the output.
    auto finish_channel = [&](int64_t c, double mean, double var) {
        if (training && rm) {
            rm[c * rm_stride] = static_cast<float>((1 - momentum) * rm[c * rm_stride] + momentum * mean);
            const double unbiased = var * count / (count - 1);
            rv[c * rv_stride] = static_cast<float>((1 - momentum) * rv[c * rv_stride] + momentum * unbiased);
        }
        const float mean_f = static_cast<float>(mean), invstd_f = static_cast<float>(1 / std::sqrt(var + eps));
        save_mean.data_ptr<float>()[c] = mean_f;
        save_invstd.data_ptr<float>()[c] = invstd_f;
        const Affine f = affine_of(pw, pb, c, mean_f, invstd_f);
        scale[c] = f.scale;
        shift[c] = f.shift;
    };
    auto eval_channel = [&](int64_t c) { finish_channel(c, rm[c * rm_stride], rv[c * rv_stride]); };

    if (L.s == 1) {  // [N, C] or channels-last
        if (training) {
            std::vector<double> k(C), s1(C), s2(C);
            for (size_t c = 0; c < C && L.n > 0; ++c) k[c] = px[c];
            row_sums<NormAct::None>(L, px, k.data(), px, k.data(), s1.data(), s2.data());
            for (size_t c = 0; c < C; ++c) {
                const double d = s1[c] / count;
                finish_channel(static_cast<int64_t>(c), k[c] + d, std::max(s2[c] / count - d * d, 0.0));
            }
        } else {
            for (int64_t c = 0; c < L.c; ++c) eval_channel(c);
        }
        visit_norm_act(act,
                       [&]<NormAct A>() { row_affine<A>(L, px, nullptr, scale.data(), nullptr, shift.data(), py); });
        return {y, save_mean, save_invstd};
    }
    parallel_for(0, L.c, L.grain(L.c), [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            if (training) {
                const float k = L.n > 0 ? px[c * L.s] : 0.0f;  // x[0, c, 0]
                double s1 = 0, s2 = 0;
                plane_sums<NormAct::None>(L, c, px, k, px, k, s1, s2);
                const double d = s1 / count;
                finish_channel(c, k + d, std::max(s2 / count - d * d, 0.0));
            } else {
                eval_channel(c);
            }
            visit_norm_act(act, [&]<NormAct A>() {  // the channel is still in cache
                plane_affine<A>(L, c, px, nullptr, scale[c], 0.0f, shift[c], py);
            });
        }
    });
    return {y, save_mean, save_invstd};
}

BatchNormGrads CpuBackend::batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight,
                                               const Tensor& bias, const Tensor& save_mean, const Tensor& save_invstd,
                                               bool training, NormAct act, std::array<bool, 3> needs) {
    if (x.dtype() != kFloat32 || !dense(x) || gy.strides() != x.strides())
        return ReferenceBackend::batch_norm_backward(gy, x, weight, bias, save_mean, save_invstd, training, act, needs);
    const Layout L = layout_of(x);
    const size_t C = static_cast<size_t>(L.c);
    const double count = static_cast<double>(L.n * L.s);
    const float* pgy = gy.data_ptr<float>();
    const float* px = x.data_ptr<float>();
    const float* pw = weight.defined() ? weight.data_ptr<float>() : nullptr;
    const float* pb = bias.defined() ? bias.data_ptr<float>() : nullptr;
    const float* pm = save_mean.data_ptr<float>();
    const float* pi = save_invstd.data_ptr<float>();
    BatchNormGrads g;
    if (needs[0]) g.input = make_tensor(x.shape(), kFloat32, x.device(), x.suggest_memory_format());
    if (needs[1]) g.weight = make_tensor({L.c}, kFloat32, x.device());
    if (needs[2]) g.bias = make_tensor({L.c}, kFloat32, x.device());
    float* pgx = needs[0] ? g.input.data_ptr<float>() : nullptr;
    const bool fused = act != NormAct::None;
    // With an activation, the sums pass also makes gz (into gx's buffer, or a scratch tensor), which replaces gy.
    Tensor scratch = fused && !pgx ? make_tensor(x.shape(), kFloat32, x.device(), x.suggest_memory_format()) : Tensor();
    float* gz = !fused ? nullptr : pgx ? pgx : scratch.data_ptr<float>();
    const float* ga = fused ? gz : pgy;  // what the affine pass maps to gx
    const bool need_sums = fused || needs[1] || needs[2] || (needs[0] && training);
    const float* b = training ? px : nullptr;  // gx depends on x only in training
    std::vector<float> k(C), p(C, 0.0f), q(C, 0.0f), scale(C), shift(C);
    for (int64_t c = 0; c < L.c && fused; ++c) {
        const Affine f = affine_of(pw, pb, c, pm[c], pi[c]);
        scale[static_cast<size_t>(c)] = f.scale;
        shift[static_cast<size_t>(c)] = f.shift;
    }

    // From channel c's sums Σgy and Σgy(x - mean): the parameter gradients and gx's affine constants.
    auto finish_channel = [&](int64_t c, double sum_gy, double sum_gy_xmu) {
        const double invstd = pi[c], kc = (pw ? pw[c] : 1.0) * invstd;
        if (needs[1]) g.weight.data_ptr<float>()[c] = static_cast<float>(sum_gy_xmu * invstd);
        if (needs[2]) g.bias.data_ptr<float>()[c] = static_cast<float>(sum_gy);
        const double pc = training ? -kc * invstd * invstd * sum_gy_xmu / count : 0.0;
        k[c] = static_cast<float>(kc);
        p[c] = static_cast<float>(pc);
        q[c] = static_cast<float>(training ? -pc * pm[c] - kc * sum_gy / count : 0.0);
    };

    if (L.s == 1) {  // [N, C] or channels-last
        std::vector<double> s1(C, 0.0), s2(C, 0.0), zero(C, 0.0), mean(pm, pm + L.c);
        if (need_sums)
            visit_norm_act(act, [&]<NormAct A>() {
                row_sums<A>(L, pgy, zero.data(), px, mean.data(), s1.data(), s2.data(), scale.data(), shift.data(), gz);
            });
        for (size_t c = 0; c < C; ++c) finish_channel(static_cast<int64_t>(c), s1[c], s2[c]);
        if (pgx) row_affine<NormAct::None>(L, ga, b, k.data(), p.data(), q.data(), pgx);
        return g;
    }
    parallel_for(0, L.c, L.grain(L.c), [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            double s1 = 0, s2 = 0;
            if (need_sums)
                visit_norm_act(act, [&]<NormAct A>() {
                    plane_sums<A>(L, c, pgy, 0.0f, px, pm[c], s1, s2, {scale[c], shift[c]}, gz);
                });
            finish_channel(c, s1, s2);
            if (pgx) plane_affine<NormAct::None>(L, c, ga, b, k[c], p[c], q[c], pgx);  // still in cache
        }
    });
    return g;
}

}  // namespace nabla
