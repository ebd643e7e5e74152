// apps/pnp.h — the pose of a 3-D model from its 2-D projection (OpenCV's solvePnP, SOLVEPNP_ITERATIVE, without
// distortion), the Rodrigues rotation and the Euler angles of a rotation as cv2.decomposeProjectionMatrix gives them.
// PFLD's Euler-angle labels are made with it (apps/landmarks_data.h, docs/pfld_data.md §7).
#pragma once
#include <array>
#include <vector>

namespace nabla::apps {

using Point2 = std::array<double, 2>;  // (x, y)

struct EulerAngles {  // degrees; R = Rz(roll) Ry(yaw) Rx(pitch) (docs/pfld_data.md §7)
    double pitch = 0, yaw = 0, roll = 0;
};

// cv2.solvePnP(SOLVEPNP_ITERATIVE) without distortion: a DLT start, then OpenCV's Levenberg-Marquardt (at most 20
// steps) on the reprojection error. x_cam = R(rvec) X + tvec, u = f x/z + cx, v = f y/z + cy.
struct PnPResult {
    std::array<double, 3> rvec{}, tvec{};
    double rms = 0;  // reprojection error, in the units of the image points
};
PnPResult solve_pnp(const std::vector<std::array<double, 3>>& object, const std::vector<Point2>& image, double focal,
                    double cx, double cy);
std::array<double, 9> rodrigues(const std::array<double, 3>& rvec);  // row-major rotation matrix
// cv2.decomposeProjectionMatrix's angles of a rotation: pitch = atan2(r32, r33), yaw = atan2(-r31, hypot(r32, r33)),
// roll = atan2(r21, r11), degrees.
EulerAngles rotation_to_euler(const std::array<double, 9>& r);
std::array<double, 9> euler_to_rotation(const EulerAngles& e);  // Rz(roll) Ry(yaw) Rx(pitch)

}  // namespace nabla::apps
