// models/yolo/yolo.h — YOLOv5 (ultralytics/yolov5 v6.0), built from an ultralytics model yaml as its parse_model
// builds it, so that the state-dict keys are ultralytics' own: model.0.conv.weight ... model.24.m.2.bias and
// model.24.anchors. docs/yolo.md describes the yaml, the scaling rules, the modules, the resolved yolov5s table, the
// names, the anchors, strides and bias init, and the decoding.
//
//   models::YOLOv5 net("yolov5s");                                 // the built-in copy of configs/yolov5s.yaml
//   models::YOLOv5 voc("path/to/my.yaml", {.nc = 20});             // any v6.0-style model file, nc replaced
//   auto raw = net.call_outputs(x);          // training: {P3, P4, P5} raw maps [B, 3, H/s, W/s, 5 + nc]
//   net.eval(); auto out = net.call_outputs(x);  // eval: {detections [B, N, 5 + nc] (xywh in pixels), P3, P4, P5}
//
// Widths other than the yaml's: YOLOv5Args::channels gives the out channels of any Conv by its module path, and the
// network is built with them (the inputs that follow adapt). A network pruned channel by channel is therefore this
// same class: `YOLOv5(cfg, {.channels = pruned.channels()})` rebuilds it, and so does
// `{.channels = YOLOv5::channels_from_state_dict(weights)}` from its weights alone.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/yolo/common.h"
#include "models/yolo/detect.h"
#include "nn/container.h"

namespace nabla::models {

// A model yaml: its text and where it came from (every error about it names `source`).
struct YoloYaml {
    std::string text;
    std::string source;
    // The yaml of models/yolo/configs compiled into the library ("yolov5n", "yolov5s", ..., with or without
    // ".yaml"), so that they are found from any directory; a ValueError listing the names for another.
    static YoloYaml builtin(const std::string& name);
    static YoloYaml file(const std::string& path);  // an Error naming the path when it cannot be read
    static YoloYaml from_text(std::string text, std::string source = "<yaml text>");
    static YoloYaml resolve(const std::string& name_or_path);  // a built-in name, else a file path
    static std::vector<std::string> builtin_names();           // sorted
};

struct YOLOv5Args {
    std::optional<int64_t> nc;             // replaces the yaml's nc (ultralytics' Model(cfg, nc=...))
    std::optional<int64_t> in_channels;    // replaces the yaml's ch; 3 when neither gives it
    std::optional<double> depth_multiple;  // replace the yaml's multiples (narrow variants for tests)
    std::optional<double> width_multiple;
    // Out channels per Conv, by its module path: "model.0", "model.2.cv1", "model.2.m.0.cv1" (a bottleneck's hidden
    // width), "model.9.cv2", ... A BatchNorm path ("model.2.cv1.bn", the key of a pruning mask) names its Conv. A
    // Conv not named keeps the yaml's width; every key must name a Conv of the network, with a count >= 1, and may
    // not break a residual (a shortcut Bottleneck needs its output as wide as its input).
    std::map<std::string, int64_t> channels;
};

// One row of the yaml as built: model.<index>.
struct YoloLayer {
    int64_t index = 0;
    std::string module;           // as the yaml writes it: "Conv", "C3", "nn.Upsample", ...
    std::vector<int64_t> from;    // as written (-1: the previous layer)
    std::vector<int64_t> inputs;  // resolved to layer indices (-1: the network's input)
    int64_t n = 1;                // repeats after depth scaling (a C3's bottlenecks)
    std::string args;             // the constructor arguments, resolved, for info()
    int64_t out_channels = 0;     // as built (0 for Detect)
};

class YOLOv5 : public nn::Module {
public:
    // Builds the network (the yaml's errors name the source, the line and the layer), finds the strides with a dry
    // run, converts the anchors to grid units and sets the Detect biases (docs/yolo.md §4).
    explicit YOLOv5(const YoloYaml& cfg, YOLOv5Args args = {});
    explicit YOLOv5(const std::string& name_or_path, YOLOv5Args args = {})
        : YOLOv5(YoloYaml::resolve(name_or_path), std::move(args)) {}

    // x [B, in_channels, H, W] with H and W multiples of the largest stride. Training: the raw maps of the levels;
    // eval: {decoded [B, N, no], raw maps...} (models/yolo/detect.h).
    std::vector<Tensor> forward_outputs(const Tensor& x) override;
    Tensor forward(
        const Tensor& x) override;  // eval: the decoded detections; training: an error (the maps are several)

    Detect& detect() const;  // the last layer
    // The out channels of every Conv (keys as YOLOv5Args::channels): what to store with a pruned checkpoint.
    std::map<std::string, int64_t> channels() const;
    // The same read from weights alone: the first dimension of every `<path>.conv.weight`.
    static std::map<std::string, int64_t> channels_from_state_dict(const TensorMap& state);
    std::string info() const;  // ultralytics' build table: index, from, n, params, module, arguments

    const YoloYaml yaml;
    int64_t nc = 0, in_channels = 3;
    double depth_multiple = 1, width_multiple = 1;
    std::vector<double> stride;  // pixels per cell of each Detect level (8, 16, 32)
    std::vector<YoloLayer> layers;
    std::shared_ptr<nn::Sequential> model;  // model.0 ... model.<last> (the Detect)

private:
    void build(YOLOv5Args args);  // parse_model.cpp
    void probe_strides();
    std::vector<bool> save_;  // whether a later layer reads layer i's output
};

}  // namespace nabla::models
