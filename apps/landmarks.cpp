// apps/landmarks.cpp — `nabla train|eval|predict pfld`: PFLD's trainer, its evaluation (NME, FR, AUC, CED) and
// prediction on images.
#include "apps/landmarks.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/data_check.h"
#include "apps/face_synth.h"
#include "apps/landmarks_data.h"
#include "apps/models.h"
#include "apps/progress.h"
#include "autograd/grad_mode.h"
#include "models/pfld/loss.h"
#include "models/pfld/pfld.h"
#include "nn/checkpoint.h"
#include "nn/data/draw.h"
#include "nn/data/folder.h"
#include "nn/data/functional.h"
#include "nn/data/image.h"
#include "nn/data/plot.h"
#include "nn/metrics.h"
#include "nn/optim/adam.h"
#include "ops/factory.h"
#include "ops/ops.h"

namespace nabla::apps {
namespace fs = std::filesystem;

namespace {

std::shared_ptr<models::PFLD> make_pfld(const std::vector<std::string>& set) {
    ModelArgs args(set);
    auto model = std::dynamic_pointer_cast<models::PFLD>(find_model("pfld").make(args));
    args.check_all_used("pfld");
    return model;
}

std::shared_ptr<models::PFLD> load_pfld(const std::vector<std::string>& set, const std::string& weights,
                                        Device device) {
    auto model = make_pfld(set_for_weights(set, weights));
    nn::load_weights_into(*model, weights, true, /*prefer_ema=*/true);
    model->eval();
    model->to(device);
    return model;
}

// The 98 points of flat landmarks [196] as pixels of a side x side crop: [98, 2].
Tensor crop_pixels(const Tensor& flat, double side) { return flat.reshape({kNumLandmarks, 2}) * side; }

// The held-out crops with the true points (green) and the predicted ones (red), one tile each; the model runs on its
// device.
void save_landmark_samples(models::PFLD& model, const LandmarkDataset& set, int64_t count, const std::string& path) {
    std::vector<Tensor> tiles;
    Generator gen(0);
    const Device device = device_of(model);
    for (int64_t i = 0; i < std::min<int64_t>(count, set.size()); ++i) {
        const auto ex = set.get(i, gen);  // {image BGR, landmarks, attributes, euler}
        const Tensor pred = model(ex[0].unsqueeze(0).to(device)).squeeze(0).to(kCPU);
        Tensor tile = swap_rb(ex[0]);
        tile = data::draw_points(tile, crop_pixels(ex[1], kLandmarkCrop), {0, 1, 0}, 1);
        tile = data::draw_points(tile, crop_pixels(pred, kLandmarkCrop), {1, 0, 0}, 1);
        tiles.push_back(tile);
    }
    data::save_image(stack(tiles), path, {.nrow = 4});
}

// Per-face squared L2 error (the reference's validation loss) and inter-ocular NME of one batch, the model run on its
// device and the errors computed on the host.
struct BatchErrors {
    std::vector<double> l2, nme;
};
BatchErrors batch_errors(models::PFLD& model, const Batch& b) {
    const Tensor pred = model(b[0].to(device_of(model))).to(kCPU);
    const Tensor l2 = sum(pow(pred - b[1], 2.0), {1}).to(kFloat64).contiguous();
    BatchErrors e;
    for (int64_t i = 0; i < l2.numel(); ++i) e.l2.push_back(l2.data_ptr<double>()[i]);
    e.nme = metrics::nme_inter_ocular(pred, b[1]);
    return e;
}

}  // namespace

std::string default_faces_dir() { return "data/generated/faces"; }

LandmarkEvalResult landmark_scores(const std::vector<double>& nmes, const std::vector<std::array<int64_t, 6>>& attrs) {
    NB_CHECK_VALUE(nmes.size() == attrs.size(), "landmark_scores: ", nmes.size(), " NMEs for ", attrs.size(), " faces");
    auto score = [](const std::vector<double>& v) {
        LandmarkScores s;
        s.faces = static_cast<int64_t>(v.size());
        if (v.empty()) return s;
        for (double x : v) s.nme += x;
        s.nme /= static_cast<double>(v.size());
        s.failure_rate = metrics::failure_rate(v, 0.1);
        s.auc = metrics::ced_auc(v, 0.1);
        return s;
    };
    LandmarkEvalResult r;
    r.nmes = nmes;
    r.all = score(nmes);
    for (size_t a = 0; a < kFaceAttributeNames.size(); ++a) {
        std::vector<double> subset;
        for (size_t i = 0; i < nmes.size(); ++i)
            if (attrs[i][a]) subset.push_back(nmes[i]);
        if (!subset.empty()) r.subsets.emplace_back(kFaceAttributeNames[a], score(subset));
    }
    return r;
}

TrainResult train_landmarks(LandmarkTrainOptions o) {
    prepare_run(o.train, "pfld");
    if (o.data.empty()) {
        o.data = default_faces_dir();
        if (!fs::exists(o.data)) {
            fmt::print("train pfld: no --data; generating synthetic faces into {}\n", o.data);
            generate_faces(o.data, {});
        }
    }
    LandmarkData d = find_landmark_data(o.data);
    const auto files = [](const FaceAnnotation& f) { return std::vector<std::string>{f.image}; };
    d.train = drop_corrupt("train", d.train, files, o.train.strict_data);
    d.test = drop_corrupt("val", d.test, files, o.train.strict_data);
    fmt::print("train pfld: {} training and {} held-out faces ({}) from {}, batch {}, Adam lr {}\n", d.train.size(),
               d.test.size(), d.format, o.data, o.train.batch, o.lr);
    auto train_set = std::make_shared<LandmarkDataset>(d.train, LandmarkTransform{.train = true, .repeat = o.repeat});
    auto val_set = std::make_shared<LandmarkDataset>(d.test, LandmarkTransform{.train = false});
    data::DataLoader loader(train_set,
                            for_this_run(o.train, {.batch_size = o.train.batch,
                                                   .shuffle = true,
                                                   .num_workers = o.train.workers,
                                                   .seed = o.train.seed,
                                                   .skip_errors = !o.train.strict_data}));  // drop_last=False
    data::DataLoader val_loader(val_set, {.batch_size = o.train.batch, .num_workers = o.train.workers});

    auto model = make_pfld(o.set);
    load_initial_weights(o.train, *model);
    // Two groups with the same hyperparameters, as the reference's [{backbone}, {auxiliarynet}].
    optim::Adam adam(
        {optim::ParamGroup(model->backbone->parameters()), optim::ParamGroup(model->auxiliarynet->parameters())},
        {.lr = o.lr, .weight_decay = o.weight_decay});
    optim::ReduceLROnPlateau plateau(adam, {.mode = optim::PlateauMode::min, .factor = 0.1, .patience = o.patience});

    TrainTask task{.model = model.get(), .optimizer = &adam, .loader = &loader};
    task.input_format = find_model("pfld").memory_format;
    task.loss = [&](const Batch& b, Logs& logs) {  // b: image, landmarks, attributes, euler
        const auto out = model->forward_outputs(b[0]);
        const auto loss = models::pfld_loss(b[2], b[1], b[3], out[2], out[1], o.train.batch);
        logs.emplace_back("l2", loss.l2.item<double>());
        return loss.weighted;
    };
    task.plateau = &plateau;
    task.plateau_metric = "val/loss";
    task.validate = [&] {
        std::vector<double> l2, nmes;
        for (auto& b : val_loader) {
            const auto e = batch_errors(*model, b);
            l2.insert(l2.end(), e.l2.begin(), e.l2.end());
            nmes.insert(nmes.end(), e.nme.begin(), e.nme.end());
        }
        double mean_l2 = 0;
        for (double v : l2) mean_l2 += v / static_cast<double>(l2.size());
        double nme = 0;
        for (double v : nmes) nme += v / static_cast<double>(nmes.size());
        return Logs{{"val/loss", mean_l2},
                    {"val/nme", nme},
                    {"val/fr", metrics::failure_rate(nmes, 0.1)},
                    {"val/auc", metrics::ced_auc(nmes, 0.1)}};
    };
    task.best_metric = "val/nme";
    task.maximize = false;
    task.save_samples = [&](const std::string& path) { save_landmark_samples(*model, *val_set, 8, path); };
    task.config_json = nlohmann::ordered_json{
        {"task", "landmarks"},
        {"model", "pfld"},
        {"data", o.data},
        {"lr", o.lr},
        {"weight_decay", o.weight_decay},
        {"patience", o.patience},
        {"repeat", o.repeat},
        {"epochs", o.train.epochs},
        {"batch", o.train.batch},
        {"seed", o.train.seed},
        {"set", o.set}}.dump();
    TrainResult r = fit(o.train, task);
    fmt::print("train pfld: loss {:.4f} -> {:.4f} in {} steps; {}; results in {}\n", r.first_loss, r.last_loss, r.steps,
               best_text(r, "val/nme"), r.run_dir);
    return r;
}

LandmarkEvalResult evaluate_landmarks(const std::string& weights, const std::string& data, const std::string& ced_png,
                                      const std::vector<std::string>& set, Device device) {
    auto model = load_pfld(set, weights, device);
    const LandmarkData d = find_landmark_data(data);
    auto test_set = std::make_shared<LandmarkDataset>(d.test, LandmarkTransform{.train = false});
    data::DataLoader loader(test_set, {.batch_size = 32});
    autograd::NoGradGuard no_grad;
    std::vector<double> nmes;
    ProgressBar bar("eval pfld", loader.size());
    for (auto& b : loader) {
        const auto e = batch_errors(*model, b);
        nmes.insert(nmes.end(), e.nme.begin(), e.nme.end());
        bar.update();
    }
    bar.close();
    std::vector<std::array<int64_t, 6>> attrs;
    for (const auto& face : d.test) attrs.push_back(face.attributes);
    LandmarkEvalResult r = landmark_scores(nmes, attrs);
    if (!ced_png.empty()) {
        data::Series curve{"pfld", {}, metrics::ced(nmes, 0.1, 1001)};
        for (int64_t k = 0; k < 1001; ++k) curve.x.push_back(0.1 * static_cast<double>(k) / 1000.0);
        if (fs::path(ced_png).has_parent_path()) fs::create_directories(fs::path(ced_png).parent_path());
        data::plot_curves(
            ced_png,
            fmt::format("CED (NME {:.4f}, FR@0.1 {:.4f}, AUC@0.1 {:.4f})", r.all.nme, r.all.failure_rate, r.all.auc),
            {curve});
    }
    return r;
}

FaceBox parse_face_box(const std::string& text) {
    FaceBox box{};
    std::string rest = text;
    for (size_t i = 0; i < 4; ++i) {
        const auto comma = rest.find(',');
        const std::string field = rest.substr(0, comma);
        try {
            size_t end = 0;
            box[i] = std::stod(field, &end);
            if (end != field.size()) throw std::invalid_argument(field);
        } catch (const std::exception&) {
            throw ValueError(fmt::format("--box {}: expects x1,y1,x2,y2 in pixels", text));
        }
        if ((comma == std::string::npos) != (i == 3))
            throw ValueError(fmt::format("--box {}: expects x1,y1,x2,y2 in pixels", text));
        rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    }
    if (box[2] <= box[0] || box[3] <= box[1])
        throw ValueError(fmt::format("--box {}: x2 must be > x1 and y2 > y1", text));
    return box;
}

Tensor face_landmarks(nn::Module& pfld, const Tensor& image, const std::optional<FaceBox>& box) {
    const double h = static_cast<double>(image.size(1)), w = static_cast<double>(image.size(2));
    // The crop the network sees and the map from its [0, 1] coordinates back to the image's pixels.
    Tensor crop;
    double x0 = 0, y0 = 0, sx = w, sy = h;
    if (box) {
        Landmarks corners{};
        for (auto& p : corners) p = {(*box)[0], (*box)[1]};
        corners[1] = {(*box)[2], (*box)[3]};
        const FaceCrop c = base_crop(image, corners);
        crop = c.image;
        x0 = static_cast<double>(c.window.x), y0 = static_cast<double>(c.window.y);
        sx = sy = static_cast<double>(c.window.size);
    } else {
        crop = data::resize(image, {kLandmarkCrop, kLandmarkCrop});
    }
    const Tensor out = pfld(pfld_input(crop).unsqueeze(0).to(device_of(pfld)));  // [1, 196] where the model is
    const Tensor pred = out.squeeze(0).to(kCPU).to(kFloat64).contiguous();
    const double* p = pred.data_ptr<double>();
    std::vector<double> pixels;
    for (int64_t k = 0; k < kNumLandmarks; ++k) {
        pixels.push_back(x0 + p[2 * k] * sx);
        pixels.push_back(y0 + p[2 * k + 1] * sy);
    }
    return from_vector(pixels, {kNumLandmarks, 2});
}

Tensor draw_landmarks(const Tensor& image, const Tensor& points) {
    const int64_t radius = std::max<int64_t>(1, std::max(image.size(1), image.size(2)) / 200);
    return data::draw_points(image, points, {1, 0, 0}, radius);
}

int64_t predict_landmarks(const std::string& weights, const std::string& input, const std::string& output,
                          const std::optional<FaceBox>& box, const std::vector<std::string>& set, Device device) {
    auto model = load_pfld(set, weights, device);
    const std::vector<std::string> files =
        fs::is_directory(input) ? data::list_images(input) : std::vector<std::string>{input};
    fs::create_directories(output);
    autograd::NoGradGuard no_grad;
    ProgressBar bar("predict pfld", static_cast<int64_t>(files.size()));
    for (const auto& file : files) {
        const Tensor image = data::to_tensor(data::read_image(file, data::ImageMode::RGB));  // [3, H, W] in [0, 1]
        const Tensor points = face_landmarks(*model, image, box);
        const std::string stem = fs::path(file).stem().string();
        const fs::path txt_path = fs::path(output) / (stem + ".txt");
        std::ofstream txt(txt_path);
        const double* p = points.data_ptr<double>();
        for (int64_t k = 0; k < kNumLandmarks; ++k) txt << fmt::format("{:.2f} {:.2f}\n", p[2 * k], p[2 * k + 1]);
        if (!txt) throw Error(fmt::format("predict pfld: cannot write {}", txt_path.string()));
        data::write_png((fs::path(output) / (stem + "_landmarks.png")).string(),
                        data::to_uint8(draw_landmarks(image, points)));
        bar.update();
    }
    bar.close();
    return static_cast<int64_t>(files.size());
}

namespace {

// --weights, --set and --device of `eval pfld` and `predict pfld`.
void add_weights_and_set_options(CLI::App* cmd, std::string& weights, std::vector<std::string>& set, Device& device,
                                 const std::string& device_help) {
    cmd->add_option("--weights", weights,
                    "A checkpoint (its EMA weights if any) or a plain state dict (default: the shipped " +
                        shipped_weights_path("pfld") + ", when it exists)")
        ->check(CLI::ExistingFile);
    cmd->add_option(
        "--set", set,
        "Model arguments key=value, as in training (default: the training run's, read from the weights file)");
    add_device_option(cmd, device, device_help);
}

}  // namespace

void add_landmark_commands(CLI::App* train, CLI::App* eval, CLI::App* predict) {
    const std::string what = find_model("pfld").description;
    const std::string data_help =
        "A WFLW root (WFLW_annotations/list_98pt_rect_attr_train_test/ and WFLW_images/), a folder with PFLD's "
        "prepared train_data/list.txt and test_data/list.txt, or a folder written by `nabla generate faces`";
    {
        auto o = std::make_shared<LandmarkTrainOptions>();
        o->train.epochs = 40, o->train.batch = 256;
        auto* cmd = train->add_subcommand("pfld", "Train " + what);
        cmd->add_option("--data", o->data,
                        data_help + " (default: synthetic faces generated into " + default_faces_dir() + ")");
        cmd->add_option("--lr", o->lr, "Adam learning rate")->capture_default_str()->check(finite_non_negative());
        cmd->add_option("--weight-decay", o->weight_decay, "Adam weight decay (added to the gradient, as torch)")
            ->capture_default_str();
        cmd->add_option("--patience", o->patience,
                        "ReduceLROnPlateau: epochs without a lower validation loss before the lr is divided by 10")
            ->capture_default_str();
        cmd->add_option("--repeat", o->repeat,
                        "Augmented examples of each training face per epoch (the reference prepares 10 offline)")
            ->capture_default_str();
        cmd->add_option("--set", o->set, "Model arguments key=value (width=0.25 for the paper's 0.25X)");
        add_train_options(cmd, o->train);
        cmd->callback([o] { train_landmarks(*o); });
    }
    {
        struct EvalOptions {
            std::string weights, data, json, ced = "runs/pfld_eval/ced.png";
            std::vector<std::string> set;
            Device device = kCPU;
        };
        auto o = std::make_shared<EvalOptions>();
        auto* cmd = eval->add_subcommand("pfld",
                                         "Evaluate pfld on a test split: NME (inter-ocular), failure rate and AUC "
                                         "at 0.1, overall and per WFLW attribute, and a CED plot");
        add_weights_and_set_options(cmd, o->weights, o->set, o->device,
                                    "where PFLD runs; each batch of crops is copied there and the predicted points "
                                    "back to the host, where NME, FR, AUC and the CED plot are computed");
        cmd->add_option("--data", o->data, data_help + "; its test split is evaluated")->required();
        cmd->add_option("--ced", o->ced, "Where to write the cumulative error distribution as PNG")
            ->capture_default_str();
        cmd->add_option("--json", o->json, "Also write the result to this JSON file");
        cmd->callback([o] {
            const auto r =
                evaluate_landmarks(resolve_weights(o->weights, "pfld", "eval"), o->data, o->ced, o->set, o->device);
            auto scores = [](const LandmarkScores& s) {
                return nlohmann::ordered_json{
                    {"faces", s.faces}, {"nme", s.nme}, {"fr@0.1", s.failure_rate}, {"auc@0.1", s.auc}};
            };
            nlohmann::ordered_json j{{"model", "pfld"}, {"data", o->data}, {"all", scores(r.all)}};
            for (const auto& [name, s] : r.subsets) j["subsets"][name] = scores(s);
            fmt::print("{}\n", j.dump());
            fmt::print("eval pfld: CED curve in {}\n", o->ced);
            if (!o->json.empty()) std::ofstream(o->json) << j.dump(2) << "\n";
        });
    }
    {
        struct PredictOptions {
            std::string weights, input, output, box;
            std::vector<std::string> set;
            Device device = kCPU;
        };
        auto o = std::make_shared<PredictOptions>();
        auto* cmd = predict->add_subcommand("pfld",
                                            "Predict 98 landmarks with pfld: <stem>_landmarks.png (points drawn on "
                                            "the image) and <stem>.txt (98 lines 'x y' in pixels)");
        add_weights_and_set_options(cmd, o->weights, o->set, o->device,
                                    "where PFLD runs; each face crop is copied there and its points back to the "
                                    "host, where they are drawn and written");
        cmd->add_option("--input", o->input, "An image or a folder of images")->required();
        cmd->add_option("--output", o->output, "Folder for the pictures and point files")->required();
        cmd->add_option("--box", o->box,
                        "The face as x1,y1,x2,y2 in pixels: the training crop (1.2 x the longer side, centred) is cut "
                        "around it; without it each image is taken as the face crop");
        cmd->callback([o] {
            std::optional<FaceBox> box;
            if (!o->box.empty()) box = parse_face_box(o->box);
            const int64_t n = predict_landmarks(resolve_weights(o->weights, "pfld", "predict"), o->input, o->output,
                                                box, o->set, o->device);
            fmt::print("predict pfld: {} image(s) -> {}\n", n, o->output);
        });
    }
}

}  // namespace nabla::apps
