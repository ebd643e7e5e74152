// apps/synth_blur.h — the Gaussian blur the picture generators share (apps/face_synth.cpp, apps/salient_synth.cpp):
// a separable blur of square float planes with edge clamping, in place.
#pragma once
#include <cstdint>
#include <vector>

namespace nabla::apps {

// Blurs each of the `planes` square planes (size x size, row-major, one after another in `v`) with a Gaussian of
// standard deviation `sigma` pixels, truncated at 3 sigma; pixels beyond the border repeat the edge. sigma <= 0:
// nothing.
void gaussian_blur_planes(std::vector<float>& v, int64_t planes, int64_t size, double sigma);

}  // namespace nabla::apps
