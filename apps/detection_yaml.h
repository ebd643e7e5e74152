// apps/detection_yaml.h — YOLOv5's data.yaml, read with yaml-cpp and resolved as ultralytics' check_dataset does:
// the dataset root, the train/val/test sources, the class count and the class names. docs/yolo_data.md §1 gives the
// rules; apps/detection_data.h turns the sources into images and labels.
//
//   DataYaml cfg = find_data_yaml("data/generated/shapes");   // DIR/data.yaml, or a .yaml file
//   std::vector<std::string> files = image_files(cfg.train);   // apps/detection_data.h
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nabla::apps {

// What train.py takes from a data.yaml after check_dataset: the sources resolved to paths, the class count and the
// names. Keys other than path, train, val, test, nc and names (download scripts, ...) are ignored.
struct DataYaml {
    std::string file;                           // the yaml
    std::string path;                           // the dataset root the sources are relative to
    std::vector<std::string> train, val, test;  // folders of images or list files, resolved
    int64_t nc = 0;
    std::vector<std::string> names;  // nc names (class0, class1, ... when the yaml has none)
};

// An Error names the file and the line: "FILE:LINE:COLUMN: not valid YAML: ..." for what yaml-cpp cannot parse,
// "FILE:LINE: ..." for a missing nc and names, names that are not nc, a bad names key, a source that is not a path
// or does not exist.
DataYaml read_data_yaml(const std::string& file);
// `dir_or_file` may be the yaml itself or a folder holding data.yaml (or exactly one *.yaml / *.yml).
DataYaml find_data_yaml(const std::string& dir_or_file);

}  // namespace nabla::apps
