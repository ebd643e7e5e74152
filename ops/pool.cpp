// ops/pool.cpp — max_pool2d, avg_pool2d, adaptive_avg_pool2d (torch.nn.functional.*), with their backward rules.
//   x: [N, C, H, W] -> y: [N, C, H_out, W_out]   (3-D [C, H, W] is unsqueezed to a batch of one and viewed back)
//   H_out = floor((H + 2p - d(k-1) - 1 + (ceil_mode ? s-1 : 0)) / s) + 1, minus one if ceil_mode and the last
//   window would start at or past H + p (docs/ops_semantics.md §7); stride 0 means stride = kernel_size.
// Window semantics (as PyTorch's CPU kernels):
//   max: windows clipped to the input; the first maximum in row-major window order wins (strict >), a NaN wins.
//        Backward: gy scatter-added to the saved argmax indices (int64 h*W+w per plane); only indices are saved.
//   avg: sum over the window clipped to the input, divided by the window clipped to input+padding when
//        count_include_pad (so ceil_mode windows sticking out past the padding count only up to it), else by the
//        number of input elements in it. Backward: gy / divisor spread over the same clipped window; nothing saved.
//   adaptive avg: window i covers [floor(i*H/H_out), ceil((i+1)*H/H_out)), likewise for W; backward spreads gy evenly.
#include "ops/pool.h"

#include "autograd/node.h"
#include "backends/backend.h"
#include "core/trace/trace.h"

namespace nabla {

using autograd::Grads;
using autograd::NeedsGrad;
using autograd::save;

namespace {

// x as a dense [N, C, H, W] tensor (still on the tape), after checking its rank, dtype and non-empty planes:
// contiguous, or channels-last when keep_channels_last and x suggests it.
Tensor as_batch(const char* op, const Tensor& x, bool keep_channels_last = false) {
    NB_CHECK((x.dim() == 3 || x.dim() == 4) && x.size(-1) > 0 && x.size(-2) > 0 && x.size(-3) > 0, op,
             ": expected a 3-D [C, H, W] or 4-D [N, C, H, W] input with non-zero C, H, W, got ", x.shape());
    NB_CHECK_VALUE(is_floating(x.dtype()), op, ": expected a floating tensor, got ", dtype_name(x.dtype()), " ",
                   x.shape());
    if (keep_channels_last && x.dim() == 4 && x.suggest_memory_format() == MemoryFormat::ChannelsLast)
        return x.contiguous(MemoryFormat::ChannelsLast);
    return (x.dim() == 3 ? x.unsqueeze(0) : x).contiguous();
}

// y [1, C, H_out, W_out] viewed back as [C, H_out, W_out] when the input x was 3-D; y itself otherwise.
Tensor like_input(const Tensor& y, const Tensor& x) {
    return x.dim() == 3 ? y.view({y.size(1), y.size(2), y.size(3)}) : y;
}

// PyTorch's pool2d_shape_check (positive kernel, stride and dilation, padding at most half the kernel, output >= 1)
// on p with stride 0 resolved to kernel_size; returns p with the output size for an input [N, C, H, W].
PoolParams checked_params(const char* op, const Shape& x_shape, PoolParams p) {
    if (p.stride == Int2(0)) p.stride = p.kernel_size;
    const Int2 k = p.kernel_size, s = p.stride, pad = p.padding, d = p.dilation;
    NB_CHECK_VALUE(k.h > 0 && k.w > 0, op, ": kernel_size should be greater than zero, got ", k);
    NB_CHECK_VALUE(s.h > 0 && s.w > 0, op, ": stride should be greater than zero, got ", s);
    NB_CHECK_VALUE(d.h > 0 && d.w > 0, op, ": dilation should be greater than zero, got ", d);
    NB_CHECK_VALUE(pad.h >= 0 && pad.w >= 0 && pad.h <= k.h / 2 && pad.w <= k.w / 2, op, ": padding ", pad,
                   " should be non-negative and at most half of kernel_size ", k);
    p.out_h = pool_output_size(x_shape[2], k.h, s.h, pad.h, d.h, p.ceil_mode);
    p.out_w = pool_output_size(x_shape[3], k.w, s.w, pad.w, d.w, p.ceil_mode);
    NB_CHECK(p.out_h >= 1 && p.out_w >= 1, op, ": input ", x_shape, " with kernel_size ", k, ", stride ", s,
             ", padding ", pad, ", dilation ", d, " gives output size ", p.out_h, "x", p.out_w, ", which is too small");
    return p;
}

}  // namespace

int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation,
                         bool ceil_mode) {
    const int64_t num = in + 2 * padding - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
    int64_t out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;  // floor division, as div_rtn
    if (ceil_mode && (out - 1) * stride >= in + padding) --out;  // the last window must start inside input or left pad
    return out;
}

