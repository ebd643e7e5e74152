// apps/commands.h — the subcommands of the `nabla` command line; each file adds its own to the CLI11 app.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "core/device.h"

namespace nabla::apps {

void add_demo_command(CLI::App& app);        // apps/demo.cpp
void add_info_command(CLI::App& app);        // apps/info.cpp
void add_bench_command(CLI::App& app);       // apps/bench.cpp
void add_forward_command(CLI::App& app);     // apps/forward.cpp
void add_generate_command(CLI::App& app);    // apps/generate.cpp
void add_trace_command(CLI::App& app);       // apps/trace.cpp
void add_serve_command(CLI::App& app);       // apps/serve.cpp
void add_export_command(CLI::App& app);      // apps/export.cpp: a checkpoint's weights alone, to ship (--half)
void add_detection_commands(CLI::App& app);  // apps/detection.cpp: `val` and `detect` for the YOLO models
// `train`, `eval` and `predict`, each with one subcommand per model (apps/tasks.cpp).
void add_task_commands(CLI::App& app);
// --precision fp32|bf16 on an inference command: sets the main thread's autocast precision while the command line is
// parsed, before the command runs (apps/tasks.cpp).
void add_precision_option(CLI::App* cmd);
// --threads N of any command (apps/tasks.cpp): 0 keeps OpenMP's default (OMP_NUM_THREADS or all cores; under mpirun
// the cores divided by the ranks on this machine); a negative
// N is an error naming the command; more threads than the cores here are allowed, with a warning, since
// oversubscribed OpenMP threads wait on each other (--threads 1000 on 2 cores ran a step 175x slower).
void set_threads(int64_t threads, const char* command);
// A CLI11 check for rates and weights (--lr, --lr0, --sparsity): a finite number >= 0. CLI11's own range checks
// let inf through, and an infinite learning rate trains a network of NaNs.
CLI::Validator finite_non_negative();
// A CLI11 check for --device: cpu, cuda or cuda:N (Device::parse), with its message on anything else.
CLI::Validator device_name();
// --device cpu|cuda|cuda:N (default cpu) of an inference command (eval, predict, val, detect, bench): checked by
// device_name() and parsed into `device`, where the command puts its model and inputs. `help` says what the command
// does on a GPU; the choices are added to it.
CLI::Option* add_device_option(CLI::App* cmd, Device& device, const std::string& help);
// For a command line whose word names no subcommand where one is expected (`nabla train foonet`): a message naming
// the word and listing the choices, which CLI11 gives only as "A subcommand is required"; "" when that is not the
// problem. `args` excludes the program name.
std::string unknown_subcommand(CLI::App& app, const std::vector<std::string>& args);
// The models of one task under train/eval/predict (apps/segmentation.cpp, apps/super_resolution.cpp).
void add_super_resolution_commands(CLI::App* train, CLI::App* eval, CLI::App* predict);

}  // namespace nabla::apps
