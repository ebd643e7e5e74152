// tests/fuzz/targets.h — one function per fuzz target: each feeds arbitrary bytes to one reader of outside data (a
// safetensors file, an image, a list or label file, a yaml, a trace), through the same API the programs use. A
// reader may refuse the bytes with a nabla::Error (a clear message naming the file); anything else escaping (a
// std::out_of_range, a crash, a sanitizer report) is a bug in the reader. Used by the libFuzzer wrappers
// (tests/fuzz/fuzz_<target>.cpp, scripts/fuzz.sh) and by test_fuzz_replay, which runs every committed corpus and
// regression input through them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nabla::fuzz {

// Each returns true when the reader accepted the input, false when it threw a nabla::Error; anything else escapes.
bool fuzz_safetensors(const uint8_t* data, size_t size);  // load_safetensors with its metadata
bool fuzz_checkpoint(const uint8_t* data, size_t size);   // load_checkpoint: safetensors + the checkpoint metadata
bool fuzz_image(const uint8_t* data, size_t size);        // decode_image (read_image's decoder), mode by size % 5
bool fuzz_segmentation_list(const uint8_t* data, size_t size);  // find_segmentation_pairs of an "image mask" list
bool fuzz_wflw(const uint8_t* data, size_t size);  // read_wflw_annotations; bytes after a line "#euler" are the sidecar
bool fuzz_prepared_list(const uint8_t* data, size_t size);  // read_prepared_list (PFLD's list.txt)
bool fuzz_yolo_label(const uint8_t* data, size_t size);     // read_label_file with nc = 80
bool fuzz_data_yaml(const uint8_t* data, size_t size);      // read_data_yaml
bool fuzz_yolo_model(const uint8_t* data, size_t size);     // YOLOv5 built from a model yaml (see targets.cpp)
bool fuzz_trace_json(const uint8_t* data, size_t size);     // trace::read_json

struct Target {
    std::string name;  // the folder under tests/fuzz/corpus and tests/fuzz/regressions, fuzz_<name> the program
    bool (*run)(const uint8_t*, size_t);
};
const std::vector<Target>& targets();

// The folder the targets write their files to (and the files a list may name: see targets.cpp), made on first use
// and removed when the process exits.
const std::string& scratch_dir();

}  // namespace nabla::fuzz
