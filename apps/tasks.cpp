// apps/tasks.cpp — `nabla train|eval|predict MODEL`: the three parent commands; each task file adds its models.
#include "apps/commands.h"
#include "apps/detection_train.h"
#include "apps/landmarks.h"
#include "apps/segmentation.h"

namespace nabla::apps {

void add_task_commands(CLI::App& app) {
    auto* train = app.add_subcommand("train", "Train a model (`nabla train MODEL --help` for its options)");
    auto* eval = app.add_subcommand("eval", "Evaluate a model's weights on a dataset");
    auto* predict = app.add_subcommand("predict", "Run a model on images and save its outputs as pictures");
    for (auto* cmd : {train, eval, predict}) cmd->require_subcommand(1);
    add_segmentation_commands(train, eval, predict);
    add_super_resolution_commands(train, eval, predict);
    add_landmark_commands(train, eval, predict);
    add_detection_train_commands(train);
}

}  // namespace nabla::apps
