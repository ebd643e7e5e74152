// apps/trace.cpp — `nabla trace record|report`, the tracer's command line in the spirit of trace-cmd (and uftrace):
//   nabla trace record [-o FILE] [-p function_graph] [-l GLOB] [-n GLOB] [-g GLOB] [-D N] [-t US] [--shapes]
//                      [--steps skip=..,wait=..,warmup=..,active=..,repeat=..] [--signals] [--tracing-on 0] -- COMMAND
//       runs COMMAND (`nabla train ...`, `nabla bench ...` or any program linked with nabla) with NABLA_TRACE* set,
//       so it writes FILE at exit (JSON, or text for a .txt name); with --signals a SIGUSR1 sent to this process is
//       passed on to COMMAND, where it flips tracing_on;
//   nabla trace report FILE [--graph | --function | --stat [--group-by shape] | --json OUT]
//       renders a JSON trace written by the tracer (core/trace/format.h).
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "apps/commands.h"
#include "core/error.h"
#include "core/trace/format.h"

namespace nabla::apps {

namespace {

struct RecordOptions {
    std::string output = "nabla.trace.json", tracer = "function_graph", filter, notrace, graph;
    int depth = 0;
    double thresh_us = 0;
    size_t buffer_kb = 8192;
    bool memory = false, shapes = false, device_time = false, signals = false;
    std::string steps;
    int tracing_on = 1;
    std::vector<std::string> command;
};

std::atomic<pid_t> g_child{0};
// SIGUSR1 to `nabla trace record` goes on to the traced command (kill is async-signal-safe).
void forward_sigusr1(int) {
    if (const pid_t pid = g_child.load(); pid > 0) ::kill(pid, SIGUSR1);
}

// Runs the command with the tracer's environment; a command that is a nabla subcommand runs this binary.
void record(const RecordOptions& o) {
    NB_CHECK_VALUE(!o.command.empty(),
                   "trace record: no command to run; usage: nabla trace record [options] -- COMMAND ...");
    NB_CHECK_VALUE(o.tracer == "function" || o.tracer == "function_graph",
                   "trace record: --tracer must be function or function_graph, got '", o.tracer, "'");
    NB_CHECK_VALUE(o.tracing_on == 0 || o.tracing_on == 1, "trace record: --tracing-on must be 0 or 1, got ",
                   o.tracing_on);
    trace::parse_schedule(o.steps);  // a bad --steps fails here rather than in the command
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
    ::setenv("NABLA_TRACE_SHAPES", o.shapes ? "1" : "0", 1);
    ::setenv("NABLA_TRACE_DEVICE_TIME", o.device_time ? "1" : "0", 1);
    ::setenv("NABLA_TRACE_STEPS", o.steps.c_str(), 1);
    ::setenv("NABLA_TRACE_SIGNALS", o.signals ? "1" : "0", 1);
    ::setenv("NABLA_TRACE_ON", o.tracing_on ? "1" : "0", 1);
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
    if (o.signals) {
        g_child = pid;
        struct sigaction sa = {};
        sa.sa_handler = forward_sigusr1;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        ::sigaction(SIGUSR1, &sa, nullptr);
        std::cerr << fmt::format("trace record: pid {}; `kill -USR1 {}` (or this process) flips tracing_on\n", pid,
                                 pid);
    }
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0) throw Error(fmt::format("trace record: '{}' exited with status {}", argv[0], code));
    std::cerr << fmt::format("trace record: wrote {}\n", o.output);
}

void report(const std::string& file, bool function, bool stat, const std::string& group_by,
            const std::string& json_out) {
    NB_CHECK_VALUE(group_by == "name" || group_by == "shape", "trace report: --group-by must be name or shape, got '",
                   group_by, "'");
    std::ifstream in(file);
    if (!in) throw ValueError("trace report: cannot open " + file);
    std::stringstream text;
    text << in.rdbuf();
    trace::Session s;
    try {
        s = trace::read_json(text.str());
    } catch (const Error& e) {
        throw ValueError(fmt::format("trace report: {}: {}", file, e.what()));
    }
    if (!json_out.empty()) {
        std::ofstream out(json_out);
        if (!out) throw ValueError("trace report: cannot write " + json_out);
        trace::write_json(out, s);
        return;
    }
    if (stat || group_by == "shape") return trace::write_stat(std::cout, s, {.group_by_shape = group_by == "shape"});
    if (function) return trace::write_function(std::cout, s);
    trace::write_graph(std::cout, s);
}

}  // namespace

