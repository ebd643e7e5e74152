// backends/cpu/interpolate.cpp — upsample and upsample_backward (F.interpolate) for float32, as two separable passes
// over precomputed per-row and per-column taps (backends/common/interpolate_math.h, the same math as the reference):
// a vertical pass (a weighted sum of K whole rows: contiguous, vectorised) and a horizontal one (a gather of K taps
// per pixel). The gathers are the cost, so the order is chosen to run them on the smaller of H and out_h rows:
//   forward (parallel over the N*C*out_h output rows):
//     out_h <= H:  tmp = sum_a wy[a] x[iy[a]]  then  y[oy][ox] = sum_b wx[b] tmp[ix[b]]
//     out_h >  H:  each input row resampled horizontally once into a ring of K rows, then y[oy] = sum_a wy[a] ring[a]
//   backward (parallel over the N*C planes): the transposed passes in reverse order, as gathers over the transposed
//     taps (for each input index, the outputs that read it), so every sum stays in a register.
// A channels-last map runs as rows of C channels instead (upsample_nhwc). float64 and anything else go to the
// reference kernels.
#include <cstring>
#include <vector>

#include "backends/common/interpolate_math.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

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

// The transpose of an axis's taps, in CSR form: the (output index, weight) pairs that read input index i are
// [begin[i], begin[i+1]) of out/w, in increasing output order. Clamped border taps appear once per tap.
struct TransposedTaps {
    std::vector<int64_t> begin, out;
    std::vector<float> w;
};

TransposedTaps transpose(const AxisTaps& t, int64_t in, int64_t out) {
    const int64_t n = out * t.K;
    TransposedTaps r{std::vector<int64_t>(in + 1, 0), std::vector<int64_t>(n), std::vector<float>(n)};
    for (int64_t j = 0; j < n; ++j) ++r.begin[t.idx[j] + 1];
    for (int64_t i = 0; i < in; ++i) r.begin[i + 1] += r.begin[i];
    std::vector<int64_t> next(r.begin.begin(), r.begin.end() - 1);
    for (int64_t j = 0; j < n; ++j) {
        const int64_t pos = next[t.idx[j]]++;
        r.out[pos] = j / t.K, r.w[pos] = t.w[j];
    }
    return r;
}

// Horizontal pass: y[ox] = sum_b w[ox*K + b] * row[idx[ox*K + b]], K a compile-time constant so the tap loop unrolls.
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

// Its transpose: h[w] = sum over the outputs ox that read column w of wt * g[ox].
void gather_row_t(const float* g, const TransposedTaps& tx, float* h, int64_t w_in) {
    for (int64_t w = 0; w < w_in; ++w) {
        float acc = 0.f;
        for (int64_t j = tx.begin[w]; j < tx.begin[w + 1]; ++j) acc += tx.w[j] * g[tx.out[j]];
        h[w] = acc;
    }
}

// Vertical pass: dst[i] = sum_k wt[k] * rows[k][i] over n contiguous elements.
template <class RowAt>
void blend_rows(int64_t count, RowAt&& row_at, float* dst, int64_t n) {
    std::fill(dst, dst + n, 0.f);
    for (int64_t k = 0; k < count; ++k) {
        const auto tap = row_at(k);  // (not a structured binding: clang 14 cannot use one inside an omp simd loop)
        const auto src = std::get<0>(tap);
        const auto wt = std::get<1>(tap);
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) dst[i] += wt * src[i];
    }
}

template <class F>
void with_taps(int K, F&& f) {
    if (K == 1)
        f.template operator()<1>();
    else if (K == 2)
        f.template operator()<2>();
    else
        f.template operator()<4>();
}

