// backends/cpu/interpolate.cpp — upsample and upsample_backward (F.interpolate) for float32, as separable passes
// over precomputed per-row and per-column taps (backends/common/interpolate_math.h, the same math as the reference).
//   forward, per output row oy (parallel over N*C*out_h rows):
//     tmp[w]  = sum_a wy[oy][a] * x[iy[oy][a]][w]          vertical pass, contiguous, vectorised
//     y[ox]   = sum_b wx[ox][b] * tmp[ix[ox][b]]           horizontal pass, a gather of K = 1, 2 or 4 taps
//   backward, per plane (parallel over N*C planes, each owned by one thread): the two passes transposed,
//     tmp[ix[ox][b]] += wx[ox][b] * gy[oy][ox],  then  gx[iy[oy][a]][w] += wy[oy][a] * tmp[w]
// float64 and anything else go to the reference kernels.
#include <vector>

#include "backends/common/interpolate_math.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"
#include "core/factory.h"

namespace nabla {
namespace {

constexpr int64_t kGrain = 1 << 14;  // elements of work per parallel chunk, at least

// One axis's taps laid out flat: K per output index, taps of index d at [d*K, d*K + K).
struct AxisTaps {
    int K;
    std::vector<int64_t> idx;
    std::vector<float> w;
};

AxisTaps axis_taps(const UpsampleParams& p, double r, int64_t in, int64_t out) {
    const int K = p.mode == InterpolateMode::Nearest ? 1 : p.mode == InterpolateMode::Bilinear ? 2 : 4;
    AxisTaps t{K, std::vector<int64_t>(out * K), std::vector<float>(out * K)};
    for (int64_t d = 0; d < out; ++d) {
        const UpsampleTaps<float> u = upsample_taps<float>(p.mode, r, d, in, out, p.align_corners);
        for (int k = 0; k < K; ++k) t.idx[d * K + k] = u.idx[k], t.w[d * K + k] = u.w[k];
    }
    return t;
}

// y[ox] = sum_b w[ox*K + b] * row[idx[ox*K + b]], with K a compile-time constant so the tap loop unrolls.
template <int K>
void gather_row(const float* row, const AxisTaps& tx, float* y, int64_t out_w) {
    const int64_t* ix = tx.idx.data();
    const float* wx = tx.w.data();
    for (int64_t ox = 0; ox < out_w; ++ox) {
        float acc = 0.f;
        for (int b = 0; b < K; ++b) acc += wx[ox * K + b] * row[ix[ox * K + b]];
        y[ox] = acc;
    }
}

// The transpose of gather_row: row[idx[ox*K + b]] += w[ox*K + b] * g[ox].
template <int K>
void scatter_row(const float* g, const AxisTaps& tx, float* row, int64_t out_w) {
    const int64_t* ix = tx.idx.data();
    const float* wx = tx.w.data();
    for (int64_t ox = 0; ox < out_w; ++ox)
        for (int b = 0; b < K; ++b) row[ix[ox * K + b]] += wx[ox * K + b] * g[ox];
}

template <class F>
void with_taps(int K, F&& f) {
    if (K == 1) f.template operator()<1>();
    else if (K == 2) f.template operator()<2>();
    else f.template operator()<4>();
}

}  // namespace

Tensor CpuBackend::upsample(const Tensor& x, const UpsampleParams& p) {
    if (x.dtype() != kFloat32) return ReferenceBackend::upsample(x, p);
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), OH = p.out_h, OW = p.out_w;
    Tensor y = make_tensor({N, C, OH, OW}, x.dtype(), x.device());  // [N, C, OH, OW]
    const AxisTaps ty = axis_taps(p, p.scale_h, H, OH), tx = axis_taps(p, p.scale_w, W, OW);
    const float* px = x.data_ptr<float>();
    float* py = y.data_ptr<float>();
    const int64_t grain = std::max<int64_t>(1, kGrain / (OW * tx.K + W * ty.K));
    parallel_for(0, N * C * OH, grain, [&](int64_t begin, int64_t end) {
        std::vector<float> tmp(W);
        with_taps(tx.K, [&]<int KX>() {
            for (int64_t r = begin; r < end; ++r) {
                const int64_t nc = r / OH, oy = r % OH;
                const float* src = px + nc * H * W;  // the [H, W] plane
                const int64_t* iy = &ty.idx[oy * ty.K];
                const float* wy = &ty.w[oy * ty.K];
                const float* row = src + iy[0] * W;  // nearest: the source row itself
                if (ty.K > 1) {
                    float* t = tmp.data();
                    const float* r0 = row;
                    const float w0 = wy[0];
#pragma omp simd
                    for (int64_t w = 0; w < W; ++w) t[w] = w0 * r0[w];
                    for (int a = 1; a < ty.K; ++a) {
                        const float* ra = src + iy[a] * W;
                        const float wa = wy[a];
#pragma omp simd
                        for (int64_t w = 0; w < W; ++w) t[w] += wa * ra[w];
                    }
                    row = t;
                }
                gather_row<KX>(row, tx, py + r * OW, OW);
            }
        });
    });
    return y;
}

Tensor CpuBackend::upsample_backward(const Tensor& gy, const Shape& x_shape, const UpsampleParams& p) {
    if (gy.dtype() != kFloat32) return ReferenceBackend::upsample_backward(gy, x_shape, p);
    const int64_t N = x_shape[0], C = x_shape[1], H = x_shape[2], W = x_shape[3], OH = p.out_h, OW = p.out_w;
    Tensor gx = zeros(x_shape, gy.options());  // [N, C, H, W]
    const AxisTaps ty = axis_taps(p, p.scale_h, H, OH), tx = axis_taps(p, p.scale_w, W, OW);
    const float* pg = gy.data_ptr<float>();
    float* pgx = gx.data_ptr<float>();
    const int64_t grain = std::max<int64_t>(1, kGrain / (OH * (OW * tx.K + W * ty.K)));
    parallel_for(0, N * C, grain, [&](int64_t begin, int64_t end) {
        std::vector<float> tmp(W);
        with_taps(tx.K, [&]<int KX>() {
            for (int64_t nc = begin; nc < end; ++nc) {
                float* dst = pgx + nc * H * W;  // this thread's [H, W] plane
                for (int64_t oy = 0; oy < OH; ++oy) {
                    std::fill(tmp.begin(), tmp.end(), 0.f);
                    scatter_row<KX>(pg + (nc * OH + oy) * OW, tx, tmp.data(), OW);
                    const float* t = tmp.data();
                    for (int a = 0; a < ty.K; ++a) {
                        float* ra = dst + ty.idx[oy * ty.K + a] * W;
                        const float wa = ty.w[oy * ty.K + a];
#pragma omp simd
                        for (int64_t w = 0; w < W; ++w) ra[w] += wa * t[w];
                    }
                }
            }
        });
    });
    return gx;
}

}  // namespace nabla
