// core/trace/format.cpp — the text outputs of the tracer: ftrace's `function` and `function_graph` views (layout of
// kernel/trace/trace_output.c and trace_functions_graph.c) and a statistics table (ftrace's function profiler,
// torch.profiler's key_averages().table()). The Chrome JSON writer is core/trace/json.cpp.
//
// A session holds completed scopes per thread in begin order with their depth; the views rebuild the call tree
// with a stack: an event closes every open scope at its depth or deeper. A scope with a child opens with
// `name() {` and closes with `}` and its duration; a scope without is one line `name();`. A scope that began before
// the newest record lost to overwrite prints only its closing line, `} /* name */`, as ftrace does when the entry
// event was overwritten. Recorded input shapes print as the call's arguments
// (`conv2d(f32[8,3,288,288], f32[16,3,3,3])`, ftrace's funcgraph-args) and as a last column of the table grouped by
// shape.
#include "core/trace/format.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <ostream>

namespace nabla::trace {

char duration_mark(int64_t ns) {
    if (ns > 1000000000) return '$';
    if (ns > 100000000) return '@';
    if (ns > 10000000) return '*';
    if (ns > 1000000) return '#';
    if (ns > 100000) return '!';
    if (ns > 10000) return '+';
    return ' ';
}

std::string format_duration(int64_t ns) {
    ns = std::max<int64_t>(ns, 0);
    std::string number = std::to_string(ns / 1000);
    const int len = static_cast<int>(number.size());
    if (len < 7) {  // the nanosecond remainder, truncated to keep 7 digits
        const int digits = std::min(3, 7 - len);
        const int64_t rem = ns % 1000 / (digits == 3 ? 1 : digits == 2 ? 10 : 100);
        number = fmt::format("{}.{:0{}}", ns / 1000, rem, digits);
    }
    std::string cell = fmt::format("{} {} us ", duration_mark(ns), number);
    if (number.size() < 8) cell.append(8 - number.size(), ' ');
    return cell;
}

namespace {

const char* tracer_name(Tracer t) {
    return t == Tracer::function ? "function" : t == Tracer::function_graph ? "function_graph" : "nop";
}

size_t thread_count(const Session& s) {
    size_t n = s.thread_names.size();
    for (const Event& e : s.events) n = std::max<size_t>(n, e.tid + 1);
    return std::max<size_t>(n, 1);
}

std::string counts_line(const Session& s) {
    return fmt::format("# entries-in-buffer/entries-written: {}/{}   #P:{}   lost: {}", s.entries, s.written,
                       thread_count(s), s.lost);
}

// For each event, the index of its enclosing event on the same thread (-1 for none); markers included.
std::vector<int64_t> parents(const Session& s) {
    std::vector<int64_t> parent(s.events.size(), -1);
    std::map<uint32_t, std::vector<size_t>> stacks;
    for (size_t i = 0; i < s.events.size(); ++i) {
        const Event& e = s.events[i];
        auto& stack = stacks[e.tid];
        while (!stack.empty()) {
            const Event& top = s.events[stack.back()];
            if (e.depth > top.depth && e.t0_ns <= top.t0_ns + top.dur_ns) break;
            stack.pop_back();
        }
        if (!stack.empty()) parent[i] = static_cast<int64_t>(stack.back());
        if (e.category != markers) stack.push_back(i);
    }
    return parent;
}

// "f32[2,3],i64[2]" -> "f32[2,3], i64[2]": a space between arguments, none inside a shape.
std::string spaced(const std::string& shapes) {
    std::string r;
    for (size_t i = 0; i < shapes.size(); ++i) {
        r += shapes[i];
        if (shapes[i] == ']' && i + 1 < shapes.size() && shapes[i + 1] == ',') r += ", ", ++i;
    }
    return r;
}

// "conv2d(f32[8,3,288,288], f32[16,3,3,3])", or "conv2d()" without recorded shapes.
std::string call(const Event& e) { return e.name + "(" + spaced(e.shapes) + ")"; }

}  // namespace

void write_function(std::ostream& out, const Session& s) {
    out << "# tracer: function\n#\n" << counts_line(s) << "\n#\n";
    out << "#           TASK-PID     CPU#  ||||   TIMESTAMP  FUNCTION\n";
    out << "#              | |         |   ||||      |         |\n";
    const std::vector<int64_t> parent = parents(s);
    std::vector<size_t> order(s.events.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return s.events[a].t0_ns < s.events[b].t0_ns; });
    for (size_t i : order) {
        const Event& e = s.events[i];
        const std::string task =
            (e.tid < s.thread_names.size() ? s.thread_names[e.tid] : "thread") + "-" + std::to_string(e.tid);
        std::string what = e.category == markers ? "tracing_mark_write: " + e.name
                           : e.shapes.empty()    ? e.name
                                                 : call(e);
        if (e.category != markers && parent[i] >= 0) what += " <-" + s.events[static_cast<size_t>(parent[i])].name;
        out << fmt::format("{:>22}  [{:03}] .... {:5}.{:06}: {}\n", task, e.tid, e.t0_ns / 1000000000,
                           e.t0_ns / 1000 % 1000000, what);
    }
}

