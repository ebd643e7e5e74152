// apps/synth_image.h — what the picture generators share (apps/face_synth.cpp, apps/salient_synth.cpp): uniform
// draws, random square views of photos, and a separable Gaussian blur of square float planes.
#pragma once
#include <cstdint>
#include <vector>

#include "core/generator.h"
#include "core/tensor.h"

namespace nabla::apps {

// A draw from U[low, high): low + (high - low) * g.uniform().
double uniform(Generator& g, double low, double high);

// A random square crop of `photo` (float [3, H, W]) whose side is a fraction in [low, high) of the short side,
// resized (bilinear) to size x size and mirrored with probability 1/2: float [3, size, size], row-major. The draws
// from `g` are, in order: the side, the top, the left, the mirror.
std::vector<float> random_view(const Tensor& photo, int64_t size, Generator& g, double low, double high);

// Blurs each of the `planes` square planes (size x size, row-major, one after another in `v`) with a Gaussian of
// standard deviation `sigma` pixels, truncated at 3 sigma; pixels beyond the border repeat the edge. sigma <= 0:
// nothing.
void gaussian_blur_planes(std::vector<float>& v, int64_t planes, int64_t size, double sigma);

}  // namespace nabla::apps