// Channels-last: each output pixel is the weighted sum of its K x K source pixels, rows of C channels (the inner loop
// vectorises; nearest is a copy of one row). Parallel over output pixels.
Tensor upsample_nhwc(const Tensor& x, const UpsampleParams& p) {
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), OH = p.out_h, OW = p.out_w;
    Tensor y = make_tensor({N, C, OH, OW}, kFloat32, x.device(), MemoryFormat::ChannelsLast);
    const AxisTaps ty = axis_taps(p, p.scale_h, H, OH), tx = axis_taps(p, p.scale_w, W, OW);
    const int K = ty.K;
    const float* px = x.data_ptr<float>();
    float* py = y.data_ptr<float>();
    parallel_for(0, N * OH * OW, std::max<int64_t>(1, kGrain / (C * K * K)), [&](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
            const int64_t n = o / (OH * OW), oy = o / OW % OH, ox = o % OW;
            float* yo = py + o * C;
            if (K == 1) {
                std::memcpy(yo, px + ((n * H + ty.idx[oy]) * W + tx.idx[ox]) * C, static_cast<size_t>(C) * 4);
                continue;
            }
            for (int64_t c = 0; c < C; ++c) yo[c] = 0.0f;
            for (int a = 0; a < K; ++a)
                for (int b = 0; b < K; ++b) {
                    const float wgt = ty.w[oy * K + a] * tx.w[ox * K + b];
                    const float* xi = px + ((n * H + ty.idx[oy * K + a]) * W + tx.idx[ox * K + b]) * C;
                    for (int64_t c = 0; c < C; ++c) yo[c] += wgt * xi[c];
                }
        }
    });
    return y;
}

// Channels-last backward, parallel over input rows (n, iy): the outputs oy that read row iy (the transposed row
// taps) scatter their weighted pixels into it, so each row is written by one thread only.
Tensor upsample_nhwc_backward(const Tensor& gy, const Shape& x_shape, const UpsampleParams& p) {
    const int64_t N = x_shape[0], C = x_shape[1], H = x_shape[2], W = x_shape[3], OH = p.out_h, OW = p.out_w;
    Tensor gx = make_tensor(x_shape, kFloat32, gy.device(), MemoryFormat::ChannelsLast);
    const AxisTaps ty = axis_taps(p, p.scale_h, H, OH), tx = axis_taps(p, p.scale_w, W, OW);
    const TransposedTaps rows = transpose(ty, H, OH);
    const int KX = tx.K;
    const float* pg = gy.data_ptr<float>();
    float* pgx = gx.data_ptr<float>();
    parallel_for(0, N * H, 1, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const int64_t n = r / H, iy = r % H;
            float* row = pgx + r * W * C;
            std::memset(row, 0, static_cast<size_t>(W * C) * sizeof(float));
            for (int64_t k = rows.begin[iy]; k < rows.begin[iy + 1]; ++k) {
                const int64_t oy = rows.out[k];
                const float wy = rows.w[k];
                for (int64_t ox = 0; ox < OW; ++ox) {
                    const float* g = pg + ((n * OH + oy) * OW + ox) * C;
                    for (int b = 0; b < KX; ++b) {
                        const float wgt = wy * tx.w[ox * KX + b];
                        float* dst = row + tx.idx[ox * KX + b] * C;
                        for (int64_t c = 0; c < C; ++c) dst[c] += wgt * g[c];
                    }
                }
            }
        }
    });
    return gx;
}

}  // namespace

