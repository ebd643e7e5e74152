// apps/serve.cpp — `nabla serve` (apps/serve.h): the models behind /api/run, the HTTP routes, and the command.
#include "apps/serve.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <queue>
#include <thread>

#include "apps/detection.h"
#include "apps/landmarks.h"
#include "apps/models.h"
#include "apps/segmentation.h"
#include "apps/serve_page.h"
#include "apps/super_resolution_data.h"
#include "autograd/grad_mode.h"
#include "nn/checkpoint.h"
#include "nn/data/folder.h"
#include "nn/data/functional.h"
#include "nn/data/image.h"
#include "ops/ops.h"

namespace nabla::apps {
namespace fs = std::filesystem;

namespace {

std::shared_ptr<nn::Module> load(const std::string& name, const std::string& weights) {
    ModelArgs args(set_for_weights({}, weights));  // the network the weights were trained as (their run's --set)
    auto model = find_model(name).make(args);
    args.check_all_used(name);
    if (!weights.empty()) nn::load_weights_into(*model, weights, /*strict=*/true, /*prefer_ema=*/true);
    model->eval();
    return model;
}

std::mutex g_server_mutex;
httplib::Server* g_server = nullptr;  // the running serve()'s server, for stop_serving()

// One thread that runs every model call of the server, one at a time. oneDNN (Debian's 2.6 build) keeps its
// primitives' default scratchpad per thread: a convolution created on one of the HTTP server's threads and run later
// on another wrote outside its scratchpad and crashed the server on the second request. Running every call on this
// thread keeps creation and execution together.
class ModelThread {
public:
    ModelThread() : worker_([this] { loop(); }) {}
    ~ModelThread() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        ready_.notify_one();
        worker_.join();
    }
    // Runs f() on the model thread and returns its result, or rethrows its exception, here.
    template <class F>
    auto run(F f) -> decltype(f()) {
        auto task = std::make_shared<std::packaged_task<decltype(f())()>>(std::move(f));
        auto result = task->get_future();
        {
            std::lock_guard<std::mutex> lock(mutex_);
            jobs_.push([task] { (*task)(); });
        }
        ready_.notify_one();
        return result.get();
    }

private:
    void loop() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                ready_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
                if (jobs_.empty()) return;  // stopping, nothing left
                job = std::move(jobs_.front());
                jobs_.pop();
            }
            job();
        }
    }

    std::mutex mutex_;
    std::condition_variable ready_;
    std::queue<std::function<void()>> jobs_;
    bool stop_ = false;
    std::thread worker_;  // last: started once the members it uses exist
};

}  // namespace

struct ServeModels::Impl {
    ServeOptions o;
    std::shared_ptr<nn::Module> u2netp, panet, pfld;
    LoadedDetector yolo;
};

ServeModels::ServeModels(const ServeOptions& o) : impl_(std::make_unique<Impl>()) {
    impl_->o = o;
    // Each model: the given weights, else the shipped data/weights/<model>.safetensors, else its initial weights.
    auto weights = [](const std::string& given, const char* model) {
        return resolve_weights(given, model, "serve", /*required=*/false);
    };
    const std::string u2netp_weights = weights(o.u2netp_weights, "u2netp");
    impl_->u2netp = load("u2netp", u2netp_weights);
    impl_->o.mask_size = segmentation_size(o.mask_size, u2netp_weights, 320);
    impl_->panet = load("panet", weights(o.panet_weights, "panet"));
    impl_->pfld = load("pfld", weights(o.pfld_weights, "pfld"));
    if (const std::string yolo = weights(o.yolo_weights, "yolov5s"); yolo.empty()) {
        // YOLOv5s for COCO's 80 classes, initial weights: class numbers for names
        impl_->yolo.model = std::make_shared<models::YOLOv5>("yolov5s", models::YOLOv5Args{});
        impl_->yolo.model->eval();
    } else {
        impl_->yolo = load_detector("yolov5s", yolo);  // nc, widths and names from the weights
    }
}