void write_graph(std::ostream& out, const Session& s) {
    out << "# tracer: function_graph\n#\n" << counts_line(s) << "\n#\n";
    out << "# CPU  DURATION                  FUNCTION CALLS\n";
    out << "# |     |   |                     |   |   |   |\n";
    const int width = static_cast<int>(std::to_string(thread_count(s) - 1).size());
    struct Open {
        size_t index;
        bool entry_lost;
    };
    std::vector<Open> stack;
    auto prefix = [&](uint32_t tid) { return fmt::format(" {:>{}}) ", tid, width); };
    auto indent = [](int depth) { return std::string(static_cast<size_t>(depth) * 2, ' '); };
    auto close = [&](const Open& o) {
        const Event& e = s.events[o.index];
        out << prefix(e.tid) << format_duration(e.dur_ns) << "|  " << indent(e.depth)
            << (o.entry_lost ? "} /* " + e.name + " */" : std::string("}")) << "\n";
    };
    for (size_t i = 0; i < s.events.size(); ++i) {
        const Event& e = s.events[i];
        if (i > 0 && s.events[i - 1].tid != e.tid) {  // a new thread's block
            while (!stack.empty()) close(stack.back()), stack.pop_back();
            out << prefix(e.tid) << "------------------------------------------\n";
        }
        if ((i == 0 || s.events[i - 1].tid != e.tid) && e.tid < s.thread_lost.size() && s.thread_lost[e.tid] > 0)
            out << prefix(e.tid) << fmt::format("[LOST {} EVENTS]\n", s.thread_lost[e.tid]);
        while (!stack.empty()) {
            const Event& top = s.events[stack.back().index];
            if (e.depth > top.depth && e.t0_ns <= top.t0_ns + top.dur_ns) break;
            close(stack.back());
            stack.pop_back();
        }
        if (e.category == markers) {
            out << prefix(e.tid) << "              |  " << indent(e.depth) << "/* " << e.name << " */\n";
            continue;
        }
        const bool entry_lost = e.tid < s.lost_before_ns.size() && e.t0_ns < s.lost_before_ns[e.tid];
        const bool has_child = i + 1 < s.events.size() && s.events[i + 1].tid == e.tid &&
                               s.events[i + 1].depth > e.depth && s.events[i + 1].t0_ns <= e.t0_ns + e.dur_ns;
        if (has_child) {
            if (!entry_lost) out << prefix(e.tid) << "              |  " << indent(e.depth) << call(e) << " {\n";
            stack.push_back({i, entry_lost});
        } else if (entry_lost) {
            close({i, true});
        } else {
            out << prefix(e.tid) << format_duration(e.dur_ns) << "|  " << indent(e.depth) << call(e) << ";\n";
        }
    }
    while (!stack.empty()) close(stack.back()), stack.pop_back();
}

