// ops/pad.cpp — torch.nn.functional.pad in modes constant, reflect and replicate.
//   x: [..., n_{m-1}, ..., n_0], pads = (before_0, after_0, before_1, after_1, ...) from the LAST dim, as PyTorch
//   -> y: [..., n_i + before_i + after_i, ...]
//   constant: any number of trailing dims, the border is `value`. In every mode a negative pad crops, as PyTorch.
//   reflect: the edge is not repeated ([0..4] by 3 -> 3 2 1 | 0 1 2 3 4 | 3 2 1), so pads must be < n
//            (docs/ops_semantics.md §4). replicate: the edge repeated. Both pad the last 1 to 3 dims.
// Backward: gx[src(o)] += gy[o] (pad_backward), a narrow for constant, a scatter-add for reflect/replicate.
#include "ops/pad.h"

#include "autograd/node.h"
#include "backends/backend.h"
#include "core/trace/trace.h"

namespace nabla {

using autograd::Grads;
using autograd::NeedsGrad;

namespace {

const char* mode_name(PadMode mode) {
    switch (mode) {
        case PadMode::Constant: return "constant";
        case PadMode::Reflect: return "reflect";
        case PadMode::Replicate: return "replicate";
    }
    return "?";
}

}  // namespace

Tensor pad(const Tensor& x, const Shape& pads, PadMode mode, double value) {
    trace::OpScope ts("pad", x);
    NB_CHECK_VALUE(pads.size() % 2 == 0, "pad: padding length must be even, got ", pads.size(), " values ", pads);
    const int64_t m = static_cast<int64_t>(pads.size()) / 2;  // number of padded trailing dims
    NB_CHECK(m <= x.dim(), "pad: padding ", pads, " covers ", m, " dims but the input ", x.shape(), " has ", x.dim());
    if (mode != PadMode::Constant)
        NB_CHECK_VALUE(m >= 1 && m <= 3, "pad: ", mode_name(mode), " mode pads the last 1 to 3 dims, got padding ",
                       pads, " for input ", x.shape());
    for (int64_t k = 0; k < m; ++k) {
        const int64_t d = x.dim() - 1 - k, n = x.size(d), before = pads[2 * k], after = pads[2 * k + 1];
        NB_CHECK(n + before + after >= 0, "pad: padding (", before, ", ", after, ") makes dimension ", d, " of input ",
                 x.shape(), " negative");
        if (mode == PadMode::Reflect)
            NB_CHECK(before < n && after < n, "pad: reflect padding (", before, ", ", after,
                     ") must be smaller than the size ", n, " of dimension ", d, " of input ", x.shape());
        if (mode == PadMode::Replicate)
            NB_CHECK(n > 0 || (before == 0 && after == 0), "pad: replicate padding (", before, ", ", after,
                     ") of the empty dimension ", d, " of input ", x.shape());
    }
    if (x.dim() == 0) return x.clone();  // nothing to pad

    Tensor y = backend_for(x).pad(x, pads, mode, value);  // [..., n_i + before_i + after_i, ...]
    autograd::record("pad", {x}, y, [x_shape = x.shape(), pads, mode](const Tensor& gy, const NeedsGrad&) {
        return Grads{backend_for(gy).pad_backward(gy, x_shape, pads, mode)};
    });
    return y;
}

}  // namespace nabla
