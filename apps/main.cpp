// apps/main.cpp — `nabla`, the command line: parses the subcommand and reports errors. The only place that catches.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/launch.h"
#include "apps/resume_args.h"
#include "apps/slimming.h"
#include "apps/train_loop.h"
#include "backends/backend.h"
#include "core/error.h"
#include "core/trace/trace.h"
#include "nn/distributed.h"

int main(int argc, char** argv) {
    CLI::App app{"nabla — a deep learning framework in C++20. Run `nabla COMMAND --help` for a command's options.",
                 "nabla"};
    app.require_subcommand(1);
    bool verbose = false;
    app.add_flag("-v,--verbose", verbose, "Print the backend and library versions in use");
    app.parse_complete_callback([&verbose] {  // before the command runs
        if (verbose) fmt::print(stderr, "{}\n", nabla::backend_for(nabla::kCPU).description());
    });
    nabla::apps::add_demo_command(app);
    nabla::apps::add_task_commands(app);
    nabla::apps::add_detection_commands(app);  // val, detect
    nabla::apps::add_prune_commands(app);
    nabla::apps::add_bench_command(app);
    nabla::apps::add_forward_command(app);
    nabla::apps::add_generate_command(app);
    nabla::apps::add_info_command(app);
    nabla::apps::add_trace_command(app);
    nabla::apps::add_serve_command(app);
    nabla::apps::add_export_command(app);
    // Under mpirun: join the job (a data-parallel run, docs/distributed.md). An error on one rank then stops every
    // rank (dist::abort) rather than leaving the others waiting in a collective.
    nabla::dist::init();
    if (nabla::dist::rank() != 0) std::freopen("/dev/null", "w", stdout);  // rank 0 alone prints (errors still show)
    const auto fail = [](const char* what) {
        if (nabla::dist::world_size() > 1) nabla::dist::abort(fmt::format("error: {}", what));
        fmt::print(stderr, "error: {}\n", what);
        return 1;
    };
    try {
        nabla::apps::relaunch_under_mpirun(argc, argv);  // train --nproc N: this command again, under mpirun -np N
        nabla::trace::start_from_env();  // NABLA_TRACE=function_graph ...: trace this command, write the file at exit
        // train --resume RUN: the run's own options (its checkpoint's config) unless given again
        std::vector<std::string> added;
        std::vector<std::string> args =
            nabla::apps::with_run_options(app, std::vector<std::string>(argv + 1, argv + argc), &added);
        if (!added.empty()) fmt::print("--resume: the run's options {}\n", fmt::join(added, " "));
        std::reverse(args.begin(), args.end());  // CLI11 takes them last-first
        app.parse(args);
        if (nabla::apps::interrupt_requested()) return 130;  // 128 + SIGINT: the run was stopped, not finished
    } catch (const CLI::ParseError& e) {
        if (const std::string unknown =
                nabla::apps::unknown_subcommand(app, std::vector<std::string>(argv + 1, argv + argc));
            !unknown.empty()) {
            fmt::print(stderr, "error: {}\n", unknown);
            return e.get_exit_code();
        }
        return app.exit(e);
    } catch (const nabla::Error& e) {
        return fail(e.what());
    } catch (const std::exception& e) {
        return fail(e.what());
    }
    return 0;
}
