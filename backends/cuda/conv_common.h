// backends/cuda/conv_common.h — the launchers (conv_common.cu) that both convolution paths share, cuDNN
// (conv_cudnn.cpp) and im2col + GEMM (conv_gemm.cpp): the forward epilogue (bias, then conv2d_act's activation, from
// backends/common/norm_act_math.h), which doubles as the strided copy that swaps the two outer dims of [A, B, L]; the
// bias gradient; and the window copy that shifts or crops the planes of an image.
#pragma once
#include <cstddef>
#include <cstdint>

#include "backends/common/params.h"
#include "core/dtype.h"

namespace nabla::cuda {

// dst(a, b, l) = act(src[a * src_a_stride + b * src_b_stride + l] + bias[b]) for a < A, b < B, l < L, with dst
// contiguous [A, B, L] and bias [B] (null: nothing added). src may be dst itself (strides B*L and L): the in-place
// epilogue of a conv output [N, C, H*W]. With strides L and A*L (and no bias) it is the copy [B, A, L] -> [A, B, L].
void launch_conv_epilogue(DType dtype, const void* src, int64_t src_a_stride, int64_t src_b_stride, void* dst,
                          const void* bias, int64_t A, int64_t B, int64_t L, NormAct act);

// gb[c] = the sum of gy [N, C, HW] (contiguous) over n and hw. Large per-channel sums are split over several blocks
// whose partial sums go to `workspace`, of conv_bias_grad_workspace(...) bytes (0: none needed, null is fine), and
// are added in a fixed order: the result does not depend on scheduling. Accumulates in gy's dtype.
size_t conv_bias_grad_workspace(DType dtype, int64_t n, int64_t c, int64_t hw);
void launch_conv_bias_grad(DType dtype, const void* gy, void* gb, int64_t n, int64_t c, int64_t hw, void* workspace);

// dst [planes, dst_h, dst_w] (i, j) = src [planes, src_h, src_w] (i + off_h, j + off_w), 0 where that falls outside
// src: a crop (offsets >= 0) or a zero-padded frame (offsets < 0) of each plane. Both contiguous.
void launch_window_copy(DType dtype, const void* src, int64_t src_h, int64_t src_w, void* dst, int64_t dst_h,
                        int64_t dst_w, int64_t planes, int64_t off_h, int64_t off_w);

}  // namespace nabla::cuda