ValuesIndices max_pool2d_with_indices(const Tensor& x, const MaxPool2dOptions& o) {
    trace::OpScope ts("max_pool2d", x);
    // [N, C, H, W], dense in x's layout: the kernels take channels-last maps as they are (no copy each way)
    const Tensor x4 = as_batch("max_pool2d", x, /*keep_channels_last=*/true);
    const PoolParams p = checked_params("max_pool2d", x4.shape(),
                                        {.kernel_size = o.kernel_size,
                                         .stride = o.stride,
                                         .padding = o.padding,
                                         .dilation = o.dilation,
                                         .ceil_mode = o.ceil_mode});
    const ValuesIndices r = backend_for(x4).max_pool2d(x4, p);  // values [N, C, H_out, W_out], indices int64 alike
    autograd::record(
        "max_pool2d", {x4}, r.values, [x_shape = x4.shape(), si = save(r.indices)](const Tensor& gy, const NeedsGrad&) {
            const MemoryFormat f = si.get().is_contiguous() ? MemoryFormat::Contiguous : MemoryFormat::ChannelsLast;
            return Grads{backend_for(gy).max_pool2d_backward(gy.contiguous(f), si.get(), x_shape)};
        });
    return {like_input(r.values, x), like_input(r.indices, x)};
}

// The avg pooling kernels read plain NCHW. A channels-last input gets a channels-last output all the same (a copy
// each way), so that the convs after it keep running on NHWC without reorders. max_pool2d takes it as it is.
namespace {
bool channels_last(const Tensor& x) { return x.suggest_memory_format() == MemoryFormat::ChannelsLast; }
}  // namespace

Tensor max_pool2d(const Tensor& x, const MaxPool2dOptions& o) { return max_pool2d_with_indices(x, o).values; }

Tensor avg_pool2d(const Tensor& x, const AvgPool2dOptions& o) {
    if (channels_last(x)) return avg_pool2d(x.contiguous(), o).contiguous(MemoryFormat::ChannelsLast);
    trace::OpScope ts("avg_pool2d", x);
    const Tensor x4 = as_batch("avg_pool2d", x);  // [N, C, H, W]
    const PoolParams p = checked_params("avg_pool2d", x4.shape(),
                                        {.kernel_size = o.kernel_size,
                                         .stride = o.stride,
                                         .padding = o.padding,
                                         .ceil_mode = o.ceil_mode,
                                         .count_include_pad = o.count_include_pad});
    Tensor y = backend_for(x4).avg_pool2d(x4, p);  // [N, C, H_out, W_out]
    autograd::record("avg_pool2d", {x4}, y, [x_shape = x4.shape(), p](const Tensor& gy, const NeedsGrad&) {
        return Grads{backend_for(gy).avg_pool2d_backward(gy.contiguous(), x_shape, p)};
    });
    return like_input(y, x);
}

Tensor adaptive_avg_pool2d(const Tensor& x, Int2 output_size) {
    trace::OpScope ts("adaptive_avg_pool2d", x);
    const Tensor x4 = as_batch("adaptive_avg_pool2d", x);  // [N, C, H, W]
    NB_CHECK_VALUE(output_size.h >= 0 && output_size.w >= 0, "adaptive_avg_pool2d: output_size ", output_size,
                   " must be non-negative (input ", x.shape(), ")");
    Tensor y = backend_for(x4).adaptive_avg_pool2d(x4, output_size);  // [N, C, out_h, out_w]
    autograd::record("adaptive_avg_pool2d", {x4}, y, [x_shape = x4.shape()](const Tensor& gy, const NeedsGrad&) {
        return Grads{backend_for(gy).adaptive_avg_pool2d_backward(gy.contiguous(), x_shape)};
    });
    return like_input(y, x);
}

}  // namespace nabla
