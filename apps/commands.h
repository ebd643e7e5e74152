// apps/commands.h — the subcommands of the `nabla` command line; each file adds one to the CLI11 app.
#pragma once
#include <CLI/CLI.hpp>

namespace nabla::apps {

void add_demo_command(CLI::App& app);  // apps/demo.cpp
void add_info_command(CLI::App& app);  // apps/info.cpp

}  // namespace nabla::apps
