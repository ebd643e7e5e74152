// backends/cuda/conv_gemm.cpp — conv2d and conv_transpose2d through im2col (unfold.cu) and cuBLAS's batched GEMM
// (blas.h), for builds without cuDNN (CMake compiles this file or conv_cudnn.cpp). The math is docs/ops_semantics.md
// §6; backends/reference/conv.cpp is the oracle, and as there every kernel is one of two routines over a conv from
// `in` [N, C, H, W] to `out` [N, O, Ho, Wo] with weight [O, C/g, kh, kw]:
//   conv_forward   out = W * in                      conv2d; the input gradient of conv_transpose2d
//   conv_backward  gin = W^T * gout, gW = gout * in   conv2d's gradients; conv_transpose2d itself (gin) and its gW
// conv_transpose2d is the adjoint of conv2d with the same weight ([C_in, C_out/g, kh, kw] is exactly the weight of
// the conv from its output back to its input), so it needs nothing else.
//
// The batch goes in chunks of nc images whose column matrix cols [C*kh*kw, nc*L] (L = Ho*Wo; im2col's [rows, N, L]
// layout) stays near kColumnBudget elements, and each chunk is one strided-batched GEMM over the groups:
//   out_g [O/g, nc*L]       = W_g [O/g, C/g*kk] @ cols_g [C/g*kk, nc*L]
//   gcols_g [C/g*kk, nc*L]  = W_g^T @ gout_g [O/g, nc*L]                     then col2im into gin
//   gW_g [O/g, C/g*kk]     += gout_g [O/g, nc*L] @ cols_g^T
// where out and gout are [O, nc, L] — the chunk's [nc, O, L] with its two outer dims swapped, by the epilogue kernel
// (conv_common.h), which adds the bias and applies conv2d_act's activation on the way. A chunk of one image needs no
// swap. A 1x1 conv with stride 1 and no padding needs no im2col either (its columns are the image), and without
// groups its forward and input gradient are single GEMMs batched over the images.
// ConvParams::bf16 is ignored: the GEMMs run in the tensors' dtype (float32 or float64).
#include <algorithm>

#include "backends/cuda/blas.h"
#include "backends/cuda/conv_common.h"
#include "backends/cuda/conv_host.h"
#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"
#include "backends/cuda/unfold.h"

namespace nabla {
namespace {

// The elements one column buffer (and the swapped chunk of out or gout) may hold: big enough that each GEMM keeps
// the GPU busy, small enough that the buffers stay a few hundred MB at most.
constexpr int64_t kColumnBudget = int64_t(1) << 24;

// A conv from `in` [n, c, h, w] to `out` [n, o, ho, wo] with weight [o, c/groups, kh, kw].
struct Geometry {
    int64_t n, c, h, w;
    int64_t o, ho, wo;
    int64_t kh, kw;
    ConvParams p;

