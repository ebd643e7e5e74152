// models/pfld/loss.cpp — pfld_loss: the weighted landmark loss of docs/pfld.md §2, line for line.
#include "models/pfld/loss.h"

#include "ops/ops.h"

namespace nabla::models {

PFLDLoss pfld_loss(const Tensor& attribute_gt, const Tensor& landmark_gt, const Tensor& euler_angle_gt,
                   const Tensor& angle, const Tensor& landmarks, int64_t train_batchsize) {
    const auto is = [](const Tensor& t, int64_t n, int64_t k) {
        return t.dim() == 2 && t.size(0) == n && t.size(1) == k && n > 0 && k > 0;
    };
    const int64_t n = landmarks.dim() == 2 ? landmarks.size(0) : -1, k = landmarks.dim() == 2 ? landmarks.size(1) : -1;
    NB_CHECK(is(attribute_gt, n, 6) && is(landmark_gt, n, k) && is(landmarks, n, k) && is(euler_angle_gt, n, 3) &&
                 is(angle, n, 3),
             "pfld_loss: expects attribute_gt [N, 6], landmark_gt and landmarks [N, K], euler_angle_gt and angle "
             "[N, 3]; got attribute_gt ",
             shape_str(attribute_gt.shape()), ", landmark_gt ", shape_str(landmark_gt.shape()), ", euler_angle_gt ",
             shape_str(euler_angle_gt.shape()), ", angle ", shape_str(angle.shape()), ", landmarks ",
             shape_str(landmarks.shape()));
    if (!is_floating(landmarks.dtype()))
        throw TypeError(
            detail::concat("pfld_loss: landmarks must be floating point, got ", dtype_name(landmarks.dtype())));

    const Tensor weight_angle = sum(1.0 - cos(angle - euler_angle_gt), {1});      // [N]
    const Tensor attributes = attribute_gt.slice(1, 1, 6).to(landmarks.dtype());  // [N, 5], pose dropped
    Tensor ratio;                                                                 // [5], a constant
    {
        NoGradGuard no_grad;
        const Tensor p = attributes.detach().mean({0});
        ratio = where(gt(p, 0.0), reciprocal(p), static_cast<double>(train_batchsize));
    }
    const Tensor weight_attribute = sum(attributes * ratio, {1});  // [N]
    const Tensor d = landmark_gt - landmarks;
    const Tensor l2 = sum(d * d, {1});  // [N]
    return {.weighted = mean(weight_angle * weight_attribute * l2), .l2 = mean(l2)};
}

}  // namespace nabla::models
