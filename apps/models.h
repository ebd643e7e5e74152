// apps/models.h — the models the command line knows, by name: how to build one, the shape of its input, and the
// loss and optimizer of its training step, so that `nabla bench`, `nabla forward` and `nabla info` work on every
// model the same way. Adding a model is one entry in apps/models.cpp.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/generator.h"
#include "core/tensor.h"
#include "nn/module.h"
#include "nn/optim/optimizer.h"

namespace nabla::apps {

// Constructor arguments given on the command line as `--set key=value` (e.g. `--set blocks=4`).
class ModelArgs {
public:
    ModelArgs() = default;
    explicit ModelArgs(const std::vector<std::string>& key_values);  // "key=value" each; an error names a bad one
    int64_t get_int(const std::string& key, int64_t fallback) const;
    double get_double(const std::string& key, double fallback) const;
    std::string get_string(const std::string& key, const std::string& fallback) const;
    // One of `choices` (the first is the default); another value is a ValueError naming the key and the choices.
    std::string get_choice(const std::string& key, const std::vector<std::string>& choices) const;
    // Throws if a key was given that no get_* asked for (a typo should not be silently ignored).
    void check_all_used(const std::string& model) const;

private:
    std::map<std::string, std::string> values_;
    mutable std::map<std::string, bool> used_;
};

struct ModelSpec {
    std::string name, description;
    int64_t in_channels = 3;
    int64_t input_size = 288;  // the side it trains at: `nabla info` and `nabla bench` use it when --size is not given
    // The layout its trainer and `nabla bench` give the images in. ChannelsLast where every op of the network keeps it
    // (conv, batch norm, elementwise: PFLD, YOLOv5) and it is faster; U²-Net and PANet stay NCHW until their pooling,
    // upsampling and cat keep channels-last too (channels-last U²-Net: 2.6 s a step against 1.9 s).
    MemoryFormat memory_format = MemoryFormat::Contiguous;
    std::function<std::shared_ptr<nn::Module>(const ModelArgs&)> make;
    // The training step's loss for `nabla bench` on synthetic data: the model (YOLO's loss reads its anchors), the
    // outputs of call_outputs() in training mode and a target made by make_target for the input's shape. The
    // model's own loss (models/<name>/loss.h), as its trainer computes it.
    std::function<Tensor(const Shape& input_shape, Generator& gen)> make_target;
    std::function<Tensor(nn::Module& model, const std::vector<Tensor>& outputs, const Tensor& target)> loss;
    // The trainer's default optimizer.
    std::function<std::unique_ptr<optim::Optimizer>(nn::Module& model)> make_optimizer;
};

const std::vector<ModelSpec>& model_registry();
const ModelSpec& find_model(const std::string& name);  // the error lists the known names
std::string model_names();                             // "tinyseg, u2net, ..." for --help texts

// Where a model's weights live: its first parameter's device (its first buffer's when it has no parameter; kCPU when
// it has neither). The eval and predict helpers move their inputs there and bring the outputs back with .to(kCPU),
// so they run wherever the caller put the model (`--device`, Module::to).
Device device_of(const nn::Module& model);

// The weights the project ships for a model: "data/weights/<model>.safetensors", relative to the working directory
// (as data/photos is).
std::string shipped_weights_path(const std::string& model);
// The weights an inference command uses: `weights` when given; else the shipped file when it exists, with a line
// "<command> <model>: using the shipped weights data/weights/<model>.safetensors" on stderr; else, when `required`,
// an Error "<command> <model>: no --weights given and no shipped weights at data/weights/<model>.safetensors", and
// "" when not (`nabla serve` then runs the initial weights).
std::string resolve_weights(const std::string& weights, const std::string& model, const char* command,
                            bool required = true);

// The model arguments to build the network of the weights file `weights` with: `set` when given, else the --set of
// the training run that wrote the file (the "set" of its "config" metadata, which checkpoints and `nabla export` files
// carry), so a network trained with --set loads for eval and predict without repeating it. Empty without either.
std::vector<std::string> set_for_weights(const std::vector<std::string>& set, const std::string& weights);
// The "set" array (model arguments KEY=VALUE) of a run's parsed config (parse_config, config_of_weights), as
// trainers write it; empty when absent.
std::vector<std::string> set_of_config(const nlohmann::json& config);
// A run's config JSON (TrainTask::config_json) parsed: a JSON object, empty when `config_json` is empty or not an
// object.
nlohmann::json parse_config(const std::string& config_json);
// The config of the training run that wrote a weights file (its "config" metadata, which checkpoints and `nabla
// export` files carry), read from the header alone: parse_config of it, an empty object without one. A file that
// cannot be read is an Error naming it.
nlohmann::json config_of_weights(const std::string& weights);
// A field of a parsed run config: its value when present and of the type asked for, else `fallback` (a config from
// another version or tool costs the field, never a JSON type error that names no file).
int64_t config_int(const nlohmann::json& config, const std::string& key, int64_t fallback);
double config_double(const nlohmann::json& config, const std::string& key, double fallback);
std::string config_string(const nlohmann::json& config, const std::string& key, const std::string& fallback);

}  // namespace nabla::apps
