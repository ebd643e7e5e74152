// apps/serve.h — `nabla serve`: a local web page for trying the models on one's own photos (U²-Net's reference ships
// a desktop GUI; this is its browser equivalent). One page (apps/serve_page.h) where a user drops or picks an image,
// chooses the task (a U2NETP mask, a PANet x2 upscale, PFLD's 98 landmarks of a face crop, or YOLOv5s boxes), and
// sees input and result side by side with the time taken
// and a download link. The server (cpp-httplib) binds 127.0.0.1 by default and answers:
//   GET  /              the page
//   POST /api/run       multipart form: `image` (the file) and `task` (mask | upscale | landmarks | boxes); the
//                       result as PNG, with
//                       X-Nabla-Ms (milliseconds of model time) and X-Nabla-Size (WxH); a bad request gets 400 and a
//                       message naming what is wrong, a too large body 413
//   GET  /api/sample    a bundled photo (data/photos; ?side=N: its long side at most N pixels), which the page's
//                       self-test (/?selftest=mask) uploads
// Uploads are checked before any decoding (size limit, header, pixel limit per task); requests run one at a time
// through the models; nothing is written to disk.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>

namespace nabla::apps {

struct ServeOptions {
    std::string host = "127.0.0.1";
    int port = 8080;  // 0: any free port (printed)
    // Empty: the shipped data/weights/<model>.safetensors when it exists (apps/models.h resolve_weights), else the
    // architecture with its initial weights.
    std::string u2netp_weights, panet_weights, pfld_weights, yolo_weights;
    int64_t max_upload_mb = 20;
    int64_t max_image_pixels = int64_t{4096} * 4096;    // an image for the mask, landmarks or boxes task, at most
    int64_t max_upscale_pixels = int64_t{1024} * 1024;  // for x2 upscaling (its output has 4 times as many)
    int64_t mask_size = 0;    // U2NETP's input side (0: its weights' training size, apps/segmentation.h)
    int64_t detect_size = 0;  // YOLOv5s's letterbox size (detect.py's --img-size; 0: inference_size's default)
    std::string sample = "data/photos";  // where /api/sample takes its photo from
};

// What one request produced: the PNG, its size, and the model's time.
struct ServeResult {
    std::string png;
    int64_t width = 0, height = 0;
    double ms = 0;
};

// The models and the work behind /api/run, without HTTP (tested on its own). Not thread-safe: the server serialises.
class ServeModels {
public:
    explicit ServeModels(const ServeOptions& o);
    ~ServeModels();
    // Runs `task` (mask | upscale | landmarks | boxes) on the image in `bytes`; an Error says what is wrong with the
    // request.
    ServeResult run(const std::string& task, const std::string& bytes, const std::string& filename);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Serves until stopped (Ctrl-C). on_ready(port) is called once it listens (tests use it to learn the port).
void serve(const ServeOptions& o, const std::function<void(int port)>& on_ready = {});
// Asks a running serve() to return (from another thread or a signal handler's flag poll).
void stop_serving();

void add_serve_command(CLI::App& app);

}  // namespace nabla::apps
