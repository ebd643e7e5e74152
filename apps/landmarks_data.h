// apps/landmarks_data.h — data for 98-point facial landmarks (PFLD on WFLW): the annotation formats, PFLD's crop and
// training augmentation, its Euler-angle labels (calculate_pitch_yaw_roll: a PnP solve against a 14-point 3-D mean
// face) and the Dataset the PFLD trainer reads. What each step relies on (the WFLW line, the crop rule, the mirror map,
// the 3-D template and camera, the sidecar of exact angles) is written down in docs/pfld_data.md.
//
// Sources, all giving FaceAnnotation:
//   read_wflw_annotations  list_98pt_rect_attr_{train,test}.txt: 196 pixel coordinates, a box, 6 attribute flags and
//                          an image path per line; a "<list>_euler.txt" beside it (written by apps/face_synth.h) adds
//                          exact angles. Crops are made on the fly.
//   read_prepared_list     PFLD's own list.txt (its preparation step's output): 112x112 crops already made, landmarks
//                          normalised, angles given.
// LandmarkDataset example = {image [3, 112, 112] float32 in [0, 1] in BGR channel order (PFLD reads with cv2, so
// weights trained by PyTorch take the same input), landmarks [196] float32 (x0, y0, x1, ... normalised to the crop),
// attributes [6] float32 0/1 (pose, expression, illumination, make-up, occlusion, blur), euler [3] float32 degrees
// (pitch, yaw, roll)}.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "apps/pnp.h"
#include "nn/data/dataset.h"

