// apps/trace.cpp — `nabla trace record|report`, the tracer's command line in the spirit of trace-cmd (and uftrace):
//   nabla trace record [-o FILE] [-p function_graph] [-l GLOB] [-n GLOB] [-g GLOB] [-D N] [-t US] -- COMMAND ...
//       runs COMMAND (`nabla train ...`, `nabla bench ...` or any program linked with nabla) with NABLA_TRACE* set,
//       so it writes FILE at exit (JSON, or text for a .txt name);
//   nabla trace report FILE [--graph | --function | --stat | --json OUT]
//       renders a JSON trace written by the tracer (core/trace_format.h).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "apps/commands.h"
#include "core/error.h"
#include "core/trace_format.h"

namespace nabla::apps {

namespace {

struct RecordOptions {
    std::string output = "nabla.trace.json", tracer = "function_graph", filter, notrace, graph;
    int depth = 0;
    double thresh_us = 0;
    size_t buffer_kb = 8192;
    bool memory = false;
    std::vector<std::string> command;
};

// Runs the command with the tracer's environment; a command that is a nabla subcommand runs this binary.
void record(const RecordOptions& o) {
    NB_CHECK_VALUE(!o.command.empty(), "trace record: no command to run; usage: nabla trace record [options] -- COMMAND ...");
    NB_CHECK_VALUE(o.tracer == "function" || o.tracer == "function_graph",
                   "trace record: --tracer must be function or function_graph, got '", o.tracer, "'");
    const bool text = o.output.size() > 4 && o.output.substr(o.output.size() - 4) == ".txt";
    ::setenv("NABLA_TRACE", o.tracer.c_str(), 1);
    ::setenv("NABLA_TRACE_FILE", o.output.c_str(), 1);
    ::setenv("NABLA_TRACE_FORMAT", text ? "text" : "json", 1);
    ::setenv("NABLA_TRACE_FILTER", o.filter.c_str(), 1);
    ::setenv("NABLA_TRACE_NOTRACE", o.notrace.c_str(), 1);
    ::setenv("NABLA_TRACE_GRAPH", o.graph.c_str(), 1);
    ::setenv("NABLA_TRACE_DEPTH", std::to_string(o.depth).c_str(), 1);
    ::setenv("NABLA_TRACE_THRESH_US", fmt::format("{}", o.thresh_us).c_str(), 1);
    ::setenv("NABLA_TRACE_BUF_KB", std::to_string(o.buffer_kb).c_str(), 1);
    ::setenv("NABLA_TRACE_MEMORY", o.memory ? "1" : "0", 1);
    std::vector<std::string> argv = o.command;
    std::string program = argv[0];
    if (program == "nabla") program = "/proc/self/exe";  // this binary, wherever it lives
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    NB_CHECK_VALUE(pid >= 0, "trace record: fork failed");
    if (pid == 0) {
        ::execvp(program.c_str(), args.data());
        std::cerr << "trace record: cannot run '" << argv[0] << "'\n";
        ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0) throw Error(fmt::format("trace record: '{}' exited with status {}", argv[0], code));
    std::cerr << fmt::format("trace record: wrote {}\n", o.output);
}

void report(const std::string& file, bool function, bool stat, const std::string& json_out) {
    std::ifstream in(file);
    if (!in) throw ValueError("trace report: cannot open " + file);
    std::stringstream text;
    text << in.rdbuf();
    const trace::Session s = trace::read_json(text.str());
    if (!json_out.empty()) {
        std::ofstream out(json_out);
        if (!out) throw ValueError("trace report: cannot write " + json_out);
        trace::write_json(out, s);
        return;
    }
    if (stat) return trace::write_stat(std::cout, s);
    if (function) return trace::write_function(std::cout, s);
    trace::write_graph(std::cout, s);
}

}  // namespace

void add_trace_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("trace", "Record a trace of a command's ops, modules and backward, or report one "
                                            "(ftrace's function_graph view, a statistics table, Chrome JSON)");
    cmd->require_subcommand(1);
    auto* rec = cmd->add_subcommand("record", "Run COMMAND (after --) with the tracer on; it writes the trace at exit");
    auto o = std::make_shared<RecordOptions>();
    rec->add_option("-o,--output", o->output, "Trace file: .json (Perfetto) or .txt (graph and table)")->capture_default_str();
    rec->add_option("-p,--tracer", o->tracer, "function or function_graph")->capture_default_str();
    rec->add_option("-l,--filter", o->filter, "Trace only these globs (comma-separated; !glob removes)");
    rec->add_option("-n,--notrace", o->notrace, "Never trace these globs (wins over --filter)");
    rec->add_option("-g,--graph", o->graph, "function_graph: trace only under scopes matching these globs");
    rec->add_option("-D,--depth", o->depth, "Maximum nesting depth (0 = unlimited)")->capture_default_str();
    rec->add_option("-t,--thresh", o->thresh_us, "Keep only scopes longer than this many microseconds")->capture_default_str();
    rec->add_option("-b,--buffer-kb", o->buffer_kb, "Ring buffer size per thread in KiB")->capture_default_str();
    rec->add_flag("--memory", o->memory, "Sample the allocated bytes at each scope (counter track in the JSON)");
    rec->add_option("command", o->command, "The command to run, after --")->required();
    rec->callback([o] { record(*o); });

    auto* rep = cmd->add_subcommand("report", "Print a recorded JSON trace as ftrace's function_graph (default), "
                                              "function view or statistics table");
    auto file = std::make_shared<std::string>();
    auto function = std::make_shared<bool>(false);
    auto stat = std::make_shared<bool>(false);
    auto graph = std::make_shared<bool>(false);
    auto json = std::make_shared<std::string>();
    rep->add_option("FILE", *file, "A trace written by NABLA_TRACE or `nabla trace record` (.json)")->required();
    rep->add_flag("--graph", *graph, "Nested calls with durations (the default)");
    rep->add_flag("--function", *function, "One line per call with its caller");
    rep->add_flag("--stat", *stat, "Calls, total, self, avg, stddev, max, GFLOP/s and memory per name");
    rep->add_option("--json", *json, "Write the trace again as Chrome JSON to this file");
    rep->callback([=] { report(*file, *function && !*graph, *stat, *json); });
}

}  // namespace nabla::apps
