// apps/data_check.h — the check of a data set's image files before the first training step, as ultralytics scans
// its labels ("train: 1000 images, 2 corrupt"): every file is verified (nn/data/image.h verify_image), each split
// gets a summary line, each corrupt file a warning naming it and what is wrong, and the examples that need one are
// left out. With --strict-data a corrupt file stops the run instead, naming all of them.
//   train_pairs = drop_corrupt("train", train_pairs, [](const data::ImagePair& p) {
//       return std::vector<std::string>{p.image, p.mask}; }, o.train.strict_data);
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace nabla::apps {

// For each example (its files), whether all its files are sound; prints the summary and the warnings. Throws an
// Error listing the corrupt files when `strict`, or when no example is left.
std::vector<bool> check_image_files(const std::string& split, const std::vector<std::vector<std::string>>& files,
                                    bool strict);

// The examples of `items` whose files (`files_of`) are sound, in order.
template <class Item, class FilesOf>
std::vector<Item> drop_corrupt(const std::string& split, const std::vector<Item>& items, FilesOf files_of,
                               bool strict) {
    std::vector<std::vector<std::string>> files;
    files.reserve(items.size());
    for (const Item& item : items) files.push_back(files_of(item));
    const std::vector<bool> keep = check_image_files(split, files, strict);
    std::vector<Item> kept;
    for (size_t i = 0; i < items.size(); ++i)
        if (keep[i]) kept.push_back(items[i]);
    return kept;
}

}  // namespace nabla::apps