Tensor CpuBackend::upsample(const Tensor& x, const UpsampleParams& p) {
    if (x.dtype() != kFloat32) return ReferenceBackend::upsample(x, p);
    if (!x.is_contiguous()) return upsample_nhwc(x, p);  // channels-last
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), OH = p.out_h, OW = p.out_w;
    Tensor y = make_tensor({N, C, OH, OW}, x.dtype(), x.device());  // [N, C, OH, OW]
    const AxisTaps ty = axis_taps(p, p.scale_h, H, OH), tx = axis_taps(p, p.scale_w, W, OW);
    const int K = ty.K;
    const bool rows_first = OH > H;  // resample input rows first: fewer gathers when upsampling in H
    const float* px = x.data_ptr<float>();
    float* py = y.data_ptr<float>();
    parallel_for(0, N * C * OH, std::max<int64_t>(1, kGrain / (OW * tx.K + W * K)), [&](int64_t begin, int64_t end) {
        std::vector<float> tmp(rows_first ? K * OW : W);  // the ring of K resampled rows, or one blended row
        std::vector<int64_t> held(K, -1);                 // ring slot -> nc*H + iy of the row it holds
        with_taps(tx.K, [&]<int KX>() {
            for (int64_t r = begin; r < end; ++r) {
                const int64_t nc = r / OH, oy = r % OH;
                const float* src = px + nc * H * W;  // the [H, W] plane
                const int64_t* iy = &ty.idx[oy * K];
                const float* wy = &ty.w[oy * K];
                if (rows_first) {
                    // The K taps of a row are distinct consecutive rows (or repeats of one), so iy % K never collides.
                    for (int a = 0; a < K; ++a) {
                        const int64_t slot = iy[a] % K;
                        if (held[slot] == nc * H + iy[a]) continue;
                        gather_row<KX>(src + iy[a] * W, tx, &tmp[slot * OW], OW);
                        held[slot] = nc * H + iy[a];
                    }
                    blend_rows(
                        K, [&](int64_t a) { return std::pair(&tmp[(iy[a] % K) * OW], wy[a]); }, py + r * OW, OW);
                } else if (K == 1) {
                    gather_row<KX>(src + iy[0] * W, tx, py + r * OW, OW);  // nearest: the source row itself
                } else {
                    blend_rows(
                        K, [&](int64_t a) { return std::pair(src + iy[a] * W, wy[a]); }, tmp.data(), W);
                    gather_row<KX>(tmp.data(), tx, py + r * OW, OW);
                }
            }
        });
    });
    return y;
}

Tensor CpuBackend::upsample_backward(const Tensor& gy, const Shape& x_shape, const UpsampleParams& p) {
    if (gy.dtype() != kFloat32) return ReferenceBackend::upsample_backward(gy, x_shape, p);
    if (!gy.is_contiguous()) return upsample_nhwc_backward(gy, x_shape, p);  // channels-last
    const int64_t N = x_shape[0], C = x_shape[1], H = x_shape[2], W = x_shape[3], OH = p.out_h, OW = p.out_w;
    Tensor gx = make_tensor(x_shape, gy.dtype(), gy.device());  // [N, C, H, W], every element written once
    const AxisTaps ty = axis_taps(p, p.scale_h, H, OH), tx = axis_taps(p, p.scale_w, W, OW);
    const TransposedTaps rows = transpose(ty, H, OH), cols = transpose(tx, W, OW);
    const bool rows_first = OH > H;  // the transpose of the forward's order: reduce gy's rows first
    const float* pg = gy.data_ptr<float>();
    float* pgx = gx.data_ptr<float>();
    // the sum over the outputs oy that read input row iy of wt * plane[oy], n elements wide
    auto reduce_rows = [&](const float* plane, int64_t n, int64_t iy, float* dst) {
        blend_rows(
            rows.begin[iy + 1] - rows.begin[iy],
            [&](int64_t k) { return std::pair(plane + rows.out[rows.begin[iy] + k] * n, rows.w[rows.begin[iy] + k]); },
            dst, n);
    };
    parallel_for(
        0, N * C, std::max<int64_t>(1, kGrain / (OH * (OW * tx.K + W * ty.K))), [&](int64_t begin, int64_t end) {
            std::vector<float> buf(rows_first ? H * OW : OH * W);  // gy with one axis reduced: [H, OW] or [OH, W]
            for (int64_t nc = begin; nc < end; ++nc) {
                const float* g = pg + nc * OH * OW;  // [OH, OW]
                float* dst = pgx + nc * H * W;       // [H, W]
                if (rows_first) {
                    for (int64_t iy = 0; iy < H; ++iy) reduce_rows(g, OW, iy, &buf[iy * OW]);
                    for (int64_t iy = 0; iy < H; ++iy) gather_row_t(&buf[iy * OW], cols, dst + iy * W, W);
                } else {
                    for (int64_t oy = 0; oy < OH; ++oy) gather_row_t(g + oy * OW, cols, &buf[oy * W], W);
                    for (int64_t iy = 0; iy < H; ++iy) reduce_rows(buf.data(), W, iy, dst + iy * W);
                }
            }
        });
    return gx;
}

}  // namespace nabla
