// ops/unfold.cpp — F.unfold (im2col) and F.fold (col2im), the op layer of backend im2col / col2im.
//   unfold: x [N, C, H, W] -> cols [N, C*kh*kw, L],  L = out_h * out_w,  out = floor((in + 2p - d(k-1) - 1) / s) + 1
//           cols[n][c*kh*kw + a*kw + b][oy*out_w + ox] = x[n][c][oy*s - p + a*d][ox*s - p + b*d]  (0 outside)
//   fold:   cols [N, C*kh*kw, L] -> y [N, C, H, W], each column entry added back into its pixel (overlaps sum)
// fold is the adjoint of unfold (docs/ops_semantics.md §3): grad(unfold) = fold and grad(fold) = unfold; nothing is
// saved.
#include "ops/unfold.h"

#include "autograd/node.h"
#include "backends/backend.h"
#include "ops/conv.h"

namespace nabla {

using autograd::Grads;
using autograd::NeedsGrad;

namespace {

std::string options_str(const UnfoldOptions& o) {
    return detail::concat("kernel_size=", o.kernel_size, ", dilation=", o.dilation, ", padding=", o.padding,
                          ", stride=", o.stride);
}

void check_options(const char* op, const UnfoldOptions& o) {
    NB_CHECK_VALUE(o.kernel_size.h > 0 && o.kernel_size.w > 0 && o.stride.h > 0 && o.stride.w > 0 && o.dilation.h > 0 &&
                       o.dilation.w > 0 && o.padding.h >= 0 && o.padding.w >= 0,
                   op, ": kernel_size, stride and dilation must be positive and padding non-negative, got ",
                   options_str(o));
}

// The grid of sliding blocks over an [H, W] image: the output size of a conv with the same options.
Int2 blocks(Int2 hw, const UnfoldOptions& o) {
    return {conv_output_size(hw.h, o.kernel_size.h, o.stride.h, o.padding.h, o.dilation.h),
            conv_output_size(hw.w, o.kernel_size.w, o.stride.w, o.padding.w, o.dilation.w)};
}

}  // namespace

Tensor unfold(const Tensor& x, const UnfoldOptions& o) {
    NB_CHECK(x.dim() == 4, "unfold: expected a 4-D input [N, C, H, W], got ", x.shape());
    NB_CHECK_VALUE(is_floating(x.dtype()), "unfold: expected a floating tensor, got ", dtype_name(x.dtype()));
    check_options("unfold", o);
    const Int2 hw{x.size(2), x.size(3)};
    const Int2 b = blocks(hw, o);
    NB_CHECK(b.h > 0 && b.w > 0, "unfold: input ", x.shape(), " with ", options_str(o), " gives ", b.h, " x ", b.w,
             " sliding blocks; both must be at least one");
    Tensor cols = backend_for(x).im2col(x.detach().contiguous(), o);  // [N, C*kh*kw, L]
    autograd::record("unfold", {x}, cols,
                     [hw, o](const Tensor& gy, const NeedsGrad&) { return Grads{fold(gy, hw, o)}; });
    return cols;
}

Tensor fold(const Tensor& cols, Int2 output_size, const UnfoldOptions& o) {
    check_options("fold", o);
    NB_CHECK_VALUE(is_floating(cols.dtype()), "fold: expected a floating tensor, got ", dtype_name(cols.dtype()));
    const int64_t kk = o.kernel_size.h * o.kernel_size.w;
    NB_CHECK(cols.dim() == 3 && cols.size(1) % kk == 0, "fold: expected input [N, C*", kk, ", L] for kernel_size ",
             o.kernel_size, ", got ", cols.shape());
    NB_CHECK(output_size.h > 0 && output_size.w > 0, "fold: output_size must be positive, got ", output_size);
    const Int2 b = blocks(output_size, o);
    NB_CHECK(b.h > 0 && b.w > 0 && cols.size(2) == b.h * b.w, "fold: output_size=", output_size, " with ",
             options_str(o), " has ", b.h, " * ", b.w, " = ", b.h * b.w, " sliding blocks, but input ", cols.shape(),
             " has L = ", cols.size(2));
    Tensor y = backend_for(cols).col2im(cols.detach().contiguous(), output_size, o);  // [N, C, H, W]
    autograd::record("fold", {cols}, y, [o](const Tensor& gy, const NeedsGrad&) { return Grads{unfold(gy, o)}; });
    return y;
}

}  // namespace nabla