    int64_t cg() const { return c / p.groups; }    // input channels per group
    int64_t og() const { return o / p.groups; }    // output channels per group
    int64_t kc() const { return cg() * kh * kw; }  // rows of one group's columns
    int64_t rows() const { return c * kh * kw; }   // rows of the column matrix
    int64_t len() const { return ho * wo; }        // L: window positions per image
    // 1x1, stride 1, no padding: the columns of an image are the image itself.
    bool pointwise() const {
        return kh == 1 && kw == 1 && p.stride == Int2(1) && p.padding == Int2(0) && ho == h && wo == w;
    }
    // Images per chunk.
    int64_t chunk() const { return std::clamp<int64_t>(kColumnBudget / (std::max(rows(), o) * len()), 1, n); }
    // im2col / col2im of nc images into columns [rows, nc, L].
    cuda::ColGeometry cols(int64_t nc) const {
        return {.n = nc,
                .c = c,
                .h = h,
                .w = w,
                .kh = kh,
                .kw = kw,
                .sh = p.stride.h,
                .sw = p.stride.w,
                .ph = p.padding.h,
                .pw = p.padding.w,
                .dh = p.dilation.h,
                .dw = p.dilation.w,
                .oh = ho,
                .ow = wo,
                .n_stride = len(),
                .row_stride = nc * len()};
    }
};

Geometry geometry(const Shape& in, const Shape& out, const Shape& weight, const ConvParams& p) {
    return {in[0], in[1], in[2], in[3], out[1], out[2], out[3], weight[2], weight[3], p};
}

// Pointer arithmetic in elements of the tensors' dtype.
void* at(void* p, int64_t elements, DType dtype) {
    return static_cast<char*>(p) + elements * static_cast<int64_t>(element_size(dtype));
}

// out = act(conv(in, w) + bias): out contiguous [n, o, ho, wo]; bias may be undefined.
void conv_forward(const Geometry& g, const Tensor& in, const Tensor& w, const Tensor& bias, NormAct act,
                  const Tensor& out) {
    const DType dt = in.dtype();
    const int64_t L = g.len(), kc = g.kc(), og = g.og(), in_image = g.c * g.h * g.w;
    const void* b = bias.defined() ? bias.raw_data() : nullptr;
    if (g.pointwise() && g.p.groups == 1) {  // out[i] [o, L] = W [o, c] @ in[i] [c, L], every image in one call
        cuda::gemm({.dtype = dt,
                    .m = g.o,
                    .n = L,
                    .k = g.c,
                    .a = w.raw_data(),
                    .lda = g.c,
                    .stride_a = 0,
                    .b = in.raw_data(),
                    .ldb = L,
                    .stride_b = in_image,
                    .c = out.raw_data(),
                    .ldc = L,
                    .stride_c = g.o * L,
                    .batch = g.n});
        if (b || act != NormAct::None)
            cuda::launch_conv_epilogue(dt, out.raw_data(), g.o * L, L, out.raw_data(), b, g.n, g.o, L, act);
        return;
    }
    const int64_t chunk = g.chunk();
    const bool image_is_cols = g.pointwise() && chunk == 1;
    const Tensor cols = image_is_cols ? Tensor() : kernel::empty({g.rows(), chunk * L}, in.options());
    const Tensor swapped = chunk > 1 ? kernel::empty({g.o, chunk * L}, in.options()) : Tensor();  // [o, nc, L]
    for (int64_t n0 = 0; n0 < g.n; n0 += chunk) {
        const int64_t nc = std::min(chunk, g.n - n0);
        const void* in_n = at(in.raw_data(), n0 * in_image, dt);
        void* out_n = at(out.raw_data(), n0 * g.o * L, dt);
        if (!image_is_cols) cuda::launch_im2col(dt, in_n, cols.raw_data(), g.cols(nc));
        void* dst = nc == 1 ? out_n : swapped.raw_data();  // [o, 1, L] is [1, o, L]
        cuda::gemm({.dtype = dt,
                    .m = og,
                    .n = nc * L,
                    .k = kc,
                    .a = w.raw_data(),
                    .lda = kc,
                    .stride_a = og * kc,
                    .b = image_is_cols ? in_n : cols.raw_data(),
                    .ldb = nc * L,
                    .stride_b = kc * nc * L,
                    .c = dst,
                    .ldc = nc * L,
                    .stride_c = og * nc * L,
                    .batch = g.p.groups});
        if (nc > 1)  // [o, nc, L] -> out[n0 : n0 + nc] [nc, o, L], with the bias and the activation
            cuda::launch_conv_epilogue(dt, swapped.raw_data(), L, nc * L, out_n, b, nc, g.o, L, act);
        else if (b || act != NormAct::None)
            cuda::launch_conv_epilogue(dt, out_n, g.o * L, L, out_n, b, 1, g.o, L, act);
    }
}

// gin = the gradient of `in` (W^T * gout) and gw = the gradient of the weight (gout * in) of the conv g, given the
// gradient gout of its output; either may be undefined (not computed; `in` is read only for gw). Both are contiguous
// and fully written.
void conv_backward(const Geometry& g, const Tensor& gout, const Tensor& in, const Tensor& w, const Tensor& gin,
                   const Tensor& gw) {
    const DType dt = gout.dtype();
    const int64_t L = g.len(), kc = g.kc(), og = g.og(), in_image = g.c * g.h * g.w;
    const bool gin_in_one_call = gin.defined() && g.pointwise() && g.p.groups == 1;
    if (gin_in_one_call)  // gin[i] [c, L] = W^T [c, o] @ gout[i] [o, L], every image in one call
        cuda::gemm({.dtype = dt,
                    .trans_a = true,
                    .m = g.c,
                    .n = L,
                    .k = g.o,
                    .a = w.raw_data(),
                    .lda = g.c,
                    .stride_a = 0,
                    .b = gout.raw_data(),
                    .ldb = L,
                    .stride_b = g.o * L,
                    .c = gin.raw_data(),
                    .ldc = L,
                    .stride_c = in_image,
                    .batch = g.n});
    const bool need_gin = gin.defined() && !gin_in_one_call;
    if (!need_gin && !gw.defined()) return;

    const int64_t chunk = g.chunk();
    const bool image_is_cols = g.pointwise() && chunk == 1;  // then gin's columns are gin too
    const Tensor cols =
        gw.defined() && !image_is_cols ? kernel::empty({g.rows(), chunk * L}, gout.options()) : Tensor();
    const Tensor gcols = need_gin && !image_is_cols ? kernel::empty({g.rows(), chunk * L}, gout.options()) : Tensor();
    const Tensor swapped = chunk > 1 ? kernel::empty({g.o, chunk * L}, gout.options()) : Tensor();  // [o, nc, L]
    for (int64_t n0 = 0; n0 < g.n; n0 += chunk) {
        const int64_t nc = std::min(chunk, g.n - n0);
        // gout of this chunk as [o, nc * L]
        const void* gout_t = at(gout.raw_data(), n0 * g.o * L, dt);
        if (nc > 1) {
            cuda::launch_conv_epilogue(dt, gout_t, L, g.o * L, swapped.raw_data(), nullptr, g.o, nc, L, NormAct::None);
            gout_t = swapped.raw_data();
        }
        if (need_gin) {
            void* gin_n = at(gin.raw_data(), n0 * in_image, dt);
            cuda::gemm({.dtype = dt,
                        .trans_a = true,
                        .m = kc,
                        .n = nc * L,
                        .k = og,
                        .a = w.raw_data(),
                        .lda = kc,
                        .stride_a = og * kc,
                        .b = gout_t,
                        .ldb = nc * L,
                        .stride_b = og * nc * L,
                        .c = image_is_cols ? gin_n : gcols.raw_data(),
                        .ldc = nc * L,
                        .stride_c = kc * nc * L,
                        .batch = g.p.groups});
            if (!image_is_cols) cuda::launch_col2im(dt, gcols.raw_data(), gin_n, g.cols(nc));
        }
        if (gw.defined()) {
            const void* in_n = at(in.raw_data(), n0 * in_image, dt);
            if (!image_is_cols) cuda::launch_im2col(dt, in_n, cols.raw_data(), g.cols(nc));
            cuda::gemm({.dtype = dt,
                        .trans_b = true,
                        .m = og,
                        .n = kc,
                        .k = nc * L,
                        .beta = n0 == 0 ? 0.0 : 1.0,  // the chunks add up
                        .a = gout_t,
                        .lda = nc * L,
                        .stride_a = og * nc * L,
                        .b = image_is_cols ? in_n : cols.raw_data(),
                        .ldb = nc * L,
                        .stride_b = kc * nc * L,
                        .c = gw.raw_data(),
                        .ldc = kc,
                        .stride_c = og * kc,
                        .batch = g.p.groups});
        }
    }
}

}  // namespace

Tensor CudaBackend::conv2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const ConvParams& p) {
    cuda::DeviceGuard guard(x_in.device());
    const Tensor x = kernel::contiguous(x_in), w = kernel::contiguous(w_in);  // channels-last goes to NCHW
    const Tensor b = b_in.defined() ? kernel::contiguous(b_in) : Tensor();
    // x [N, C_in, H, W], w [C_out, C_in/g, kh, kw] -> y [N, C_out, H_out, W_out]
    const int64_t ho = cuda::conv_size(x.size(2), w.size(2), p.stride.h, p.padding.h, p.dilation.h);
    const int64_t wo = cuda::conv_size(x.size(3), w.size(3), p.stride.w, p.padding.w, p.dilation.w);
    const Shape y_shape{x.size(0), w.size(0), ho, wo};
    if (x.numel() == 0 || w.numel() == 0) {  // no images (y is empty) or no input channels (y is act(bias))
        Tensor y = kernel::zeros(y_shape, x.options());
        if (y.numel() > 0) cuda::bias_act_(y, b, p.act);
        return y;
    }
    Tensor y = kernel::empty(y_shape, x.options());
    conv_forward(geometry(x.shape(), y_shape, w.shape(), p), x, w, b, p.act, y);
    return y;
}

