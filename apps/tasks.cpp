// apps/tasks.cpp — `nabla train|eval|predict MODEL`: the three parent commands; each task file adds its models.
#include "apps/commands.h"
#include "apps/detection_train.h"
#include "apps/landmarks.h"
#include "apps/segmentation.h"
#include "core/autocast.h"

namespace nabla::apps {

void add_precision_option(CLI::App* cmd) {
    cmd->add_option_function<std::string>(
           "--precision", [](const std::string& v) { set_autocast_precision(parse_precision(v.c_str())); },
           "fp32, or bf16: the model's convolutions in bfloat16 with float32 accumulation, everything else float32 "
           "(torch.autocast on the CPU; core/autocast.h)")
        ->check(CLI::IsMember({"fp32", "bf16"}))
        ->default_str("fp32");
}

void add_task_commands(CLI::App& app) {
    auto* train = app.add_subcommand("train", "Train a model (`nabla train MODEL --help` for its options)");
    auto* eval = app.add_subcommand("eval", "Evaluate a model's weights on a dataset");
    auto* predict = app.add_subcommand("predict", "Run a model on images and save its outputs as pictures");
    for (auto* cmd : {train, eval, predict}) cmd->require_subcommand(1);
    add_segmentation_commands(train, eval, predict);
    add_super_resolution_commands(train, eval, predict);
    add_landmark_commands(train, eval, predict);
    add_detection_train_commands(train);
    for (auto* parent : {eval, predict})
        for (auto* cmd : parent->get_subcommands({})) add_precision_option(cmd);
}

}  // namespace nabla::apps
