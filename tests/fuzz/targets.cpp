// tests/fuzz/targets.cpp — the fuzz targets of targets.h: bytes written to a file in a per-process scratch folder
// when the reader takes a path, the reader called, nabla::Error swallowed. The scratch folder holds a few files that
// the list and yaml seeds name (images/a.png, masks/a.png, imgs/face.png, a.png, b.png), so that valid seeds are
// accepted and the fuzzer gets past the "file does not exist" checks.
#include "fuzz/targets.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "apps/detection_data.h"
#include "apps/landmarks_data.h"
#include "apps/segmentation_data.h"
#include "core/error.h"
#include "core/trace/format.h"
#include "models/yolo/yolo.h"
#include "nn/checkpoint.h"
#include "nn/data/image.h"
#include "nn/safetensors.h"

namespace nabla::fuzz {
namespace fs = std::filesystem;
namespace {

void write_file(const std::string& path, std::string_view bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error("fuzz: cannot write " + path);  // not an Error: the harness itself failed
}

std::string path_of(const char* name) { return (fs::path(scratch_dir()) / name).string(); }

std::string_view view(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

// Runs the reader; true when it accepted the input, false on a nabla::Error. Anything else propagates.
template <class F>
bool accepts(F&& read) {
    try {
        read();
        return true;
    } catch (const Error&) {
        return false;
    }
}

// A model yaml builds a network of the size it asks for: 10^6 channels is a request, not a parse fault, and would
// only exhaust memory. So the model target skips texts with a number above 64 (or any backslash, which a quoted
// YAML scalar could use to spell one): channels, kernels, repeats and multiples stay small enough to build.
bool small_model_text(std::string_view text) {
    if (text.size() > 4096 || text.find('\\') != std::string_view::npos) return false;
    size_t i = 0;
    while (i < text.size()) {
        const size_t start = text.find_first_not_of(" \t\r\n[]{},:'\"#", i);
        if (start == std::string_view::npos) break;
        size_t end = text.find_first_of(" \t\r\n[]{},:'\"#", start);
        if (end == std::string_view::npos) end = text.size();
        const std::string token(text.substr(start, end - start));
        char* stop = nullptr;
        const double v = std::strtod(token.c_str(), &stop);
        if (stop != token.c_str() && (!std::isfinite(v) || std::fabs(v) > 64)) return false;
        i = end;
    }
    return true;
}

}  // namespace

const std::string& scratch_dir() {
    static const std::string dir = [] {
        const fs::path d = fs::temp_directory_path() / ("nabla-fuzz-" + std::to_string(::getpid()));
        for (const char* sub : {"images", "masks", "imgs"}) fs::create_directories(d / sub);
        for (const char* f : {"images/a.png", "masks/a.png", "imgs/face.png", "a.png", "b.png"})
            write_file((d / f).string(), "not decoded by the list readers");
        std::atexit([] {
            std::error_code ignored;
            fs::remove_all(fs::temp_directory_path() / ("nabla-fuzz-" + std::to_string(::getpid())), ignored);
        });
        return d.string();
    }();
    return dir;
}

bool fuzz_safetensors(const uint8_t* data, size_t size) {
    const std::string path = path_of("input.safetensors");
    write_file(path, view(data, size));
    return accepts([&] {
        Metadata meta;
        load_safetensors(path, &meta);
    });
}

bool fuzz_checkpoint(const uint8_t* data, size_t size) {
    const std::string path = path_of("checkpoint.safetensors");
    write_file(path, view(data, size));
    return accepts([&] { nn::load_checkpoint(path); });
}

bool fuzz_image(const uint8_t* data, size_t size) {
    const auto mode = static_cast<data::ImageMode>(size % 5);
    return accepts([&] { data::decode_image(data, size, mode, "fuzz-input"); });
}

bool fuzz_segmentation_list(const uint8_t* data, size_t size) {
    const std::string path = path_of("pairs.txt");
    write_file(path, view(data, size));
    return accepts([&] { apps::find_segmentation_pairs(path); });
}

bool fuzz_wflw(const uint8_t* data, size_t size) {
    const std::string list = path_of("list.txt"), sidecar = apps::euler_sidecar_path(list);
    const std::string_view text = view(data, size);
    const size_t split = text.find("\n#euler\n");
    write_file(list, text.substr(0, split));
    std::error_code ignored;
    fs::remove(sidecar, ignored);
    if (split != std::string_view::npos) write_file(sidecar, text.substr(split + 8));
    return accepts([&] { apps::read_wflw_annotations(list, scratch_dir()); });
}

bool fuzz_prepared_list(const uint8_t* data, size_t size) {
    const std::string list = path_of("prepared.txt");
    write_file(list, view(data, size));
    return accepts([&] { apps::read_prepared_list(list); });
}

bool fuzz_yolo_label(const uint8_t* data, size_t size) {
    const std::string path = path_of("label.txt");
    write_file(path, view(data, size));
    return accepts([&] {
        int64_t duplicates = 0;
        apps::read_label_file(path, 80, &duplicates);
    });
}

bool fuzz_data_yaml(const uint8_t* data, size_t size) {
    const std::string path = path_of("data.yaml");
    write_file(path, view(data, size));
    return accepts([&] { apps::read_data_yaml(path); });
}

bool fuzz_yolo_model(const uint8_t* data, size_t size) {
    const std::string_view text = view(data, size);
    if (!small_model_text(text)) return false;
    return accepts([&] { models::YOLOv5 net(models::YoloYaml::from_text(std::string(text), "fuzz-model.yaml")); });
}

bool fuzz_trace_json(const uint8_t* data, size_t size) {
    return accepts([&] { trace::read_json(std::string(view(data, size))); });
}

const std::vector<Target>& targets() {
    static const std::vector<Target> all = {
        {"safetensors", fuzz_safetensors},
        {"checkpoint", fuzz_checkpoint},
        {"image", fuzz_image},
        {"segmentation_list", fuzz_segmentation_list},
        {"wflw", fuzz_wflw},
        {"prepared_list", fuzz_prepared_list},
        {"yolo_label", fuzz_yolo_label},
        {"data_yaml", fuzz_data_yaml},
        {"yolo_model", fuzz_yolo_model},
        {"trace_json", fuzz_trace_json},
    };
    return all;
}

}  // namespace nabla::fuzz
