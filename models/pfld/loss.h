// models/pfld/loss.h — the PFLD training loss as the public PyTorch implementation computes it (docs/pfld.md §2):
// the squared landmark error of each sample weighted by a pose term and by the inverse batch frequencies of its
// attributes. Written with differentiable ops: backward reaches the landmarks and, through the pose term, the angles.
//   w_angle[i] = Σ_k (1 − cos(angle[i,k] − euler_angle_gt[i,k]))      angles in degrees fed to cos as radians (quirk)
//   A5 = attribute_gt[:, 1:6]   p[c] = mean_i A5[i,c]   r[c] = 1/p[c] if p[c] > 0 else train_batchsize  (constants)
//   w_attr[i] = Σ_c A5[i,c] r[c]       (0 for a sample with none of the five flags: it does not train)
//   l2[i] = Σ_j (landmark_gt[i,j] − landmarks[i,j])²
//   weighted = mean_i w_angle[i] w_attr[i] l2[i]     (backpropagated)      l2 = mean_i l2[i]     (logged)
//   auto [weighted, l2] = pfld_loss(attrs, gt_landmarks, gt_angles, outputs[2], outputs[1]);
#pragma once
#include "core/tensor.h"

namespace nabla::models {

struct PFLDLoss {
    Tensor weighted;  // 0-dim, the loss to call backward() on
    Tensor l2;        // 0-dim, mean over the batch of the per-sample squared L2 error
};

// attribute_gt [N, 6] (0/1 of any dtype: pose, expression, illumination, make-up, occlusion, blur; pose is unused),
// landmark_gt and landmarks [N, K] (K = 196 for 98 points), euler_angle_gt and angle [N, 3]. A ShapeError naming
// pfld_loss and every shape when they do not fit. Computed in the dtype of landmarks (its type promotion with the
// rest).
PFLDLoss pfld_loss(const Tensor& attribute_gt, const Tensor& landmark_gt, const Tensor& euler_angle_gt,
                   const Tensor& angle, const Tensor& landmarks, int64_t train_batchsize = 256);

}  // namespace nabla::models
