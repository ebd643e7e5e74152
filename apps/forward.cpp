// apps/forward.cpp — `nabla forward MODEL`: runs a model on a tensor from a file and writes its outputs (and, with
// --backward, every parameter's gradient). It is how a user checks a weight conversion from PyTorch: run the same
// model there on the same input and compare the files (scripts/compare_safetensors.py does that).
//   nabla forward u2netp --weights u2netp.safetensors --input x.safetensors --output y.safetensors --backward
// Output keys: out0, out1, ... in the model's output order; with --backward also one key per parameter, its
// state-dict name, holding d(sum over outputs of out.sum())/d(parameter).
#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/models.h"
#include "autograd/grad_mode.h"
#include "nn/checkpoint.h"
#include "ops/factory.h"
#include "ops/ops.h"

namespace nabla::apps {
namespace {

struct ForwardOptions {
    std::string model, weights, input, output;
    bool train = false, backward = false;
    std::vector<std::string> set;
};

void run_forward(const ForwardOptions& o) {
    const ModelSpec& spec = find_model(o.model);
    ModelArgs args(o.set);
    manual_seed(0);  // the same initial weights on every run when no --weights are given
    auto model = spec.make(args);
    args.check_all_used(spec.name);
    if (!o.weights.empty()) nn::load_weights_into(*model, o.weights, /*strict=*/true);
    model->train(o.train);

    const TensorMap inputs = load_safetensors(o.input);
    auto it = inputs.find("input");
    if (it == inputs.end()) {
        std::string keys;
        for (const auto& [k, v] : inputs) keys += (keys.empty() ? "" : ", ") + k;
        throw ValueError(fmt::format("forward: {} has no tensor named 'input' (it has: {})", o.input, keys));
    }
    const Tensor x = it->second.to(kFloat32);

    TensorMap result;
    std::vector<Tensor> outputs;
    if (o.backward) {
        outputs = model->call_outputs(x);
        Tensor total = scalar_tensor(0.0);
        for (const auto& out : outputs) total = total + out.sum();
        total.backward();
        for (const auto& [name, p] : model->named_parameters()) {
            Tensor g = p.grad();
            result[name] = g.defined() ? g : zeros_like(p);
        }
    } else {
        autograd::NoGradGuard no_grad;
        outputs = model->call_outputs(x);
    }
    for (size_t i = 0; i < outputs.size(); ++i) result[fmt::format("out{}", i)] = outputs[i].detach();
    save_safetensors(o.output, result, {{"model", spec.name}, {"mode", o.train ? "train" : "eval"}});
    fmt::print("forward: {} on input {} -> {} outputs{} written to {}\n", spec.name, shape_str(x.shape()),
               outputs.size(), o.backward ? fmt::format(" and {} gradients", model->named_parameters().size()) : "",
               o.output);
}

}  // namespace

void add_forward_command(CLI::App& app) {
    auto o = std::make_shared<ForwardOptions>();
    auto* cmd = app.add_subcommand("forward",
                                   "Run a model on the tensor 'input' of a safetensors file and write its "
                                   "outputs (and gradients) to another, to check a weight conversion");
    cmd->add_option("model", o->model, "Model name: " + model_names())->required();
    cmd->add_option("--weights", o->weights,
                    "Weights (.safetensors, a plain state dict or a Nabla checkpoint), "
                    "loaded strictly; without it the model keeps its seeded initial weights")
        ->check(CLI::ExistingFile);
    cmd->add_option("--input", o->input, "Safetensors file with a tensor named 'input' [N, C, H, W]")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--output", o->output, "Safetensors file to write: out0, out1, ... (and gradients)")->required();
    cmd->add_flag("--train", o->train,
                  "Run in training mode (BatchNorm uses batch statistics and updates its "
                  "running statistics)");
    cmd->add_flag("--backward", o->backward,
                  "Also write d(sum of all outputs' sums)/d(parameter) for every "
                  "parameter, keyed by its state-dict name (zeros for a parameter the outputs do not use, "
                  "such as PFLD's bn8)");
    cmd->add_option("--set", o->set, "Model constructor argument KEY=VALUE (repeatable)");
    cmd->callback([o] { run_forward(*o); });
}

}  // namespace nabla::apps