void add_trace_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("trace",
                                   "Record a trace of a command's ops, modules and backward, or report one "
                                   "(ftrace's function_graph view, a statistics table, Chrome JSON)");
    cmd->require_subcommand(1);
    auto* rec = cmd->add_subcommand("record", "Run COMMAND (after --) with the tracer on; it writes the trace at exit");
    auto o = std::make_shared<RecordOptions>();
    rec->add_option("-o,--output", o->output, "Trace file: .json (Perfetto) or .txt (graph and table)")
        ->capture_default_str();
    rec->add_option("-p,--tracer", o->tracer, "function or function_graph")->capture_default_str();
    rec->add_option("-l,--filter", o->filter, "Trace only these globs (comma-separated; !glob removes)");
    rec->add_option("-n,--notrace", o->notrace, "Never trace these globs (wins over --filter)");
    rec->add_option("-g,--graph", o->graph, "function_graph: trace only under scopes matching these globs");
    rec->add_option("-D,--depth", o->depth, "Maximum nesting depth (0 = unlimited)")->capture_default_str();
    rec->add_option("-t,--thresh", o->thresh_us, "Keep only scopes longer than this many microseconds")
        ->capture_default_str();
    rec->add_option("-b,--buffer-kb", o->buffer_kb, "Ring buffer size per thread in KiB")->capture_default_str();
    rec->add_flag("--memory", o->memory,
                  "Sample the allocated bytes at each scope (counter track in the JSON; default off)");
    rec->add_flag("--shapes", o->shapes,
                  "Record the dtypes and shapes of each op's inputs (torch.profiler's "
                  "record_shapes): conv2d(f32[8,3,288,288], f32[16,3,3,3]); default off");
    rec->add_flag("--device-time", o->device_time,
                  "Also time each CUDA kernel on the GPU with a pair of events, recorded as '<kernel> (device)' "
                  "scopes of the cuda category (the launches themselves are always recorded); default off");
    rec->add_option("--steps", o->steps,
                    "Step schedule over the training loop's steps, e.g. "
                    "skip=10,wait=5,warmup=1,active=3,repeat=2 (torch.profiler.schedule; "
                    "warmup steps are traced and dropped; repeat=0: until the end; default "
                    "empty: no schedule, every step)")
        ->capture_default_str();
    rec->add_flag("--signals", o->signals,
                  "SIGUSR1 (to the command or to this process) flips tracing_on (default off: "
                  "SIGUSR1 keeps its default action)");
    rec->add_option("--tracing-on", o->tracing_on, "0: start with recording off (SIGUSR1 with --signals turns it on)")
        ->capture_default_str();
    rec->add_option("command", o->command, "The command to run, after --")->required();
    rec->callback([o] { record(*o); });

    auto* rep = cmd->add_subcommand("report",
                                    "Print a recorded JSON trace as ftrace's function_graph (default), "
                                    "function view or statistics table");
    auto file = std::make_shared<std::string>();
    auto function = std::make_shared<bool>(false);
    auto stat = std::make_shared<bool>(false);
    auto graph = std::make_shared<bool>(false);
    auto json = std::make_shared<std::string>();
    auto group_by = std::make_shared<std::string>("name");
    rep->add_option("FILE", *file, "A trace written by NABLA_TRACE or `nabla trace record` (.json)")->required();
    rep->add_flag("--graph", *graph, "Nested calls with durations (the default)");
    rep->add_flag("--function", *function, "One line per call with its caller");
    rep->add_flag("--stat", *stat, "Calls, total, self, avg, stddev, max, GFLOP/s and memory per name");
    rep->add_option("--group-by", *group_by,
                    "Rows of the --stat table per name, or per name and input shapes "
                    "(shape; key_averages(group_by_input_shape=True))")
        ->capture_default_str();
    rep->add_option("--json", *json, "Write the trace again as Chrome JSON to this file");
    rep->callback([=] { report(*file, *function && !*graph, *stat, *group_by, *json); });
}

}  // namespace nabla::apps
