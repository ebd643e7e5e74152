// apps/salient_synth.h — synthetic salient-object / sky / hair pairs composited from real photos: the bundled
// default data of `nabla train u2netp`, written in the DUTS layout (images/*.jpg + masks/*.png, 0/255 grey).
//
// Each pair picks one of three scenes, with photos from data/photos (see data/photos/LICENSES.md):
//   object  a crop of one photo pasted on a crop of another through a soft mask: a random smooth blob (a radius
//           with a few random harmonics), a portrait's head and shoulders (two ellipses, running out of the
//           bottom edge) or the real horse silhouette, scaled, mirrored and placed at random;
//           with probability 0.4 thin soft "hair" strands grow out of its top and belong to the mask;
//   sky     a gradient sky with soft clouds above a random smooth horizon, a photo below; the mask is the sky.
// So that a network learns what sets a photographed subject apart, not where a cut-out was pasted, object scenes
// are made to look photographed: the background is a close view (so it seldom holds another photo's whole
// subject) and often out of focus (Gaussian blur, sigma 1-5 px at 320); the mask's edge is a soft matte (sigma
// 0.3-1.2 px) rather than a 1-pixel cut; half the objects are made of parts (two photos' textures either side of a
// line, a bust's at its neck, and small patches), as a person in clothes is; a texture is sometimes a smooth
// painted surface and its mean colour is pulled towards the background's; the object is lit as a solid (a light
// gradient and a darker rim) and casts a soft shadow that is not in the mask. Every picture may get sensor noise,
// and is stored as JPEG of quality 70-95.
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