namespace nabla::apps {

inline constexpr int64_t kNumLandmarks = 98;
inline constexpr int64_t kLandmarkCrop = 112;  // side of PFLD's input crops

using Point2 = std::array<double, 2>;  // (x, y)
using Landmarks = std::array<Point2, kNumLandmarks>;

// The order of WFLW's attribute flags and of the dataset's attributes tensor.
enum FaceAttribute { kPose, kExpression, kIllumination, kMakeUp, kOcclusion, kBlur };
inline constexpr std::array<const char*, 6> kFaceAttributeNames = {"pose",    "expression", "illumination",
                                                                   "make-up", "occlusion",  "blur"};

struct FaceAnnotation {
    std::string image;                    // path of the image file
    Landmarks points{};                   // pixels of `image`, or normalised to the crop when `cropped`
    std::array<int64_t, 4> box{};         // x_min y_min x_max y_max: WFLW's face rectangle (the crop ignores it)
    std::array<int64_t, 6> attributes{};  // 0/1 in FaceAttribute order
    std::optional<EulerAngles> euler;     // exact angles (sidecar or prepared list); else computed from the crop
    bool cropped = false;                 // a prepared sample: the image is already the crop
};

// The faces of a WFLW list (207 whitespace-separated fields: 196 coordinates, 4 box integers, 6 flags, the image path
// relative to image_root; 197 fields — coordinates and path, as WFLW's per-attribute test lists — give the landmarks'
// extent as box and no flags). Reads "<list stem>_euler.txt" when present: one "pitch yaw roll" line per face. An
// Error names the file, the line and what is wrong, or lists the missing images.
std::vector<FaceAnnotation> read_wflw_annotations(const std::string& list_path, const std::string& image_root);
// PFLD's prepared list (206 fields: image path, 196 normalised coordinates, 6 flags, pitch yaw roll). Paths are taken
// as written, else relative to the list's folder, else as <list folder>/imgs/<file name>.
std::vector<FaceAnnotation> read_prepared_list(const std::string& list_path);
// The sidecar of exact angles that read_wflw_annotations looks for: "a/list.txt" -> "a/list_euler.txt".
std::string euler_sidecar_path(const std::string& list_path);

// Where the data of a folder is: a WFLW root (WFLW_annotations/list_98pt_rect_attr_train_test/ and WFLW_images/,
// also one level down in WFLW/; `nabla generate faces` writes this layout), or prepared lists (train_data/list.txt and
// test_data/list.txt, or train/list.txt and test/list.txt). An Error names the folder and what it lacks.
struct LandmarkData {
    std::string format;  // "wflw" (crops made on the fly) or "prepared"
    std::string train_list, test_list;
    std::vector<FaceAnnotation> train, test;
};
LandmarkData find_landmark_data(const std::string& dir);

// WFLW's 98-point mirror map: after a horizontal flip, point k is the flipped point map[k] (an involution).
const std::vector<int64_t>& wflw_mirror_map();

// --- the crop (docs/pfld_data.md §5, §6) ---
struct CropWindow {  // a square window of the (possibly rotated) image, in pixels
    int64_t x = 0, y = 0, size = 0;
    bool operator==(const CropWindow&) const = default;
};
// PFLD's base window: the landmarks' truncated extent, its truncated centre, side int(1.2 * longer extent).
CropWindow base_crop_window(const Landmarks& points);
// (p - (x, y)) / size for every point.
Landmarks normalize_to_window(const Landmarks& points, const CropWindow& window);

struct FaceCrop {
    Tensor image;          // float32 [C, out, out], the input image's channels
    Landmarks points{};    // normalised to the crop, in [0, 1]
    CropWindow window;     // in the rotated image
    double rotation = 0;   // degrees, cv2.getRotationMatrix2D's sign (counter-clockwise on screen)
    bool flipped = false;  // mirrored, points reordered by wflw_mirror_map
};
// The base crop of image (float [C, H, W]): the window cut out with zero padding outside the image, then a bilinear
// resize (align_corners=False, no antialiasing: cv2.resize's INTER_LINEAR) to out x out.
FaceCrop base_crop(const Tensor& image, const Landmarks& points, int64_t out = kLandmarkCrop);
// The picture step of the base crop for any window: cut out of image (float [C, H, W]) with zero padding outside,
// resized bilinearly to out x out. With square_window, what a predictor does with a detector's box.
Tensor crop_window(const Tensor& image, const CropWindow& window, int64_t out = kLandmarkCrop);
// A square window around a box (x_min, y_min, x_max, y_max): the same centre, side int(scale * the longer side)
// (PFLD's camera demo uses 1.1 around a detector's box).
CropWindow square_window(const std::array<double, 4>& box, double scale = 1.1);
// Crop-normalised points back to the pixels of the picture the window was cut from: corner + p * size.
Landmarks denormalize_from_window(const Landmarks& points, const CropWindow& window);
// One augmented crop, all randomness from gen: rotation by an integer angle in [-30, 30) about the jittered centre, a
// random window side, windows that lose a point redrawn (after 1000 misses the base crop is returned), then a
// mirror with probability 1/2.
FaceCrop augmented_crop(const Tensor& image, const Landmarks& points, Generator& gen, int64_t out = kLandmarkCrop);

// --- Euler angles (docs/pfld_data.md §7) ---
// The WFLW indices of the 14 points PFLD poses the 3-D template with, and the template as the reference has it
// (point 9, WFLW 55, with its x sign typo).
const std::array<int64_t, 14>& euler_tracked_points();
const std::array<std::array<double, 3>, 14>& euler_template();

// PFLD's calculate_pitch_yaw_roll: the 14 points (x, y) as given (PFLD passes crop-normalised [0, 1] coordinates),
// a cam_w x cam_h pinhole camera with a 60 degree field of view, solve_pnp against euler_template(), the angles of R.
EulerAngles calculate_pitch_yaw_roll(const std::array<Point2, 14>& points, double cam_w = 256, double cam_h = 256);
// The same from 98 landmarks (their euler_tracked_points()).
EulerAngles euler_angles(const Landmarks& points, double cam_w = 256, double cam_h = 256);
// Exact angles carried through the augmentation: the image rotated by `rotation` degrees (FaceCrop::rotation) turns
// roll into roll - rotation; a mirror negates yaw and roll.
EulerAngles transform_euler(const EulerAngles& e, double rotation, bool flipped);

// --- the dataset ---
struct LandmarkTransform {
    bool train = false;  // augment (WFLW-style faces only; prepared crops are used as they are)
    int64_t repeat = 1;  // train: examples per face; copy 0 is the base crop when repeat > 1 (PFLD: 10)
};

class LandmarkDataset : public data::Dataset {
public:
    LandmarkDataset(std::vector<FaceAnnotation> faces, LandmarkTransform transform);
    int64_t size() const override;
    // {image [3, 112, 112] BGR, landmarks [196], attributes [6], euler [3]}; an unreadable image is an Error naming
    // the file.
    data::Example get(int64_t index, Generator& gen) const override;
    const std::vector<FaceAnnotation>& faces() const { return faces_; }
    // The crop of example `index` before the conversion to tensors (RGB), for pictures.
    FaceCrop crop(int64_t index, Generator& gen) const;

private:
    std::vector<FaceAnnotation> faces_;
    LandmarkTransform transform_;
};

// float [3, H, W] RGB <-> BGR (the same swap both ways).
Tensor swap_rb(const Tensor& image);
// A crop (float RGB [3, 112, 112] in [0, 1]) as the network takes it: quantised to 8 bits as PFLD's stored PNGs,
// channels in B, G, R order. (LandmarkDataset's image; predictors use it on their own crops.)
Tensor pfld_input(const Tensor& rgb_crop);
// Landmarks as float32 [196] (x0, y0, x1, ...), and back.
Tensor landmarks_to_tensor(const Landmarks& points);
Landmarks landmarks_from_tensor(const Tensor& flat);

}  // namespace nabla::apps