ServeModels::~ServeModels() = default;

ServeResult ServeModels::run(const std::string& task, const std::string& bytes, const std::string& filename) {
    const ServeOptions& o = impl_->o;
    if (task != "mask" && task != "upscale" && task != "landmarks" && task != "boxes")
        throw ValueError(fmt::format("unknown task '{}': choose mask, upscale, landmarks or boxes", task));
    const std::string name = filename.empty() ? "the upload" : filename;
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    const Int2 size = data::image_size(data, bytes.size(), name);  // before decoding: an Error names what is wrong
    const int64_t limit = task == "upscale" ? o.max_upscale_pixels : o.max_image_pixels;
    if (task == "upscale" && (size.h < 8 || size.w < 8))
        throw ValueError(
            fmt::format("{} is {}x{} pixels, too small to upscale (under 8 a side)", name, size.w, size.h));
    if (size.h * size.w > limit)
        throw ValueError(fmt::format("{} is {}x{} pixels; the {} task takes at most {} pixels (about {}x{})", name,
                                     size.w, size.h, task, limit, static_cast<int64_t>(std::sqrt(limit)),
                                     static_cast<int64_t>(std::sqrt(limit))));
    const Tensor image = data::to_tensor(data::decode_image(data, bytes.size(), data::ImageMode::RGB, name));
    NoGradGuard no_grad;
    const auto start = std::chrono::steady_clock::now();
    Tensor result;  // [C, H, W] in [0, 1]
    if (task == "mask") {
        result = predict_mask(*impl_->u2netp, image, o.mask_size);
    } else if (task == "upscale") {
        result = to_unit(upscale_tiled(*impl_->panet, image * 2.0 - 1.0));
    } else if (task == "landmarks") {  // the upload is the face crop
        result = draw_landmarks(image, face_landmarks(*impl_->pfld, image));
    } else {
        const Tensor boxes =
            detect_image(*impl_->yolo.model, image, {.img_size = inference_size(o.detect_size, impl_->yolo)});
        result = draw_detections(image, boxes, impl_->yolo.names);
    }
    ServeResult r;
    r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    r.png = data::encode_png(data::to_uint8(result));
    r.height = result.size(1), r.width = result.size(2);
    return r;
}

