// backends/cpu/unfold.cpp — im2col and col2im (F.unfold / F.fold) for float32, parallel over the N*C planes.
//   x: [N, C, H, W] <-> cols: [N, C*kh*kw, L]; the kh*kw rows of plane (n, c) are contiguous in cols, so each
//   thread owns whole planes on both sides and col2im needs no atomics.
// For each kernel tap (a, b) the range of block rows oy and block columns ox that land inside the image is computed
// once, so the inner loops have no bounds checks: a contiguous copy when stride_w = 1, a strided one otherwise,
// and zero fill for the padding. float64 and anything else go to the reference kernels.
#include <algorithm>
#include <cstring>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace nabla {
namespace {

constexpr int64_t kGrain = 1 << 15;  // column entries per parallel chunk, at least

// [lo, hi): the block indices o in [0, n) whose pixel o*s + off lies in [0, size).
struct Range {
    int64_t lo, hi;
};
Range inside(int64_t n, int64_t s, int64_t off, int64_t size) {
    int64_t lo = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t hi = size - 1 - off < 0 ? 0 : (size - 1 - off) / s + 1;
    lo = std::min(lo, n);
    hi = std::clamp(hi, lo, n);
    return {lo, hi};
}

struct Geometry {
    int64_t N, C, H, W, kh, kw, OH, OW;
};

Geometry geometry(int64_t N, int64_t C, int64_t H, int64_t W, const UnfoldOptions& o) {
    auto blocks = [](int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
        return (in + 2 * p - d * (k - 1) - 1) / s + 1;
    };
    return {N,
            C,
            H,
            W,
            o.kernel_size.h,
            o.kernel_size.w,
            blocks(H, o.kernel_size.h, o.stride.h, o.padding.h, o.dilation.h),
            blocks(W, o.kernel_size.w, o.stride.w, o.padding.w, o.dilation.w)};
}

}  // namespace

Tensor CpuBackend::im2col(const Tensor& x, const UnfoldOptions& o) {
    if (x.dtype() != kFloat32) return ReferenceBackend::im2col(x, o);
    const Geometry g = geometry(x.size(0), x.size(1), x.size(2), x.size(3), o);
    const int64_t L = g.OH * g.OW, kk = g.kh * g.kw;
    Tensor cols = make_tensor({g.N, g.C * kk, L}, x.dtype(), x.device());  // [N, C*kh*kw, L]
    const float* px = x.data_ptr<float>();
    float* pc = cols.data_ptr<float>();
    const int64_t sh = o.stride.h, sw = o.stride.w;
    parallel_for(0, g.N * g.C, std::max<int64_t>(1, kGrain / (kk * L)), [&](int64_t begin, int64_t end) {
        for (int64_t nc = begin; nc < end; ++nc) {
            const float* src = px + nc * g.H * g.W;  // plane (n, c)
            for (int64_t a = 0; a < g.kh; ++a)
                for (int64_t b = 0; b < g.kw; ++b) {
                    float* dst = pc + (nc * kk + a * g.kw + b) * L;  // row c*kh*kw + a*kw + b of image n: [OH, OW]
                    const int64_t offy = a * o.dilation.h - o.padding.h, offx = b * o.dilation.w - o.padding.w;
                    const Range ry = inside(g.OH, sh, offy, g.H), rx = inside(g.OW, sw, offx, g.W);
                    std::fill(dst, dst + ry.lo * g.OW, 0.f);
                    std::fill(dst + ry.hi * g.OW, dst + L, 0.f);
                    for (int64_t oy = ry.lo; oy < ry.hi; ++oy) {
                        float* out = dst + oy * g.OW;
                        const float* in =
                            src + (oy * sh + offy) * g.W;  // image row iy; block ox reads in[ox*sw + offx]
                        std::fill(out, out + rx.lo, 0.f);
                        std::fill(out + rx.hi, out + g.OW, 0.f);
                        if (sw == 1) {
                            std::memcpy(out + rx.lo, in + rx.lo + offx, sizeof(float) * (rx.hi - rx.lo));
                        } else {
                            for (int64_t ox = rx.lo; ox < rx.hi; ++ox) out[ox] = in[ox * sw + offx];
                        }
                    }
                }
        }
    });
    return cols;
}

Tensor CpuBackend::col2im(const Tensor& cols, Int2 output_size, const UnfoldOptions& o) {
    if (cols.dtype() != kFloat32) return ReferenceBackend::col2im(cols, output_size, o);
    const int64_t kk = o.kernel_size.h * o.kernel_size.w;
    const Geometry g = geometry(cols.size(0), cols.size(1) / kk, output_size.h, output_size.w, o);
    const int64_t L = g.OH * g.OW;
    Tensor x = kernel::zeros({g.N, g.C, g.H, g.W}, cols.options());  // [N, C, H, W]
    const float* pc = cols.data_ptr<float>();
    float* px = x.data_ptr<float>();
    const int64_t sh = o.stride.h, sw = o.stride.w;
    parallel_for(0, g.N * g.C, std::max<int64_t>(1, kGrain / (kk * L)), [&](int64_t begin, int64_t end) {
        for (int64_t nc = begin; nc < end; ++nc) {
            float* dst = px + nc * g.H * g.W;  // plane (n, c), owned by this thread
            for (int64_t a = 0; a < g.kh; ++a)
                for (int64_t b = 0; b < g.kw; ++b) {
                    const float* src = pc + (nc * kk + a * g.kw + b) * L;
                    const int64_t offy = a * o.dilation.h - o.padding.h, offx = b * o.dilation.w - o.padding.w;
                    const Range ry = inside(g.OH, sh, offy, g.H), rx = inside(g.OW, sw, offx, g.W);
                    for (int64_t oy = ry.lo; oy < ry.hi; ++oy) {
                        const float* in = src + oy * g.OW;
                        float* out = dst + (oy * sh + offy) * g.W;  // image row iy; block ox adds to out[ox*sw + offx]
                        if (sw == 1) {
#pragma omp simd
                            for (int64_t ox = rx.lo; ox < rx.hi; ++ox) out[ox + offx] += in[ox];
                        } else {
                            for (int64_t ox = rx.lo; ox < rx.hi; ++ox) out[ox * sw + offx] += in[ox];
                        }
                    }
                }
        }
    });
    return x;
}

}  // namespace nabla
