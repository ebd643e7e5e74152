// apps/face_synth.h — synthetic 98-point faces: the bundled default data of `nabla train pfld`, written in WFLW's
// layout so that apps/landmarks_data.h reads them like the real data set (docs/pfld_data.md §9).
//
// Each face is a 3-D mean face with WFLW's point semantics (mirror-symmetric, in the axes of PFLD's pose template:
// +X the image's left, +Y up, +Z toward the camera), changed by a random identity and expression, turned by
// R = Rz(roll) Ry(yaw) Rx(pitch), projected by a pinhole camera, and painted back to front on a crop of a photo:
// hair, neck, skin (whose outline passes through the 33 jaw points), brows, eyes with irises and pupils, nose, lips.
// The six WFLW attributes are drawn each with probability 0.15-0.25 and change the picture (large pose, expression,
// strong light, make-up, an occluder, blur). The exact angles go to a sidecar beside each list.
// Everything comes from one seed, per face, so the same seed writes the same bytes whatever the thread count.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "apps/landmarks_data.h"

namespace nabla::apps {

struct FaceSynthOptions {
    int64_t train = 2000, test = 500;  // faces per split
    int64_t size = 160;                // side of the square pictures, pixels
    uint64_t seed = 0;
    std::string photos = "data/photos";  // backgrounds (photos with faces skipped); "" for drawn backgrounds
};

// Writes dir/WFLW_images/synth/{train,test}_NNNNN.jpg and, under
// dir/WFLW_annotations/list_98pt_rect_attr_train_test/, list_98pt_rect_attr_{train,test}.txt (pixel coordinates,
// the landmarks' box, the attribute flags, the image path) and list_98pt_rect_attr_{train,test}_euler.txt (pitch yaw
// roll in degrees, one line per face). An Error names a photos folder that does not exist.
void generate_faces(const std::string& dir, const FaceSynthOptions& options);

// --- the model, for tests and pictures ---
using Point3 = std::array<double, 3>;
using Shape3 = std::array<Point3, kNumLandmarks>;

// The mean face in template units (the outer eye corners are 10.6 apart, as in PFLD's pose template).
const Shape3& mean_face();

struct PinholeCamera {
    double focal = 1000, cx = 0, cy = 0, distance = 60;  // pixels, pixels, pixels, template units
};
// p' = R p; u = cx - focal X' / (distance - Z'), v = cy - focal Y' / (distance - Z'): the camera looks along -Z at a
// face `distance` away (as [R | (0, 0, -distance)] in OpenCV's terms, so solvePnP recovers R).
Point2 project_point(const Point3& p, const std::array<double, 9>& rotation, const PinholeCamera& camera);
Landmarks project_face(const Shape3& shape, const EulerAngles& angles, const PinholeCamera& camera);

struct SynthFace {
    Tensor image;                         // uint8 [3, size, size] RGB
    Landmarks points{};                   // pixels
    EulerAngles euler;                    // the pose the face was turned by
    std::array<int64_t, 6> attributes{};  // FaceAttribute order
    std::vector<Point2> outline;          // the skin's outline (through the jaw points), pixels
};
// Photos for backgrounds: RGB float [3, h, w] shrunk to about 1.5 * size on the short side; photos of people are
// skipped (their faces would be unlabelled). "" gives none.
std::vector<Tensor> load_backgrounds(const std::string& photos, int64_t size);
// One face on a size x size picture, every random choice from gen.
SynthFace synthesize_face(int64_t size, Generator& gen, const std::vector<Tensor>& backgrounds);

}  // namespace nabla::apps
