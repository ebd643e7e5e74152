// apps/data_check.cpp — check_image_files: verify_image over every file, the summary line and the warnings.
#include "apps/data_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "nn/data/image.h"

namespace nabla::apps {

std::vector<bool> check_image_files(const std::string& split, const std::vector<std::vector<std::string>>& files,
                                    bool strict) {
    std::vector<bool> keep(files.size(), true);
    std::vector<std::string> problems;  // one line per corrupt file
    size_t checked = 0;
    for (size_t i = 0; i < files.size(); ++i) {
        for (const std::string& file : files[i]) {
            ++checked;
            try {
                data::verify_image(file);
            } catch (const Error& e) {
                keep[i] = false;
                problems.push_back(e.what());
            }
        }
    }
    const size_t dropped = static_cast<size_t>(std::count(keep.begin(), keep.end(), false));
    fmt::print("{}: {} files checked, {} corrupt{}\n", split, checked, problems.size(),
               problems.empty() ? "" : fmt::format(", {} of {} examples left out", dropped, files.size()));
    std::fflush(stdout);  // before the warnings on stderr
    if (strict && !problems.empty()) {
        std::string list;
        for (const std::string& p : problems) list += "\n  " + p;
        throw Error(fmt::format("{}: {} corrupt file(s) and --strict-data:{}", split, problems.size(), list));
    }
    for (const std::string& p : problems) fmt::print(stderr, "WARNING: {}: skipping an example: {}\n", split, p);
    if (dropped == files.size() && !files.empty())
        throw Error(fmt::format("{}: none of the {} examples has sound image files", split, files.size()));
    return keep;
}

}  // namespace nabla::apps
