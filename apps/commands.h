// apps/commands.h — the subcommands of the `nabla` command line; each file adds its own to the CLI11 app.
#pragma once
#include <CLI/CLI.hpp>

namespace nabla::apps {

void add_demo_command(CLI::App& app);        // apps/demo.cpp
void add_info_command(CLI::App& app);        // apps/info.cpp
void add_bench_command(CLI::App& app);       // apps/bench.cpp
void add_forward_command(CLI::App& app);     // apps/forward.cpp
void add_generate_command(CLI::App& app);    // apps/generate.cpp
void add_trace_command(CLI::App& app);       // apps/trace.cpp
void add_detection_commands(CLI::App& app);  // apps/detection.cpp: `val` and `detect` for the YOLO models
// `train`, `eval` and `predict`, each with one subcommand per model (apps/tasks.cpp).
void add_task_commands(CLI::App& app);
// --precision fp32|bf16 on an inference command: sets the main thread's autocast precision while the command line is
// parsed, before the command runs (apps/tasks.cpp).
void add_precision_option(CLI::App* cmd);
// The models of one task under train/eval/predict (apps/segmentation.cpp, apps/super_resolution.cpp).
void add_super_resolution_commands(CLI::App* train, CLI::App* eval, CLI::App* predict);

}  // namespace nabla::apps
