// core/trace/format.h — the tracer's outputs (ftrace's `trace` file for the function and function_graph tracers,
// its function profiler `trace_stat`, torch.profiler's key_averages().table() and export_chrome_trace()).
// Every output states the entries in the buffers, the entries written and the entries lost to overwrite.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>

#include "core/trace/trace.h"

namespace nabla::trace {

// ftrace's function_graph DURATION cell, 14 characters: the mark, a space, the microseconds with as many decimals of
// the nanosecond remainder as keep the number at 7 digits, " us ", padding ("+ 10.001 us   ").
std::string format_duration(int64_t ns);
// trace_find_mark: '$' > 1 s, '@' > 100 ms, '*' > 10 ms, '#' > 1000 us, '!' > 100 us, '+' > 10 us, else ' '.
char duration_mark(int64_t ns);

// Op scopes with recorded shapes show them as arguments: `conv2d(f32[8,3,288,288], f32[16,3,3,3]);`.
void write_function(std::ostream& out, const Session& s);  // one line per scope, in begin order, with its caller
void write_graph(std::ostream& out, const Session& s);     // nested calls with durations, ftrace's layout
struct StatOptions {
    bool group_by_shape = false;  // one row per (name, input shapes), key_averages(group_by_input_shape=True)
};
// Calls, total, self, avg, stddev, max, GFLOP/s, memory per name (and input shapes when grouped by them).
void write_stat(std::ostream& out, const Session& s, const StatOptions& options = {});
void write_json(std::ostream& out, const Session& s);  // Chrome trace event format (Perfetto, chrome://tracing)
// Reads a trace written by write_json back (for `nabla trace report`). Throws ValueError naming what is wrong.
Session read_json(const std::string& text);

}  // namespace nabla::trace
