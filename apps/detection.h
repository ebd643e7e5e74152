// apps/detection.h — YOLOv5 v6.0's validation and inference, with ultralytics' names: `nabla val yolov5*` (val.py:
// NMS, scale_coords, process_batch, ap_per_class, the table, PR_curve.png and confusion_matrix.png) and
// `nabla detect yolov5*` (detect.py: letterbox, NMS, boxes drawn with "name score", labels/<stem>.txt).
// docs/yolo_val.md describes the steps, the files and the differences from the reference.
//
//   auto val = make_detection_dataset(cfg.val, cfg.nc, validation_options(640, 32), "val: ");
//   data::DataLoader loader(val, {.batch_size = 32}, detection_collate);      // same batch size, no shuffle
//   DetectionValResult r = validate_detection(net, loader, cfg.nc, cfg.names);  // conf 0.001, IoU 0.6, multi-label
//   fmt::print("{}", detection_val_table(r));  r.map50; r.map; r.fitness();
//   plot_detection_val(r, cfg.names, "runs/val/exp");                         // PR_curve.png, confusion_matrix.png
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apps/detection_augment.h"
#include "models/yolo/yolo.h"
#include "nn/data/dataloader.h"
#include "nn/metrics_detection.h"

namespace nabla::apps {

// --- val.py's per-image bookkeeping ---
// ultralytics' ConfusionMatrix (utils/metrics.py), (nc + 1) x (nc + 1): row = predicted class, column = true class,
// index nc = background (row nc: labels that no detection found; column nc: detections that match no label). Only
// detections with conf > conf count; a label and a detection pair up when their IoU > iou_thres, whatever their
// classes, each keeping its best partner (by IoU).
class ConfusionMatrix {
public:
    explicit ConfusionMatrix(int64_t nc = 0, double conf = 0.25, double iou_thres = 0.45);
    // detections [n, 6] x1 y1 x2 y2 conf cls, labels [m, 5] cls x1 y1 x2 y2 of one image, same pixel space; either
    // may be empty (every unmatched detection counts as background, also in an image where nothing matched: the
    // later ultralytics' rule, docs/yolo_val.md §4).
    void process_batch(const Tensor& detections, const Tensor& labels);
    int64_t nc() const { return nc_; }
    int64_t at(int64_t predicted, int64_t truth) const { return matrix_[predicted * (nc_ + 1) + truth]; }
    // Each column divided by its sum (+1e-6), as the plot shows it: [nc + 1][nc + 1] row-major.
    std::vector<double> normalized() const;

private:
    int64_t nc_;
    double conf_, iou_thres_;
    std::vector<int64_t> matrix_;
};

// val.py's `stats`: per detection whether it is correct at each IoU threshold (metrics::match_predictions), its conf
// and class, and the classes of every label, over all images seen.
struct DetectionStats {
    std::vector<double> iouv = metrics::iou_thresholds();
    std::vector<uint8_t> correct;  // [detections, iouv.size()] row-major
    std::vector<double> conf;
    std::vector<int64_t> pred_cls, target_cls;
    int64_t images = 0;
    // One image: detections [n, 6] x1 y1 x2 y2 conf cls and labels [m, 5] cls x1 y1 x2 y2 in the same pixels
    // (those of the original image in val.py). Detections of an image without labels are all wrong.
    void update(const Tensor& detections, const Tensor& labels);
};

// --- validation (val.py) ---
struct DetectionValOptions {
    double conf_thres = 0.001, iou_thres = 0.6;  // val.py's NMS (0.65 for the published COCO numbers)
    bool multi_label = true;
    int64_t max_det = 300;
    // Optional: the loss of one batch from the raw maps (eval outputs 1..) and the targets [n, 6] (image, class, cx,
    // cy, w, h normalised) -> its items (e.g. models::YoloLoss::items' lbox, lobj, lcls); averaged over the batches
    // into DetectionValResult::loss.
    std::function<std::vector<double>(const std::vector<Tensor>& raw, const Tensor& targets)> loss;
    std::string description = "val";  // the progress bar's; "" for none
};

struct DetectionClassResult {
    int64_t cls = 0;
    std::string name;
    int64_t labels = 0;
    double p = 0, r = 0, ap50 = 0, ap = 0;  // ap: AP@0.5:0.95
};

struct DetectionValResult {
    int64_t images = 0, labels = 0;
    double mp = 0, mr = 0, map50 = 0, map = 0;  // P, R at the best mean-F1 confidence; mAP@0.5, mAP@0.5:0.95
    double fitness() const { return metrics::fitness(map50, map); }
    std::vector<DetectionClassResult> classes;        // each class that has labels, ascending
    std::vector<double> loss;                         // DetectionValOptions::loss's items, mean over batches
    double pre_ms = 0, inference_ms = 0, nms_ms = 0;  // per image: waiting for the loader, forward, NMS
    Shape input_shape;                                // the first batch's [B, 3, H, W]
    DetectionStats stats;                             // for the PR curve
    ConfusionMatrix confusion;
};

// The metrics of accumulated stats, as val.py after its loop (every number 0 when no detection is correct at 0.5).
// names[c] names class c (the number when names is short).
DetectionValResult detection_results(const DetectionStats& stats, const std::vector<std::string>& names);

// val.py's loop: the model (any Module whose eval call_outputs gives the decoded rows [B, N, 5 + nc] first, pixels
// of the input) in eval mode without gradients, batches from detection_collate with the LetterboxShape (validation
// examples); per image the NMS, detections and labels scaled back to the original image (scale_coords), the matching
// and the confusion matrix. The model's training mode is restored afterwards. The model runs on its own device
// (device_of): the images (and, for options.loss, the targets) go there, the decoded rows come back to the host for
// NMS and the metrics.
DetectionValResult validate_detection(nn::Module& model, data::DataLoader& loader, int64_t nc,
                                      const std::vector<std::string>& names, const DetectionValOptions& options = {});
// The same with nc = names.size() (a data.yaml's names).
DetectionValResult validate_detection(nn::Module& model, data::DataLoader& loader,
                                      const std::vector<std::string>& names, const DetectionValOptions& options = {});

// val.py's printout: the header, `all` and one line per class (Class Images Labels P R mAP@.5 mAP@.5:.95), then the
// speed per image.
std::string detection_val_table(const DetectionValResult& r);
// The same numbers as a JSON object (overall, per class by name, speed).
std::string detection_val_json(const DetectionValResult& r);
// ultralytics' plot_pr_curve: precision against recall at IoU 0.5 for each class (the envelope interpolated on 1000
// recall points; a legend entry per class when there are fewer than 21) and their mean, "all classes X mAP@0.5".
void plot_pr_curve(const DetectionStats& stats, const std::vector<std::string>& names, const std::string& path);
// The column-normalised confusion matrix as a heat map (values below 0.005 left blank), class names on the axes.
void plot_confusion_matrix(const ConfusionMatrix& cm, const std::vector<std::string>& names, const std::string& path);
// Both, into dir/PR_curve.png and dir/confusion_matrix.png (dir created).
void plot_detection_val(const DetectionValResult& r, const std::vector<std::string>& names, const std::string& dir);

// --- weights ---
// The class count of YOLOv5 weights: Detect's first conv has na (nc + 5) outputs, na from its anchors buffer
// (`model.<last>.anchors` [nl, na, 2]). An Error when the keys are not a YOLOv5's.
int64_t yolo_nc_from_state_dict(const TensorMap& state);

struct LoadedDetector {
    std::shared_ptr<models::YOLOv5> model;  // in eval mode
    std::vector<std::string> names;         // nc names: the checkpoint's, else the data yaml's, else the numbers
    int64_t img_size = 0;                   // the size it was trained at (its config's img_size); 0 when unknown
};
// Builds `model_name` (yolov5n/s/m/l/x) for the weights — nc from the state dict, every Conv's width from it too (so
// pruned or narrow weights load), depth_multiple and names from the file's "config" metadata when it has one (a
// checkpoint's, or the one `nabla export` carries over) — and loads them (a checkpoint's EMA when it has one).
// data_yaml ("" for none) gives names when the weights have none. Errors name the weights. The model is then moved
// to `device`.
LoadedDetector load_detector(const std::string& model_name, const std::string& weights,
                             const std::string& data_yaml = "", Device device = kCPU);
// The inference size of `val`, `detect` and `serve`: `img_size` when given (> 0), else the size the weights were
// trained at, else 640 (val.py's and detect.py's default). A network trained at 320 loses a sixth of its mAP@.5 at 640.
int64_t inference_size(int64_t img_size, const LoadedDetector& detector);

// --- `nabla val` ---
struct DetectionEvalOptions {
    std::string model = "yolov5s", weights, data;   // data: a data.yaml or a folder holding one
    std::string task = "val";                       // the split: val or test
    int64_t img_size = 0, batch = 32, workers = 4;  // img_size 0: inference_size's default
    double conf_thres = 0.001, iou_thres = 0.6;
    int64_t max_det = 300;
    std::string output;    // where the plots go ("" : runs/val/<model>)
    Device device = kCPU;  // where the model runs (NMS and the metrics run on the host)
};
// Validates the weights on the data's split: prints the table and the JSON, writes PR_curve.png and
// confusion_matrix.png (and results.json) into the output folder. An Error when the weights' nc is not the data's.
DetectionValResult evaluate_detection(const DetectionEvalOptions& options);

// --- `nabla detect` ---
// detect.py's input: image [3, H, W] in [0, 1] letterboxed to img_size (the long side; upscaling allowed), padded to
// a multiple of stride (auto_pad, detect.py's) or to img_size squared, -> [3, h, w] and the shape scale_coords
// takes back: as detect.py, the gain min(h / h0, w / w0) and the padding ((w - w0 gain) / 2, (h - h0 gain) / 2)
// recomputed from the two sizes (the letterbox's rounding makes that up to half a pixel off the placed image).
struct DetectInput {
    Tensor image;
    LetterboxShape shape;
};
DetectInput detect_input(const Tensor& image, int64_t img_size, int64_t stride = 32, bool auto_pad = true);
// detect.py's --save-txt lines for detections [n, 6] in pixels of an image w0 x h0: "cls cx cy w h" (normalised,
// %g) plus " conf" with save_conf.
std::string detection_txt(const Tensor& detections, int64_t height0, int64_t width0, bool save_conf);

struct DetectOptions {
    std::string model = "yolov5s", weights, source;  // source: an image or a folder of images
    std::string data;                                // optional data.yaml for the class names
    int64_t img_size = 0;                            // 0: inference_size's default
    double conf_thres = 0.25, iou_thres = 0.45;
    int64_t max_det = 1000;
    std::vector<int64_t> classes;  // keep only these (empty: all)
    bool agnostic_nms = false;
    bool save_txt = false, save_conf = false;
    std::string output;    // "" : runs/detect/<model>
    Device device = kCPU;  // where the model runs (NMS and the drawing run on the host)
};
struct DetectResult {
    std::string image, picture, label_file;  // the source, the PNG written, labels/<stem>.txt ("" without save_txt)
    Tensor detections;                       // [n, 6] x1 y1 x2 y2 conf cls in the source image's pixels
};
// One image ([3, H, W] in [0, 1]) through detect.py's steps: letterbox to o.img_size, the model (in eval mode, on its
// own device, not o.device; call it without gradients), NMS with o's thresholds on the host, the boxes back in the
// image's pixels: [n, 6] x1 y1 x2 y2 conf cls on the host.
// input_size, when given, gets the letterboxed size the model saw.
Tensor detect_image(models::YOLOv5& model, const Tensor& image, const DetectOptions& o, Int2* input_size = nullptr);
// The boxes drawn on the image with "name conf" in each class's colour, as detect.py's pictures.
Tensor draw_detections(const Tensor& image, const Tensor& detections, const std::vector<std::string>& names);
// For each image: the boxes drawn with "name conf" on the original image as <output>/<stem>.png, and with save_txt
// <output>/labels/<stem>.txt (written, possibly empty, for every image).
std::vector<DetectResult> detect(const DetectOptions& options);

// Registers `nabla val MODEL` and `nabla detect MODEL` for yolov5n/s/m/l/x.
void add_detection_commands(CLI::App& app);

}  // namespace nabla::apps
