// ops/pixel_shuffle.cpp — torch.nn.functional.pixel_shuffle and pixel_unshuffle, composed of views (no kernel).
//   pixel_shuffle:   x [*, C*r*r, H, W] -> y [*, C, H*r, W*r]
//                    y[..][c][h*r + i][w*r + j] = x[..][c*r*r + i*r + j][h][w]
//   pixel_unshuffle: the inverse permutation (docs/ops_semantics.md §5).
// Both are reshape -> permute -> reshape (the last reshape copies); those views record their own gradients, so the
// backward (the inverse permutation) needs no code here.
#include "ops/pixel_shuffle.h"

#include "core/trace/trace.h"

namespace nabla {

namespace {

// The leading batch dims [*] of a [*, C, H, W] tensor followed by `tail`.
Shape batch_then(const Tensor& x, std::initializer_list<int64_t> tail) {
    Shape s(x.shape().begin(), x.shape().end() - 3);
    s.insert(s.end(), tail);
    return s;
}

// The permutation that keeps the batch dims and applies `tail` (indices relative to the first non-batch dim).
Shape permutation(int64_t batch, std::initializer_list<int64_t> tail) {
    Shape p;
    for (int64_t i = 0; i < batch; ++i) p.push_back(i);
    for (int64_t t : tail) p.push_back(batch + t);
    return p;
}

}  // namespace

Tensor pixel_shuffle(const Tensor& x, int64_t r) {
    trace::OpScope ts("pixel_shuffle", x);
    NB_CHECK_VALUE(r > 0, "pixel_shuffle: upscale_factor must be positive, got ", r);
    NB_CHECK(x.dim() >= 3 && x.size(-3) % (r * r) == 0, "pixel_shuffle: expected [*, C*", r * r,
             ", H, W] (channels divisible by upscale_factor^2 = ", r * r, "), got ", x.shape());
    const int64_t c = x.size(-3) / (r * r), h = x.size(-2), w = x.size(-1), nb = x.dim() - 3;
    return x
        .reshape(batch_then(x, {c, r, r, h, w}))     // [*, C, r, r, H, W]
        .permute(permutation(nb, {0, 3, 1, 4, 2}))   // [*, C, H, r, W, r]
        .reshape(batch_then(x, {c, h * r, w * r}));  // [*, C, H*r, W*r]
}

Tensor pixel_unshuffle(const Tensor& x, int64_t r) {
    NB_CHECK_VALUE(r > 0, "pixel_unshuffle: downscale_factor must be positive, got ", r);
    NB_CHECK(x.dim() >= 3 && x.size(-2) % r == 0 && x.size(-1) % r == 0, "pixel_unshuffle: expected [*, C, H*", r,
             ", W*", r, "] (height and width divisible by downscale_factor = ", r, "), got ", x.shape());
    const int64_t c = x.size(-3), h = x.size(-2) / r, w = x.size(-1) / r, nb = x.dim() - 3;
    return x
        .reshape(batch_then(x, {c, h, r, w, r}))     // [*, C, H, r, W, r]
        .permute(permutation(nb, {0, 2, 4, 1, 3}))   // [*, C, r, r, H, W]
        .reshape(batch_then(x, {c * r * r, h, w}));  // [*, C*r*r, H, W]
}

}  // namespace nabla
