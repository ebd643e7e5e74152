// core/trace/env.cpp — tracing any `nabla` command through the environment (ftrace's tracefs files as variables;
// like TF's TF_CPP env toggles): read once at startup, the trace written at exit.
//
//   NABLA_TRACE=function|function_graph   NABLA_TRACE_FILTER='conv*,bn*'   NABLA_TRACE_NOTRACE='*copy*'
//   NABLA_TRACE_GRAPH='stage1*'   NABLA_TRACE_DEPTH=4   NABLA_TRACE_THRESH_US=20   NABLA_TRACE_BUF_KB=16384
//   NABLA_TRACE_MEMORY=1   NABLA_TRACE_SHAPES=1   NABLA_TRACE_DEVICE_TIME=1
//   NABLA_TRACE_STEPS=skip=10,wait=5,warmup=1,active=3,repeat=2 NABLA_TRACE_ON=0 (start with tracing_on off)
//   NABLA_TRACE_SIGNALS=1 (SIGUSR1 flips tracing_on) NABLA_TRACE_FORMAT=json|text|stat   NABLA_TRACE_FILE=out.json
// The default file is nabla.trace.json (format json) or nabla.trace.txt (text: the tracer's view, then the table).
// Under mpirun every rank writes its own: nabla.trace.rank1.json for rank 1.
// The SIGUSR1 handler is opt-in: installing it would change what the signal does to a process that does not trace.
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "core/error.h"
#include "core/trace/format.h"

namespace nabla::trace {

namespace {

struct EnvTrace {
    bool active = false;
    std::string file, format;
};
EnvTrace& env_trace() {
    static EnvTrace e;
    return e;
}

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

// "1" or "0" (unset = 0); anything else is a mistake worth naming.
bool flag(const char* name) {
    const std::string v = env(name);
    if (v.empty() || v == "0") return false;
    if (v == "1") return true;
    throw ValueError(fmt::format("{}: expected 0 or 1, got '{}'", name, v));
}

template <class T>
T env_number(const char* name, T fallback) {
    const std::string v = env(name);
    if (v.empty()) return fallback;
    try {
        size_t used = 0;
        const double x = std::stod(v, &used);
        if (used == v.size() && x >= 0) return static_cast<T>(x);
    } catch (const std::exception&) {
    }
    throw ValueError(fmt::format("{}: expected a non-negative number, got '{}'", name, v));
}

}  // namespace

bool start_from_env() {
    const std::string tracer = env("NABLA_TRACE");
    if (tracer.empty() || tracer == "nop") return false;
    Config c;
    if (tracer == "function")
        c.tracer = Tracer::function;
    else if (tracer == "function_graph")
        c.tracer = Tracer::function_graph;
    else
        throw ValueError(fmt::format("NABLA_TRACE: expected nop, function or function_graph, got '{}'", tracer));
    c.filter = env("NABLA_TRACE_FILTER");
    c.notrace = env("NABLA_TRACE_NOTRACE");
    c.graph_roots = env("NABLA_TRACE_GRAPH");
    c.max_depth = env_number("NABLA_TRACE_DEPTH", 0);
    c.thresh_us = env_number("NABLA_TRACE_THRESH_US", 0.0);
    c.buffer_kb = env_number<size_t>("NABLA_TRACE_BUF_KB", c.buffer_kb);
    c.memory = flag("NABLA_TRACE_MEMORY");
    c.shapes = flag("NABLA_TRACE_SHAPES");
    c.device_time = flag("NABLA_TRACE_DEVICE_TIME");
    c.tracing_on = env("NABLA_TRACE_ON").empty() || flag("NABLA_TRACE_ON");
    const bool signals = flag("NABLA_TRACE_SIGNALS");
    try {
        c.schedule = parse_schedule(env("NABLA_TRACE_STEPS"));
    } catch (const ValueError& e) {
        throw ValueError(fmt::format("NABLA_TRACE_STEPS: {}", e.what()));
    }
    EnvTrace& e = env_trace();
    e.format = env("NABLA_TRACE_FORMAT");
    if (e.format.empty()) e.format = "json";
    if (e.format != "json" && e.format != "text" && e.format != "stat")
        throw ValueError(fmt::format("NABLA_TRACE_FORMAT: expected json, text or stat, got '{}'", e.format));
    e.file = env("NABLA_TRACE_FILE");
    if (e.file.empty()) e.file = e.format == "json" ? "nabla.trace.json" : "nabla.trace.txt";
    // Under mpirun each rank traces itself: rank N writes F.rankN.json for F.json (OpenMPI names the rank).
    const std::string rank = env("OMPI_COMM_WORLD_RANK"), world = env("OMPI_COMM_WORLD_SIZE");
    if (!rank.empty() && !world.empty() && world != "1") {
        const size_t dot = e.file.find_last_of('.');
        const size_t slash = e.file.find_last_of('/');
        const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
        e.file = has_ext ? e.file.substr(0, dot) + ".rank" + rank + e.file.substr(dot) : e.file + ".rank" + rank;
    }
    start(c);
    if (signals) install_signal_toggle();
    e.active = true;
    std::atexit(write_env_trace);
    return true;
}

void write_env_trace() {
    EnvTrace& e = env_trace();
    if (!e.active) return;
    e.active = false;
    const Session s = stop();
    std::ofstream out(e.file);
    if (!out) {
        std::cerr << "trace: cannot write " << e.file << "\n";
        return;
    }
    if (e.format == "json") {
        write_json(out, s);
    } else {
        if (e.format == "text") {
            if (s.tracer == Tracer::function)
                write_function(out, s);
            else
                write_graph(out, s);
            out << "\n";
        }
        write_stat(out, s);
    }
    std::cerr << fmt::format("trace: wrote {} ({} entries, {} written, {} lost)\n", e.file, s.entries, s.written,
                             s.lost);
}

}  // namespace nabla::trace
