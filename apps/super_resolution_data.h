// apps/super_resolution_data.h — data for ×2 super-resolution (PANet's task): any folder of photos, random HR crops
// with their low-resolution versions, and tiled inference so that large images fit in memory.
//
// Pixels are in [−1, 1] as in the reference blog. The low-resolution input is made from the HR crop by 2×2
// max-pooling (the blog's degradation, `--degradation maxpool`) or by bicubic downscaling with antialiasing (the
// standard of SR papers, MATLAB's imresize, `--degradation bicubic`).
#pragma once
#include <string>
#include <vector>

#include "nn/data/dataset.h"
#include "nn/module.h"

namespace nabla::apps {

enum class Degradation { MaxPool, Bicubic };
Degradation parse_degradation(const std::string& name);  // "maxpool" | "bicubic", else a ValueError

// The network's range [−1, 1] back to an image's [0, 1], clamped.
Tensor to_unit(const Tensor& x);

// HR [3, H, W] (H, W even) in [−1, 1] → LR [3, H/2, W/2].
Tensor degrade(const Tensor& hr, Degradation degradation);

// The readable images of a folder (recursively), decoded once as uint8 [3, H, W]; an unreadable file is reported
// on stderr by name and skipped (an Error naming it when `strict`, --strict-data), and so is an image smaller than
// `min_side`. A summary line says how many were loaded and skipped. An Error if none is left.
std::vector<Tensor> load_sr_images(const std::string& dir, int64_t min_side, std::vector<std::string>* names = nullptr,
                                   bool strict = false);

// Example = {lr [3, c/2, c/2], hr [3, c, c]} in [−1, 1]: a random c×c crop of image index % images (so an epoch
// draws `crops_per_image` crops of every image), mirrored with probability 1/2 when training; without training the
// crop is the centre one, the same every time.
class SRDataset : public data::Dataset {
public:
    SRDataset(std::vector<Tensor> images, int64_t hr_crop, Degradation degradation, bool train,
              int64_t crops_per_image);
    int64_t size() const override { return static_cast<int64_t>(images_.size()) * crops_per_image_; }
    data::Example get(int64_t index, Generator& gen) const override;

private:
    std::vector<Tensor> images_;
    int64_t crop_;
    Degradation degradation_;
    bool train_;
    int64_t crops_per_image_;
};

// How a large image is cut for the model: tiles of `tile`×`tile` LR pixels (the training crops' LR side), sharing
// `overlap` pixels with each neighbour, `batch` tiles per forward pass.
struct Tiling {
    int64_t tile = 48, overlap = 8, batch = 4;
};

// The model applied to a whole LR image [3, h, w] in [−1, 1] in overlapping tiles, so that the pyramid attention's
// cost, quadratic in the tile's area, stays bounded. Where tiles overlap, weights fade each one out towards its
// edges, so no seam shows. Returns [3, 2h, 2w] on the host. The model must be in eval mode (each tile then sees only
// itself); no gradients are kept. It runs on its own device (device_of): each batch of tiles goes there and its output
// comes back, the blending staying on the host.
Tensor upscale_tiled(nn::Module& model, const Tensor& lr, const Tiling& tiling = {});

}  // namespace nabla::apps
