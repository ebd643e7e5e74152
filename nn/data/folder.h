// nn/data/folder.h — finding the images of a dataset on disk (the file listing of torchvision.datasets.ImageFolder,
// and the image/mask pairing of salient-object datasets such as DUTS: DUTS-TR-Image/x.jpg + DUTS-TR-Mask/x.png).
//   auto files = list_images("data/images");                          // sorted full paths
//   auto pairs = pair_by_stem("DUTS-TR/DUTS-TR-Image", "DUTS-TR/DUTS-TR-Mask");
#pragma once
#include <string>
#include <vector>

namespace nabla::data {

// The image files (.png .jpg .jpeg .bmp, any case) in `dir`, or under it with `recursive`, as full paths sorted
// byte-wise. Hidden files (a leading '.', such as macOS's "._x.jpg") are skipped. A missing dir is an Error.
std::vector<std::string> list_images(const std::string& dir, bool recursive = false);

struct ImagePair {
    std::string image, mask;
};

// Matches the images of image_dir with those of mask_dir by stem (the file name without its extension, or with
// `recursive` the path under the dir without the extension): image "x.jpg" pairs with mask "x<mask_suffix>.png".
// Returns the pairs sorted by image path. An unmatched file on either side, a stem found twice on one side, or no
// pair at all is one Error that lists the offending names (up to 10 per kind).
std::vector<ImagePair> pair_by_stem(const std::string& image_dir, const std::string& mask_dir,
                                    const std::string& mask_suffix = "", bool recursive = false);

}  // namespace nabla::data