ConvGrads CudaBackend::conv2d_backward(const Tensor& gy_in, const Tensor& x_in, const Tensor& w_in, const ConvParams& p,
                                       std::array<bool, 3> needs) {
    cuda::DeviceGuard guard(x_in.device());
    const Tensor gy = kernel::contiguous(gy_in), x = kernel::contiguous(x_in), w = kernel::contiguous(w_in);
    ConvGrads g;
    if (x.numel() == 0 || w.numel() == 0 || gy.numel() == 0) {
        g.input = cuda::zeros_if(needs[0], x.shape(), x);
        g.weight = cuda::zeros_if(needs[1], w.shape(), w);
    } else {
        if (needs[0]) g.input = kernel::empty(x.shape(), x.options());
        if (needs[1]) g.weight = kernel::empty(w.shape(), w.options());
        conv_backward(geometry(x.shape(), gy.shape(), w.shape(), p), gy, x, w, g.input, g.weight);
    }
    if (needs[2]) g.bias = cuda::bias_grad(gy);
    return g;
}

Tensor CudaBackend::conv_transpose2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const ConvParams& p) {
    cuda::DeviceGuard guard(x_in.device());
    const Tensor x = kernel::contiguous(x_in), w = kernel::contiguous(w_in);
    const Tensor b = b_in.defined() ? kernel::contiguous(b_in) : Tensor();
    // x [N, C_in, H, W], w [C_in, C_out/g, kh, kw] -> y [N, C_out, H_out, W_out]
    const int64_t ho =
        cuda::transposed_size(x.size(2), w.size(2), p.stride.h, p.padding.h, p.dilation.h, p.output_padding.h);
    const int64_t wo =
        cuda::transposed_size(x.size(3), w.size(3), p.stride.w, p.padding.w, p.dilation.w, p.output_padding.w);
    const Shape y_shape{x.size(0), w.size(1) * p.groups, ho, wo};
    Tensor y;
    if (x.numel() == 0 || w.numel() == 0) {
        y = kernel::zeros(y_shape, x.options());
    } else {  // the input gradient of the conv y -> x (col2im writes every pixel of y, also those no tap reaches)
        y = kernel::empty(y_shape, x.options());
        conv_backward(geometry(y_shape, x.shape(), w.shape(), p), x, Tensor(), w, y, Tensor());
    }
    if (y.numel() > 0) cuda::bias_act_(y, b, NormAct::None);
    return y;
}

