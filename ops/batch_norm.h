// ops/batch_norm.h — torch.nn.functional.batch_norm and group_norm on x [N, C, *] (2-D [N, C] included).
//   batch_norm: per channel over N and *; training normalises with the batch statistics (biased variance) and
//     updates running_mean/running_var in place (unbiased variance), eval normalises with the running statistics.
//   group_norm: per sample and group of C / num_groups channels, then a per-channel affine transform.
// The math and the backward rules are at the top of ops/batch_norm.cpp and in docs/ops_semantics.md §8.
#pragma once
#include "backends/common/params.h"  // NormAct
#include "core/tensor.h"

namespace nabla {

// F.batch_norm's argument order: any of running_mean, running_var, weight, bias may be undefined (None), except
// that eval mode needs the running statistics. y = (x - mean) / sqrt(var + eps) * weight + bias, per channel.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

// act(batch_norm(...)) for act = relu or silu (NormAct, backends/common/params.h) as one op: the kernel applies the
// activation as it writes y, and the backward recomputes the pre-activation from x instead of reading y, so the
// pair costs no more memory traffic than batch_norm alone. nn::Sequential and the models' conv blocks use it for a
// BatchNorm2d followed by ReLU or SiLU; the result equals the two ops (tests/ops/test_batch_norm.cpp).
Tensor batch_norm_act(NormAct act, const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                      const Tensor& weight, const Tensor& bias, bool training, double momentum = 0.1,
                      double eps = 1e-5);

// F.group_norm: x [N, C, *] with C divisible by num_groups; weight and bias [C] or undefined.
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);

}  // namespace nabla
