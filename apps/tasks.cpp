// apps/tasks.cpp — `nabla train|eval|predict MODEL`: the three parent commands; each task file adds its models.
// Also the option helpers every command shares (commands.h): --threads, finite rates, --device, --precision, and the
// message for an unknown subcommand.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/detection_train.h"
#include "apps/landmarks.h"
#include "apps/segmentation.h"
#include "core/autocast.h"
#include "core/error.h"
#include "nn/distributed.h"

namespace nabla::apps {

void set_threads(int64_t threads, const char* command) {
    NB_CHECK_VALUE(threads >= 0, command, ": --threads must be >= 0 (0: all cores), got ", threads);
    const int cores = omp_get_num_procs();
    if (threads == 0) {
        // Data-parallel ranks sharing this machine share its cores (unless OMP_NUM_THREADS says otherwise).
        if (dist::local_size() > 1 && !std::getenv("OMP_NUM_THREADS"))
            omp_set_num_threads(std::max(1, cores / dist::local_size()));
        return;
    }
    if (threads > cores)
        fmt::print(stderr,
                   "warning: {}: --threads {} is more than the {} cores here; oversubscribed OpenMP threads wait on "
                   "each other and run much slower\n",
                   command, threads, cores);
    omp_set_num_threads(static_cast<int>(std::min<int64_t>(threads, 4096)));
}

CLI::Validator device_name() {
    return CLI::Validator(
        [](std::string& v) -> std::string {
            try {
                Device::parse(v);
                return "";
            } catch (const std::exception& e) {
                return e.what();
            }
        },
        "cpu|cuda|cuda:N");
}

CLI::Option* add_device_option(CLI::App* cmd, Device& device, const std::string& help) {
    return cmd
        ->add_option_function<std::string>(
            "--device", [&device](const std::string& v) { device = Device::parse(v); },
            "cpu, cuda or cuda:N (GPU N): " + help)
        ->check(device_name())
        ->default_str("cpu");
}

CLI::Validator finite_non_negative() {
    return CLI::Validator(
        [](const std::string& text) {
            double v = 0;
            try {
                size_t used = 0;
                v = std::stod(text, &used);
                if (used != text.size()) return "'" + text + "' is not a number";
            } catch (const std::exception&) {
                return "'" + text + "' is not a number";
            }
            return std::isfinite(v) && v >= 0 ? std::string() : "'" + text + "' must be a finite number >= 0";
        },
        "");  // no text in the help's type column: "--lr FLOAT=0.01" as before
}

std::string unknown_subcommand(CLI::App& app, const std::vector<std::string>& args) {
    CLI::App* at = &app;
    std::string path = "nabla";
    for (const std::string& word : args) {
        if (word.empty() || word[0] == '-') continue;
        CLI::App* next = nullptr;
        for (CLI::App* sub : at->get_subcommands({}))
            if (sub->get_name() == word) next = sub;
        if (next) {
            at = next, path += " " + word;
            continue;
        }
        if (at->get_subcommands({}).empty()) return "";
        std::string choices;
        for (CLI::App* sub : at->get_subcommands({})) choices += (choices.empty() ? "" : ", ") + sub->get_name();
        return fmt::format("`{}`: unknown command or model '{}'; choose one of: {}", path, word, choices);
    }
    return "";
}

void add_precision_option(CLI::App* cmd) {
    cmd->add_option_function<std::string>(
           "--precision", [](const std::string& v) { set_autocast_precision(parse_precision(v.c_str())); },
           "fp32, or bf16: the model's convolutions and matmuls in bfloat16 with float32 accumulation, everything "
           "else float32 (torch.autocast on the CPU; core/autocast.h)")
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
