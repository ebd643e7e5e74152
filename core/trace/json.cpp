// core/trace/json.cpp — the tracer's Chrome trace event format (torch.profiler's export_chrome_trace; opens in
// ui.perfetto.dev and chrome://tracing), and reading it back for `nabla trace report`.
//
// Object form: {"displayTimeUnit":"ns","otherData":{tracer, entries, written, lost, threads},"traceEvents":[...]},
// threads = [{"tid","name","entries","lost","lost_before_ns"}] (ftrace's per_cpu/cpuN/stats). Scopes are
// "X" events with numeric microsecond "ts"/"dur" printed from integer nanoseconds as exact 3-decimal numbers (no
// float rounding, so a child stays inside its parent); per thread they come in begin order, parents first. Thread
// names are "M" events; markers are thread-scoped "i" events; sampled memory is a "C" counter ("allocated_bytes").
// A backward scope carries "fwd_seq" in its args and is joined to the forward op that recorded it (args "seq") by
// a flow: "s" at the op, "f" with "bp":"e" at the backward scope, id = sequence number + 1. Recorded input shapes
// are args "shapes" ("f32[8,3,288,288],f32[16,3,3,3]").
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

#include "core/error.h"
#include "core/trace/format.h"

namespace nabla::trace {

namespace {

constexpr uint32_t kMaxThreads = 1 << 16;  // thread ids a trace file may use (the tables are indexed by them)

std::string us(int64_t ns) {
    return fmt::format("{}{}.{:03}", ns < 0 ? "-" : "", std::abs(ns) / 1000, std::abs(ns) % 1000);
}

std::string quoted(const std::string& text) {
    std::string r = "\"";
    for (const char c : text) {
        if (c == '"')
            r += "\\\"";
        else if (c == '\\')
            r += "\\\\";
        else if (static_cast<unsigned char>(c) < 0x20)
            r += fmt::format("\\u{:04x}", static_cast<int>(c));
        else
            r += c;
    }
    return r + "\"";
}

const char* tracer_name(Tracer t) {
    return t == Tracer::function ? "function" : t == Tracer::function_graph ? "function_graph" : "nop";
}

// The category an event's "cat" names; `index` (1-based) names the event in the error.
uint32_t category_of(const std::string& name, size_t index) {
    for (uint32_t c = 1; c <= cuda; c <<= 1)
        if (name == category_name(c)) return c;
    throw ValueError(nabla::detail::concat("trace event ", index, ": unknown category '", name, "'"));
}

}  // namespace

void write_json(std::ostream& out, const Session& s) {
    size_t threads = s.thread_names.size();
    for (const Event& e : s.events) threads = std::max<size_t>(threads, e.tid + 1);
    std::vector<uint64_t> entries(threads, 0);
    for (const Event& e : s.events) ++entries[e.tid];
    std::string per_thread;
    for (size_t t = 0; t < threads; ++t)
        per_thread += fmt::format("{}{{\"tid\":{},\"name\":{},\"entries\":{},\"lost\":{},\"lost_before_ns\":{}}}",
                                  t ? "," : "", t, quoted(t < s.thread_names.size() ? s.thread_names[t] : "thread"),
                                  entries[t], t < s.thread_lost.size() ? s.thread_lost[t] : 0,
                                  t < s.lost_before_ns.size() ? s.lost_before_ns[t] : -1);
    out << fmt::format(
        "{{\"displayTimeUnit\":\"ns\",\"otherData\":{{\"tracer\":\"{}\",\"version\":\"nabla-trace 1\",\"entries\":{},"
        "\"written\":{},\"lost\":{},\"threads\":[{}]}},\n\"traceEvents\":[\n",
        tracer_name(s.tracer), s.entries, s.written, s.lost, per_thread);
    out << "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"nabla\"}}";
    for (size_t t = 0; t < s.thread_names.size(); ++t)
        out << fmt::format(",\n{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":{},\"args\":{{\"name\":{}}}}}",
                           t, quoted(s.thread_names[t]));
    std::map<int64_t, const Event*> forward_of;  // autograd sequence number -> the op that recorded it
    for (const Event& e : s.events)
        if (e.category == op && e.seq >= 0) forward_of[e.seq] = &e;
    for (const Event& e : s.events) {
        if (e.category == markers) {
            out << fmt::format(
                ",\n{{\"ph\":\"i\",\"cat\":\"marker\",\"name\":{},\"s\":\"t\",\"pid\":1,\"tid\":{},\"ts\":{},"
                "\"args\":{{\"depth\":{}}}}}",
                quoted(e.name), e.tid, us(e.t0_ns), e.depth);
            continue;
        }
        std::string args = fmt::format("\"depth\":{}", e.depth);
        if (e.seq >= 0) args += fmt::format(",\"{}\":{}", e.category == backward ? "fwd_seq" : "seq", e.seq);
        if (e.flops >= 0) args += fmt::format(",\"{}\":{}", e.category == comm ? "bytes" : "flops", e.flops);
        if (e.mem >= 0) args += fmt::format(",\"mem\":{},\"mem_delta\":{}", e.mem, e.mem_delta);
        if (!e.shapes.empty()) args += ",\"shapes\":" + quoted(e.shapes);
        out << fmt::format(
            ",\n{{\"ph\":\"X\",\"cat\":\"{}\",\"name\":{},\"pid\":1,\"tid\":{},\"ts\":{},\"dur\":{},"
            "\"args\":{{{}}}}}",
            category_name(e.category), quoted(e.name), e.tid, us(e.t0_ns), us(e.dur_ns), args);
        if (e.mem >= 0)
            out << fmt::format(
                ",\n{{\"ph\":\"C\",\"name\":\"memory\",\"pid\":1,\"tid\":0,\"ts\":{},"
                "\"args\":{{\"allocated_bytes\":{}}}}}",
                us(e.t0_ns + e.dur_ns), e.mem);
        if (e.category == backward && e.seq >= 0) {
            auto it = forward_of.find(e.seq);
            if (it == forward_of.end()) continue;  // the forward op was filtered out or lost
            const Event& f = *it->second;
            out << fmt::format(
                ",\n{{\"ph\":\"s\",\"cat\":\"fwdbwd\",\"name\":\"fwdbwd\",\"id\":{},\"pid\":1,\"tid\":{},"
                "\"ts\":{}}}",
                e.seq + 1, f.tid, us(f.t0_ns));
            out << fmt::format(
                ",\n{{\"ph\":\"f\",\"cat\":\"fwdbwd\",\"name\":\"fwdbwd\",\"id\":{},\"pid\":1,\"tid\":{},"
                "\"ts\":{},\"bp\":\"e\"}}",
                e.seq + 1, e.tid, us(e.t0_ns));
        }
    }
    out << "\n]}\n";
}

namespace {

// An integer field of a trace object, `fallback` when absent. A float or an integer outside T is a ValueError
// naming where it is: nlohmann's get<T> of a float outside T's range is undefined behaviour, not an error.
template <class T>
T integer_field(const nlohmann::json& object, const char* key, T fallback, const std::string& where) {
    const nlohmann::json v = object.value(key, nlohmann::json());  // (a type error when `object` is not an object)
    if (v.is_null()) return fallback;
    if (!v.is_number()) return v.get<T>();  // a string, an array...: nlohmann's type error (a malformed trace)
    if (v.is_number_float())
        throw ValueError(nabla::detail::concat(where, ": \"", key, "\" is ", v.dump(), ", not an integer"));
    const bool in_range =
        v.is_number_unsigned()  // (nlohmann keeps a non-negative integer as unsigned)
            ? v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
            : std::is_signed_v<T> && v.get<int64_t>() >= static_cast<int64_t>(std::numeric_limits<T>::min());
    if (!in_range)
        throw ValueError(nabla::detail::concat(where, ": \"", key, "\" is ", v.dump(), ", outside [",
                                               std::numeric_limits<T>::min(), ", ", std::numeric_limits<T>::max(),
                                               "]"));
    return v.get<T>();
}

// read_json without the translation of the JSON library's type errors.
Session read_json_checked(const std::string& text) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        throw ValueError(nabla::detail::concat("not a JSON trace: invalid JSON at byte ", e.byte, " of ", text.size()));
    }
    if (!j.is_object() || !j.contains("traceEvents") || !j["traceEvents"].is_array())
        throw ValueError("the JSON has no \"traceEvents\" array (not a Chrome trace)");
    Session s;
    s.tracer = Tracer::function_graph;
    std::vector<uint64_t> thread_lost;
    std::vector<int64_t> lost_before;
    if (j.contains("otherData")) {
        const auto& o = j["otherData"];
        if (o.value("tracer", "") == "function") s.tracer = Tracer::function;
        s.entries = integer_field(o, "entries", uint64_t{0}, "trace otherData");
        s.written = integer_field(o, "written", uint64_t{0}, "trace otherData");
        s.lost = integer_field(o, "lost", uint64_t{0}, "trace otherData");
        for (const auto& t : o.value("threads", nlohmann::json::array())) {
            const uint32_t tid = integer_field(t, "tid", 0u, "trace otherData threads");
            if (tid > kMaxThreads)
                throw ValueError(nabla::detail::concat("trace otherData: tid ", tid, " is above ", kMaxThreads));
            if (thread_lost.size() <= tid) thread_lost.resize(tid + 1, 0), lost_before.resize(tid + 1, -1);
            thread_lost[tid] = integer_field(t, "lost", uint64_t{0}, "trace otherData threads");
            lost_before[tid] = integer_field(t, "lost_before_ns", int64_t{-1}, "trace otherData threads");
            if (s.thread_names.size() <= tid) s.thread_names.resize(tid + 1, "thread");
            s.thread_names[tid] = t.value("name", "thread");
        }
    }
    // Times in microseconds, as Chrome writes them: a number in [0, 1e12] (11.6 days), so that nanosecond totals
    // over a whole trace stay far from int64's limit instead of wrapping to negative ones.
    size_t index = 0;
    auto ns = [&index](const nlohmann::json& v, const char* field) {
        const double us = v.is_number() ? v.get<double>() : NAN;
        if (!(us >= 0 && us <= 1e12))
            throw ValueError(nabla::detail::concat("trace event ", index, ": \"", field, "\" is ", v.dump(),
                                                   ", not a time in microseconds from 0 to 1e12"));
        return static_cast<int64_t>(std::llround(us * 1000.0));
    };
    for (const auto& e : j["traceEvents"]) {
        ++index;
        const std::string ph = e.value("ph", "");
        const std::string where = nabla::detail::concat("trace event ", index);
        const uint32_t tid = integer_field(e, "tid", 0u, where);
        if (tid > kMaxThreads)
            throw ValueError(nabla::detail::concat("trace event ", index, ": tid ", tid, " is above ", kMaxThreads));
        if (ph == "M" && e.value("name", "") == "thread_name") {
            if (s.thread_names.size() <= tid) s.thread_names.resize(tid + 1);
            s.thread_names[tid] = e["args"].value("name", "");
        } else if (ph == "X" || (ph == "i" && e.value("cat", "") == "marker")) {
            Event ev;
            ev.name = e.value("name", "");
            ev.tid = tid;
            ev.t0_ns = ns(e.value("ts", nlohmann::json()), "ts");
            ev.dur_ns = ph == "X" ? ns(e.value("dur", nlohmann::json()), "dur") : 0;
            ev.category = ph == "X" ? category_of(e.value("cat", "op"), index) : markers;
            const auto args = e.value("args", nlohmann::json::object());
            ev.depth = integer_field(args, "depth", uint16_t{0}, where);
            ev.seq = args.contains("fwd_seq") ? integer_field(args, "fwd_seq", int64_t{-1}, where)
                                              : integer_field(args, "seq", int64_t{-1}, where);
            ev.flops = integer_field(args, ev.category == comm ? "bytes" : "flops", int64_t{-1}, where);
            ev.mem = integer_field(args, "mem", int64_t{-1}, where);
            ev.mem_delta = integer_field(args, "mem_delta", int64_t{0}, where);
            ev.shapes = args.value("shapes", "");
            s.events.push_back(std::move(ev));
        }
    }
    for (const Event& e : s.events)
        if (s.thread_names.size() <= e.tid) s.thread_names.resize(e.tid + 1, "thread");
    lost_before.resize(s.thread_names.size(), -1);  // traces without "threads" (older ones) lost nothing per thread
    thread_lost.resize(s.thread_names.size(), 0);
    s.lost_before_ns = std::move(lost_before);
    s.thread_lost = std::move(thread_lost);
    std::stable_sort(s.events.begin(), s.events.end(), [](const Event& a, const Event& b) {
        if (a.tid != b.tid) return a.tid < b.tid;
        return a.t0_ns != b.t0_ns ? a.t0_ns < b.t0_ns : a.depth < b.depth;
    });
    return s;
}

}  // namespace

Session read_json(const std::string& text) {
    try {
        return read_json_checked(text);
    } catch (const nlohmann::json::exception& e) {  // a field of the wrong type ("tid": "x")
        throw ValueError(nabla::detail::concat("malformed trace: a field has the wrong type (", e.what(), ")"));
    }
}

}  // namespace nabla::trace