void serve(const ServeOptions& o, const std::function<void(int port)>& on_ready) {
    ServeModels models(o);
    ModelThread model_thread;  // one request at a time through the models, all on one thread
    httplib::Server server;
    server.set_payload_max_length(static_cast<size_t>(o.max_upload_mb) << 20);
    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(kServePage, "text/html; charset=utf-8");
    });
    server.Get("/api/sample", [&](const httplib::Request& req, httplib::Response& res) {  // ?side=N: long side <= N
        const auto files = fs::is_directory(o.sample) ? data::list_images(o.sample, true) : std::vector<std::string>{};
        if (files.empty()) {
            res.status = 404;
            res.set_content("no sample photo under " + o.sample, "text/plain");
            return;
        }
        Tensor photo;
        try {
            photo = data::to_tensor(data::read_image(files.front(), data::ImageMode::RGB));
        } catch (const Error& e) {
            res.status = 500;
            res.set_content(e.what(), "text/plain; charset=utf-8");
            return;
        }
        const int64_t side = req.has_param("side")
                                 ? std::clamp<int64_t>(std::atoll(req.get_param_value("side").c_str()), 8, 4096)
                                 : 4096;
        const int64_t h = photo.size(1), w = photo.size(2), longest = std::max(h, w);
        if (longest > side)
            photo = data::resize(photo,
                                 {std::max<int64_t>(1, h * side / longest), std::max<int64_t>(1, w * side / longest)},
                                 data::Interpolation::Bilinear, /*antialias=*/true);
        res.set_content(data::encode_png(data::to_uint8(photo)), "image/png");
    });
    server.Post("/api/run", [&](const httplib::Request& req, httplib::Response& res) {
        try {
            if (!req.has_file("image")) throw ValueError("no image in the request (a form field named 'image')");
            const auto image = req.get_file_value("image");
            const std::string task = req.has_file("task") ? req.get_file_value("task").content : "mask";
            const ServeResult r = model_thread.run([&] { return models.run(task, image.content, image.filename); });
            res.set_header("X-Nabla-Ms", fmt::format("{:.0f}", r.ms));
            res.set_header("X-Nabla-Size", fmt::format("{}x{}", r.width, r.height));
            res.set_content(r.png, "image/png");
        } catch (const std::exception& e) {  // bad input: the message for the page, the server keeps running
            res.status = 400;
            res.set_content(e.what(), "text/plain; charset=utf-8");
        }
    });
    server.set_error_handler([&](const httplib::Request&, httplib::Response& res) {
        if (res.status == 413)
            res.set_content(fmt::format("the file is larger than {} MB", o.max_upload_mb), "text/plain");
    });
    const int port =
        o.port == 0 ? server.bind_to_any_port(o.host) : (server.bind_to_port(o.host, o.port) ? o.port : -1);
    if (port < 0) throw Error(fmt::format("serve: cannot listen on {}:{}", o.host, o.port));
    {
        std::lock_guard<std::mutex> lock(g_server_mutex);
        g_server = &server;
    }
    fmt::print("serving on http://{}:{}/ (Ctrl-C stops)\n", o.host, port);
    std::fflush(stdout);
    if (on_ready) on_ready(port);
    server.listen_after_bind();
    std::lock_guard<std::mutex> lock(g_server_mutex);
    g_server = nullptr;
}

void stop_serving() {
    std::lock_guard<std::mutex> lock(g_server_mutex);
    if (g_server) g_server->stop();
}

void add_serve_command(CLI::App& app) {
    auto o = std::make_shared<ServeOptions>();
    auto* cmd =
        app.add_subcommand("serve",
                           "A local web page to try the models on your own photos: drop an image, get a "
                           "U2NETP mask, a PANet x2 upscale, PFLD's face landmarks or YOLOv5s boxes next to it");
    cmd->add_option("--host", o->host, "Address to listen on (127.0.0.1: this machine only)")->capture_default_str();
    cmd->add_option("--port", o->port, "Port (0: any free one, printed)")
        ->capture_default_str()
        ->check(CLI::Range(0, 65535));
    // Without one: the shipped file when it exists, else the untrained network (a tour of the page, not a result).
    const std::string otherwise = ", when it exists; else the initial weights)";
    cmd->add_option("--u2netp-weights", o->u2netp_weights,
                    "U2NETP weights for the mask task (a checkpoint or state dict; default: the shipped " +
                        shipped_weights_path("u2netp") + otherwise);
    cmd->add_option(
        "--panet-weights", o->panet_weights,
        "PANet weights for the x2 upscale task (default: the shipped " + shipped_weights_path("panet") + otherwise);
    cmd->add_option("--pfld-weights", o->pfld_weights,
                    "PFLD weights for the landmarks task, the upload being a face crop (default: the shipped " +
                        shipped_weights_path("pfld") + otherwise);
    cmd->add_option("--yolo-weights", o->yolo_weights,
                    "YOLOv5s weights for the boxes task, classes and names from the weights (default: the shipped " +
                        shipped_weights_path("yolov5s") +
                        ", when it exists; else the initial weights for COCO's 80 classes, numbered)");
    cmd->add_option("--max-upload-mb", o->max_upload_mb, "Largest upload accepted, in MB")
        ->capture_default_str()
        ->check(CLI::Range(int64_t{1}, int64_t{1024}));
    cmd->add_option("--sample", o->sample, "Folder of photos the page's self-test takes its image from")
        ->capture_default_str();
    cmd->callback([o] { serve(*o); });
}

}  // namespace nabla::apps
