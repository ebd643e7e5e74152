// nn/data/folder.cpp — list_images and pair_by_stem (see folder.h).
#include "nn/data/folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "core/error.h"

namespace nabla::data {
namespace {

namespace fs = std::filesystem;

bool is_image_name(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

// "a, b, c" for at most 10 names, then "and N more".
std::string name_list(const std::vector<std::string>& names) {
    std::string s;
    for (size_t i = 0; i < names.size() && i < 10; ++i) s += (i ? ", " : "") + names[i];
    if (names.size() > 10) s += detail::concat(" and ", names.size() - 10, " more");
    return s;
}

// stem -> path of the images in dir; repeated stems are collected in `duplicates`.
std::map<std::string, std::string> by_stem(const std::string& dir, const std::string& suffix, bool recursive,
                                           std::vector<std::string>& duplicates) {
    std::map<std::string, std::string> stems;
    for (const std::string& path : list_images(dir, recursive)) {
        const fs::path rel = fs::path(path).lexically_relative(dir);
        std::string stem = (rel.parent_path() / rel.stem()).string();
        if (!suffix.empty()) {
            if (stem.size() < suffix.size() || stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) != 0)
                stem += "\x01";  // cannot match any image stem: reported as unmatched under its own name
            else
                stem.resize(stem.size() - suffix.size());
        }
        if (!stems.emplace(stem, path).second) duplicates.push_back(rel.string());
    }
    return stems;
}

}  // namespace

std::vector<std::string> list_images(const std::string& dir, bool recursive) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw Error(detail::concat("list_images: ", dir, ": ", ec ? ec.message() : "not a directory"));
    std::vector<std::string> files;
    auto consider = [&](const fs::directory_entry& e) {
        const std::string name = e.path().filename().string();
        if (!name.empty() && name[0] != '.' && is_image_name(e.path()) && e.is_regular_file())
            files.push_back(e.path().string());
    };
    try {
        if (recursive) {
            for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied);
                 it != fs::recursive_directory_iterator(); ++it) {
                const std::string name = it->path().filename().string();
                if (!name.empty() && name[0] == '.' && it->is_directory()) {
                    it.disable_recursion_pending();  // hidden directories (.git, .ipynb_checkpoints)
                    continue;
                }
                consider(*it);
            }
        } else {
            for (const auto& e : fs::directory_iterator(dir)) consider(e);
        }
    } catch (const fs::filesystem_error& e) {
        throw Error(detail::concat("list_images: ", dir, ": ", e.code().message()));
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::vector<ImagePair> pair_by_stem(const std::string& image_dir, const std::string& mask_dir,
                                    const std::string& mask_suffix, bool recursive) {
    std::vector<std::string> dup_images, dup_masks, lone_images, lone_masks;
    const auto images = by_stem(image_dir, "", recursive, dup_images);
    const auto masks = by_stem(mask_dir, mask_suffix, recursive, dup_masks);
    std::vector<ImagePair> pairs;
    for (const auto& [stem, path] : images) {
        auto it = masks.find(stem);
        if (it == masks.end())
            lone_images.push_back(fs::path(path).lexically_relative(image_dir).string());
        else
            pairs.push_back({path, it->second});
    }
    for (const auto& [stem, path] : masks)
        if (!images.count(stem)) lone_masks.push_back(fs::path(path).lexically_relative(mask_dir).string());

    std::string problems;
    auto add = [&](const std::vector<std::string>& names, const std::string& what) {
        if (!names.empty()) problems += detail::concat("; ", names.size(), " ", what, ": ", name_list(names));
    };
    const std::string suffix_note = mask_suffix.empty() ? "" : detail::concat(" (mask suffix '", mask_suffix, "')");
    add(lone_images, detail::concat("images in ", image_dir, " without a mask in ", mask_dir, suffix_note));
    add(lone_masks, detail::concat("masks in ", mask_dir, " without an image in ", image_dir, suffix_note));
    add(dup_images, detail::concat("images in ", image_dir, " repeating a stem"));
    add(dup_masks, detail::concat("masks in ", mask_dir, " repeating a stem"));
    if (!problems.empty()) throw Error(detail::concat("pair_by_stem: ", pairs.size(), " pairs matched", problems));
    if (pairs.empty())
        throw Error(detail::concat("pair_by_stem: no images in ", image_dir, " and ", mask_dir,
                                   " (looked for .png .jpg .jpeg .bmp)"));
    std::sort(pairs.begin(), pairs.end(), [](const ImagePair& a, const ImagePair& b) { return a.image < b.image; });
    return pairs;
}

}  // namespace nabla::data
