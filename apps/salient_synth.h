// apps/salient_synth.h — synthetic salient-object / sky / hair pairs composited from real photos: the bundled
// default data of `nabla train u2netp`, written in the DUTS layout (images/*.jpg + masks/*.png, 0/255 grey).
//
// Each pair picks one of three scenes, with photos from data/photos (see data/photos/LICENSES.md):
//   object  a crop of one photo pasted on a crop of another through a soft mask: a random smooth blob (a radius
//           with a few random harmonics) or the real horse silhouette, scaled, mirrored and placed at random;
//           with probability 0.4 thin soft "hair" strands grow out of its top and belong to the mask;
//   sky     a gradient sky with soft clouds above a random smooth horizon, a photo below; the mask is the sky.
// Everything is drawn from one seeded Generator, so the same seed writes the same files.
#pragma once
#include <cstdint>
#include <string>

namespace nabla::apps {

struct SalientSynthOptions {
    std::string photos = "data/photos";  // where the photos are
    int64_t train = 240, val = 40;       // pairs per split
    int64_t size = 320;                  // side of the square images
    uint64_t seed = 0;
};

// Writes <dir>/train/{images,masks} and <dir>/val/{images,masks}. An Error names the photos folder when it has
// fewer than two readable photos.
void generate_salient_pairs(const std::string& dir, const SalientSynthOptions& options);

}  // namespace nabla::apps