ConvGrads CudaBackend::conv_transpose2d_backward(const Tensor& gy_in, const Tensor& x_in, const Tensor& w_in,
                                                 const ConvParams& p, std::array<bool, 3> needs) {
    cuda::DeviceGuard guard(x_in.device());
    const Tensor gy = kernel::contiguous(gy_in), x = kernel::contiguous(x_in), w = kernel::contiguous(w_in);
    ConvGrads g;
    if (x.numel() == 0 || w.numel() == 0 || gy.numel() == 0) {
        g.input = cuda::zeros_if(needs[0], x.shape(), x);
        g.weight = cuda::zeros_if(needs[1], w.shape(), w);
    } else {
        // the conv gy -> x: gx = conv2d(gy, w), gw from x as that conv's output gradient
        const Geometry geo = geometry(gy.shape(), x.shape(), w.shape(), p);
        if (needs[0]) {
            g.input = kernel::empty(x.shape(), x.options());
            conv_forward(geo, gy, w, Tensor(), NormAct::None, g.input);
        }
        if (needs[1]) {
            g.weight = kernel::empty(w.shape(), w.options());
            conv_backward(geo, x, gy, w, Tensor(), g.weight);
        }
    }
    if (needs[2]) g.bias = cuda::bias_grad(gy);
    return g;
}

}  // namespace nabla
