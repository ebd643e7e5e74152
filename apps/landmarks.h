// apps/landmarks.h — the facial-landmark task (PFLD's): `nabla train|eval|predict pfld`. Training follows the public
// PyTorch implementation (Adam lr 1e-4, weight decay 1e-6, batch 256, the PFLD loss, ReduceLROnPlateau on the
// validation loss); evaluation gives NME (inter-ocular), failure rate and AUC at 0.1, overall and per WFLW attribute
// subset, with a CED plot; prediction draws the 98 points on a face crop or on an image with a face box.
#pragma once
#include <CLI/CLI.hpp>
#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "apps/train_loop.h"

namespace nabla::apps {

struct LandmarkTrainOptions {
    std::string data;  // a WFLW root, prepared lists or a generated folder; "" = generated faces (default_faces_dir)
    double lr = 1e-4, weight_decay = 1e-6;  // Adam (L2 added to the gradient, as torch.optim.Adam)
    int64_t patience = 40;                  // ReduceLROnPlateau(factor 0.1) on the validation loss
    int64_t repeat = 1;                     // training examples per face per epoch (the reference prepares 10)
    std::vector<std::string> set;           // --set key=value for the model (width=0.25)
    TrainOptions train;
};

struct LandmarkScores {
    int64_t faces = 0;
    double nme = 0, failure_rate = 0, auc = 0;  // mean NME; FR and AUC at 0.1
};

struct LandmarkEvalResult {
    LandmarkScores all;
    std::vector<std::pair<std::string, LandmarkScores>> subsets;  // per WFLW attribute with at least one face
    std::vector<double> nmes;                                     // per face, in the order of the list
};

// Where train_landmarks generates its default data (a WFLW-layout folder of synthetic faces).
std::string default_faces_dir();
TrainResult train_landmarks(LandmarkTrainOptions options);
// The scores of per-face NMEs, overall and for the faces that carry each attribute.
LandmarkEvalResult landmark_scores(const std::vector<double>& nmes, const std::vector<std::array<int64_t, 6>>& attrs);
// Evaluates `weights` on the test split of `data` (the layouts of train_landmarks), the model on `device` and the
// scores on the host; writes the CED curve as PNG to ced_png when it is not empty.
LandmarkEvalResult evaluate_landmarks(const std::string& weights, const std::string& data, const std::string& ced_png,
                                      const std::vector<std::string>& set = {}, Device device = kCPU);

// A face box x1, y1, x2, y2 in pixels.
using FaceBox = std::array<double, 4>;
FaceBox parse_face_box(const std::string& text);  // "x1,y1,x2,y2"; an Error names the option and the text
// The 98 landmarks of one face as [98, 2] float64 pixel coordinates of `image` ([3, H, W] in [0, 1]): without a box
// the image is the face crop (resized to 112), with one the training crop around the box is cut out first. The model
// is PFLD in eval mode, on any device (device_of: the crop goes there, the points come back to the host); call it
// without gradients. predict_landmarks and `nabla serve` use it.
Tensor face_landmarks(nn::Module& pfld, const Tensor& image, const std::optional<FaceBox>& box = std::nullopt);
// The points drawn in red on the image, their radius from its size.
Tensor draw_landmarks(const Tensor& image, const Tensor& points);
// For each image of `input` (a file or a folder): <stem>_landmarks.png (the points drawn in red on the image) and
// <stem>.txt (98 lines "x y" in the image's pixels) in `output`. Without a box the image is taken as the face crop
// (resized to 112); with one, the training crop around the box is cut out first. The model runs on `device`. Returns
// how many images.
int64_t predict_landmarks(const std::string& weights, const std::string& input, const std::string& output,
                          const std::optional<FaceBox>& box, const std::vector<std::string>& set = {},
                          Device device = kCPU);

// Registers `nabla train|eval|predict pfld`.
void add_landmark_commands(CLI::App* train, CLI::App* eval, CLI::App* predict);

}  // namespace nabla::apps
