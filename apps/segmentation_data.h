// apps/segmentation_data.h — data for binary-mask segmentation (salient objects, sky, hair): image/mask pairs in the
// DUTS layout, U²-Net's preprocessing, and a generator of small synthetic pairs for demos and tests.
//
// Layout: a folder with images/ and masks/ whose files share stems (images/x.jpg + masks/x.png), DUTS' own
// DUTS-TR-Image/ and DUTS-TR-Mask/, or a list file of "image mask" lines. Masks are grey PNGs with values 0/255 or 0/1
// (both occur in the wild): each mask is divided by its own maximum, as U²-Net's ToTensorLab does, so both come out as
// 0/1. Preprocessing (U²-Net's RescaleT, RandomCrop, ToTensorLab(flag=0)): resize to size×size (image bilinear, mask
// nearest), in training a random crop×crop window and a random horizontal flip (the public script reverses rows,
// a vertical flip, which suits neither skies nor portraits), then the image divided by its maximum and normalised
// with ImageNet's mean and std.
#pragma once
#include <string>
#include <vector>

#include "nn/data/dataset.h"
#include "nn/data/folder.h"

namespace nabla::apps {

struct SegmentationTransform {
    int64_t size = 320;  // resize to size x size
    int64_t crop = 288;  // training crop (0: no crop)
    bool train = true;   // random crop and flip
};

// Example = {image [3, S, S] normalised, mask [1, S, S] in [0, 1]}.
class SegmentationDataset : public data::Dataset {
public:
    SegmentationDataset(std::vector<data::ImagePair> pairs, SegmentationTransform transform);
    int64_t size() const override { return static_cast<int64_t>(pairs_.size()); }
    data::Example get(int64_t index, Generator& gen) const override;
    const std::vector<data::ImagePair>& pairs() const { return pairs_; }

private:
    std::vector<data::ImagePair> pairs_;
    SegmentationTransform transform_;
};

// The pairs of a dataset folder (images/ + masks/, or DUTS-*-Image/ + DUTS-*-Mask/) or of a list file (one
// "image mask" pair per line, paths relative to the list), or an Error that names the folder or list and every
// missing or unmatched file.
std::vector<data::ImagePair> find_segmentation_pairs(const std::string& dir);

// An RGB image tensor [3, H, W] in [0, 1] -> the network's input [3, H, W]: divided by its maximum, then ImageNet
// mean/std. (Shared by training, evaluation and prediction.)
Tensor normalize_for_segmentation(const Tensor& image01);
// A mask tensor as read (uint8 [1, H, W]) -> float [1, H, W] divided by its maximum (all zeros stays zeros).
Tensor mask_to_unit(const Tensor& mask_u8);
// Undoes normalize_for_segmentation's ImageNet step (for pictures): back to roughly [0, 1].
Tensor denormalize_for_display(const Tensor& image);

// Writes `count` synthetic pairs (coloured ellipses on a textured background; masks 0/255) of side `size` to
// dir/images and dir/masks, deterministically from `seed`. The demo's default data.
void generate_ellipse_pairs(const std::string& dir, int64_t count, int64_t size, uint64_t seed);

}  // namespace nabla::apps