void write_stat(std::ostream& out, const Session& s, const StatOptions& options) {
    struct Row {
        std::string name, shapes;
        uint32_t category = op;
        int64_t calls = 0, total = 0, self = 0, max = 0, flops = 0, mem = 0;
        double mean = 0, m2 = 0;  // Welford
        bool has_flops = false, has_mem = false;
    };
    std::map<std::pair<std::string, std::string>, Row> rows;  // (name, shapes or "")
    const std::vector<int64_t> parent = parents(s);
    std::vector<int64_t> child_time(s.events.size(), 0);
    for (size_t i = 0; i < s.events.size(); ++i)
        if (s.events[i].category != markers && parent[i] >= 0)
            child_time[static_cast<size_t>(parent[i])] += s.events[i].dur_ns;
    int64_t self_total = 0;
    for (size_t i = 0; i < s.events.size(); ++i) {
        const Event& e = s.events[i];
        if (e.category == markers) continue;
        Row& r = rows[{e.name, options.group_by_shape ? e.shapes : std::string()}];
        r.name = e.name;
        if (options.group_by_shape) r.shapes = e.shapes;
        r.category = e.category;
        ++r.calls;
        r.total += e.dur_ns;
        r.self += e.dur_ns - child_time[i];
        self_total += e.dur_ns - child_time[i];
        r.max = std::max(r.max, e.dur_ns);
        const double d = static_cast<double>(e.dur_ns), delta = d - r.mean;
        r.mean += delta / static_cast<double>(r.calls);
        r.m2 += delta * (d - r.mean);
        if (e.flops >= 0) r.flops += e.flops, r.has_flops = true;
        if (e.mem >= 0) r.mem += e.mem_delta, r.has_mem = true;
    }
    std::vector<Row> sorted;
    for (auto& [key, r] : rows) sorted.push_back(std::move(r));
    std::stable_sort(sorted.begin(), sorted.end(), [](const Row& a, const Row& b) { return a.self > b.self; });
    size_t width = 4;
    for (const Row& r : sorted) width = std::max(width, r.name.size());
    auto us = [](double ns) { return fmt::format("{:.3f} us", ns / 1000.0); };
    auto bytes = [](int64_t b) {
        const double a = std::abs(static_cast<double>(b));
        if (a >= 1048576.0) return fmt::format("{:.2f} MiB", static_cast<double>(b) / 1048576.0);
        if (a >= 1024.0) return fmt::format("{:.2f} KiB", static_cast<double>(b) / 1024.0);
        return fmt::format("{} B", b);
    };
    out << fmt::format("# function_stat   tracer: {}   entries-in-buffer/entries-written: {}/{}   lost: {}\n",
                       tracer_name(s.tracer), s.entries, s.written, s.lost);
    const std::string shapes_title = options.group_by_shape ? "  Input Shapes" : "";
    out << fmt::format("  {:<{}}  {:<10} {:>7} {:>16} {:>16} {:>7} {:>14} {:>14} {:>14} {:>9} {:>12}{}\n", "Name",
                       width, "Category", "Calls", "Total", "Self", "Self%", "Avg", "Stddev", "Max", "GFLOP/s", "Mem",
                       shapes_title);
    for (const Row& r : sorted) {
        const double stddev = r.calls > 1 ? std::sqrt(r.m2 / static_cast<double>(r.calls - 1)) : 0.0;
        // A collective's count is bytes: its rate is GB/s (bytes per nanosecond).
        const std::string gflops =
            r.has_flops && r.total > 0
                ? fmt::format("{:.2f}{}", static_cast<double>(r.flops) / static_cast<double>(r.total),
                              r.category == comm ? "GB/s" : "")
                : "-";
        const double pct = self_total > 0 ? 100.0 * static_cast<double>(r.self) / static_cast<double>(self_total) : 0.0;
        const std::string shapes = !options.group_by_shape ? "" : r.shapes.empty() ? "  -" : "  " + spaced(r.shapes);
        out << fmt::format("  {:<{}}  {:<10} {:>7} {:>16} {:>16} {:>6.1f}% {:>14} {:>14} {:>14} {:>9} {:>12}{}\n",
                           r.name, width, category_name(r.category), r.calls, us(static_cast<double>(r.total)),
                           us(static_cast<double>(r.self)), pct, us(r.mean), us(stddev), us(static_cast<double>(r.max)),
                           gflops, r.has_mem ? bytes(r.mem) : "-", shapes);
    }
    out << fmt::format("  Self time total: {}   threads: {}\n", us(static_cast<double>(self_total)), thread_count(s));
}

}  // namespace nabla::trace
