// core/trace/trace.h — the op tracer: Linux ftrace for training steps (torch.profiler's record_function + key_averages,
// ftrace's function / function_graph tracers and trace_marker).
//
//   trace::start({.tracer = trace::Tracer::function_graph, .filter = "conv*,bn*"});
//   ... a training step: ops, modules, backward, optimizer open trace::Scope objects ...
//   trace::Session s = trace::stop();            // drains the per-thread rings
//   trace::write_graph(std::cout, s);            // core/trace/format.cpp: graph, function, stat, Chrome JSON
//
// Each completed scope is one Record written at scope end into the calling thread's ring (bounded, overwrite mode:
// the oldest records go first and are counted as lost; entries + lost == written). Filters use ftrace's globs
// (core/trace/filter.cpp). When tracing is off a Scope costs one relaxed atomic load and a predicted branch.
// As in ftrace, a running session (hooks installed) and tracing_on (records written) are two switches; the step
// schedule and SIGUSR1 flip tracing_on (core/trace/control.cpp). Op scopes can record their inputs' shapes
// (Config::shapes, torch.profiler's record_shapes; core/trace/shapes.cpp).
// Design notes: docs/tracer.md; the output layouts are ftrace's (kernel/trace/trace_functions_graph.c).
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace nabla {
class Tensor;  // core/tensor.h; op scopes only take references, the shapes are read in core/trace/shapes.cpp
}

namespace nabla::trace {

enum class Tracer : uint8_t { nop, function, function_graph };

// Categories of scopes (a bit mask in Config::categories).
enum Category : uint32_t {
    op = 1,
    module = 2,
    backward = 4,
    optimizer = 8,
    data = 16,
    checkpoint = 32,
    step = 64,
    markers = 128,  // trace::marker() and step boundaries
    comm = 256,     // collectives between the ranks of a data-parallel run (nn/distributed.h); their count is bytes
    cuda = 512,     // CUDA kernel launches (backends/cuda/launch.h) and, with Config::device_time, their device time
};
inline constexpr uint32_t kAllCategories = 1023;
const char* category_name(uint32_t category);  // "op", "module", ...

// torch.profiler.schedule over the step boundaries (trace::step_marker): skip the first `skip_first` steps, then
// cycles of `wait` steps off, `warmup` steps traced with their records dropped, `active` steps recorded; `repeat`
// cycles (0 = until the end). Step k (counted from 0 at the session's first step boundary) runs from boundary k
// to boundary k + 1; nothing before the first boundary is recorded. active == 0: no schedule.
struct Schedule {
    int skip_first = 0, wait = 0, warmup = 0, active = 0, repeat = 0;
    bool operator==(const Schedule&) const = default;
};
// "skip=10,wait=5,warmup=1,active=3,repeat=2" (skip_first is also accepted; absent keys are 0; "" = no schedule).
// Throws ValueError naming the bad key or number.
Schedule parse_schedule(std::string_view text);

struct Config {
    Tracer tracer = Tracer::function_graph;
    std::string filter;       // comma-separated globs ("conv*,bn*"); empty = everything; "!glob" removes
    std::string notrace;      // globs never traced (wins over filter)
    std::string graph_roots;  // function_graph only: trace only scopes under a matching scope (set_graph_function)
    int max_depth = 0;        // max_graph_depth: 0 = unlimited, 1 = top-level scopes only
    double thresh_us = 0;     // tracing_thresh: keep only scopes that took longer than this
    size_t buffer_kb = 8192;  // ring size per thread
    uint32_t categories = kAllCategories;
    bool memory = false;       // sample the allocated host bytes at each scope's begin and end
    bool shapes = false;       // op scopes record their inputs' dtypes and shapes ("f32[8,3,288,288],f32[16,3,3,3]")
    bool device_time = false;  // CUDA launches are also timed on the device with events ("<kernel> (device)")
    bool tracing_on = true;    // false: the session starts with writing off (tracing_on(), SIGUSR1 turn it on)
    Schedule schedule;         // active > 0: step boundaries drive tracing_on (torch.profiler.schedule)
};

// One completed scope (or a marker), as written into a ring.
struct Record {
    int64_t t0_ns;       // begin, relative to start()
    int64_t dur_ns;      // 0 for markers
    const char* name;    // a literal or an interned string (lives until the process ends)
    int64_t seq;         // op: the autograd sequence number it recorded; backward: the node's; -1 = none
    int64_t flops;       // -1 = unknown
    int64_t mem;         // allocated bytes at scope end; -1 = not sampled
    int64_t mem_delta;   // allocated bytes at end minus at begin
    const char* shapes;  // op inputs, interned ("f32[2,3],i64[2]"); nullptr = not recorded
    uint16_t depth;      // enclosing recorded scopes on this thread
    uint16_t category;   // a Category
};

// What stop() returns and the writers render: the records of every thread, with owned names so that a session
// loaded from a file (trace::load_json) renders the same way.
struct Event {
    int64_t t0_ns = 0, dur_ns = 0;
    std::string name;
    std::string shapes;  // op inputs ("f32[2,3],i64[2]"); empty = not recorded
    uint32_t tid = 0;
    uint16_t depth = 0;
    uint32_t category = op;
    int64_t seq = -1, flops = -1, mem = -1, mem_delta = 0;
};
struct Session {
    Tracer tracer = Tracer::nop;
    std::vector<Event> events;              // per thread in begin order, children after their parent
    std::vector<std::string> thread_names;  // index = tid
    std::vector<int64_t> lost_before_ns;    // per tid: records that ended before this time were lost (-1 = none)
    std::vector<uint64_t> thread_lost;      // per tid: records lost to overwrite
    uint64_t entries = 0, written = 0, lost = 0;
};

namespace detail {
// The enabled categories, kTracingOn and kWarmup; 0 when no session runs. Written by start/stop, tracing_on, the
// schedule and the SIGUSR1 handler (lock-free, so the handler may flip it).
extern std::atomic<uint32_t> g_enabled;
inline constexpr uint32_t kTracingOn = 1u << 31;  // ftrace's tracing_on: records are written
inline constexpr uint32_t kWarmup = 1u << 30;     // a schedule's warmup step: scopes run, their records are dropped
bool begin(const char* name, uint32_t category, int64_t flops) noexcept;  // true if the scope is recorded
void end() noexcept;
bool begin_op(const char* name, int64_t flops, const Tensor* const* inputs, size_t n) noexcept;
bool begin_op_list(const char* name, int64_t flops, const std::vector<Tensor>& inputs) noexcept;
// core/trace/shapes.cpp: "f32[2,3],i64[2]" for the defined inputs, interned (no heap work once a text was seen).
const char* intern_shapes(const Tensor* const* inputs, size_t n);
const char* intern_shapes(const std::vector<Tensor>& inputs);
// core/trace/control.cpp: start() hands the new session's schedule over; returns the initial tracing_on bits.
uint32_t start_schedule(const Schedule& schedule, bool tracing_on);
}  // namespace detail

// True when a session records `category` and tracing_on is set: one relaxed load.
inline bool enabled(uint32_t category) noexcept {
    const uint32_t need = detail::kTracingOn | category;
    return (detail::g_enabled.load(std::memory_order_relaxed) & need) == need;
}

// RAII scope: `trace::Scope ts(trace::op, "conv2d");`. `name` must outlive the process's last trace output
// (a literal, or intern()). A FLOP count can be given lazily: `trace::Scope ts(trace::op, "mm", [&] { return ...; })`.
class Scope {
public:
    Scope(uint32_t category, const char* name) noexcept {
        if (enabled(category)) [[unlikely]]
            armed_ = detail::begin(name, category, -1);
    }
    template <class FlopsFn>
    Scope(uint32_t category, const char* name, FlopsFn&& flops) noexcept {
        if (enabled(category)) [[unlikely]]
            armed_ = detail::begin(name, category, static_cast<int64_t>(flops()));
    }
    ~Scope() {
        if (armed_) [[unlikely]]
            detail::end();
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

private:
    bool armed_ = false;
};

// An op scope with its input tensors, whose dtypes and shapes are recorded when Config::shapes is on (undefined
// tensors, such as a missing bias, are left out): `trace::OpScope ts("conv2d", x, weight, bias);`, with a lazy
// FLOP count `trace::OpScope ts("mm", [&] { return ...; }, a, b);`, or a list `trace::OpScope ts("cat", tensors);`.
// Off, it costs what a Scope costs; the shapes are formatted out of line, only for recorded scopes.
class OpScope {
public:
    template <class... Tensors>
    requires(std::is_same_v<Tensors, Tensor>&&...) explicit OpScope(const char* name, const Tensors&... inputs) noexcept
        : OpScope(
              name, [] { return int64_t{-1}; }, inputs...) {}
    template <class FlopsFn, class... Tensors>
    requires(std::is_invocable_v<FlopsFn> && (std::is_same_v<Tensors, Tensor> && ...))
        OpScope(const char* name, FlopsFn&& flops, const Tensors&... inputs)
    noexcept {
        if (enabled(op)) [[unlikely]] {
            const std::array<const Tensor*, sizeof...(Tensors)> p{&inputs...};
            armed_ = detail::begin_op(name, static_cast<int64_t>(flops()), p.data(), p.size());
        }
    }
    OpScope(const char* name, const std::vector<Tensor>& inputs) noexcept {
        if (enabled(op)) [[unlikely]]
            armed_ = detail::begin_op_list(name, -1, inputs);
    }
    ~OpScope() {
        if (armed_) [[unlikely]]
            detail::end();
    }
    OpScope(const OpScope&) = delete;
    OpScope& operator=(const OpScope&) = delete;

private:
    bool armed_ = false;
};

// A backward scope carries the forward op's autograd sequence number, which links it to the op that recorded it.
class BackwardScope {
public:
    // `shapes`: the forward op's input shapes as note_sequence returned them (nullptr: none recorded).
    BackwardScope(const std::string& node_name, uint64_t sequence_nr, const char* shapes = nullptr) noexcept {
        if (enabled(backward)) [[unlikely]]
            armed_ = begin(node_name, sequence_nr, shapes);
    }
    ~BackwardScope() {
        if (armed_) [[unlikely]]
            detail::end();
    }
    BackwardScope(const BackwardScope&) = delete;
    BackwardScope& operator=(const BackwardScope&) = delete;

private:
    static bool begin(const std::string& node_name, uint64_t sequence_nr, const char* shapes) noexcept;
    bool armed_ = false;
};

// A module scope: `path` is the module's state-dict path, interned on first use.
class ModuleScope {
public:
    template <class PathFn>
    explicit ModuleScope(PathFn&& path) noexcept {
        if (enabled(module)) [[unlikely]]
            armed_ = begin(path());
    }
    ~ModuleScope() {
        if (armed_) [[unlikely]]
            detail::end();
    }
    ModuleScope(const ModuleScope&) = delete;
    ModuleScope& operator=(const ModuleScope&) = delete;

private:
    static bool begin(const std::string& path) noexcept;
    bool armed_ = false;
};

// Starts a session: clears every ring. Throws ValueError on a malformed config (an empty glob, a bad size).
void start(const Config& config);
Session stop();     // stops recording and returns what the rings hold; an empty nop session when not started
bool is_running();  // a session runs (its hooks are installed), whether or not tracing_on is set
const Config& current_config();
// The FLOPs the tracer counts (core/trace/flops.h: conv- and matmul-like ops, a multiply-add = 2) in one call of
// `fn`, run in a session of its own; -1 when a session is already recording (this one would replace it).
int64_t count_flops(const std::function<void()>& fn);

// ftrace's tracing_on: while off, a running session records nothing (scopes cost one load, as when not running).
// The schedule sets it at each step boundary; SIGUSR1 flips it when the toggle is installed.
void tracing_on(bool on);
bool tracing_is_on();  // a session runs and tracing_on is set
// Installs a SIGUSR1 handler that flips tracing_on (it only flips an atomic: async-signal-safe). Idempotent.
void install_signal_toggle();

const char* intern(std::string_view text);  // a stable copy, one per distinct text
void marker(std::string_view text);         // trace_marker: a comment at the current depth
// A kernel's duration measured on a device (backends/cuda/launch.cpp), recorded as a `cuda` scope named
// "<kernel> (device)" that ends now: the duration is the device's, the position on the host's timeline approximate.
void record_device(const char* kernel, int64_t dur_ns);
void step_marker(int64_t step);  // a step boundary ("step 12"); advances Config::schedule
// autograd::record: tags the innermost open op scope with the node's sequence number and returns the scope's
// recorded input shapes (nullptr when none), which the node keeps for its backward scope.
const char* note_sequence(uint64_t sequence_nr) noexcept;
void set_thread_name(std::string_view name);  // names the calling thread in the outputs

// ftrace's glob: "abc*" prefix, "*abc" suffix, "*abc*" substring, "a*b" prefix and suffix, else exact.
bool glob_match(std::string_view pattern, std::string_view name);
// A comma-separated filter list with "!glob" removals: true if `name` matches some glob and no removal.
// An empty list matches nothing (callers treat "no filter" separately).
bool filter_match(const std::string& list, std::string_view name);

// Environment control for the `nabla` binary: NABLA_TRACE=function|function_graph, NABLA_TRACE_FILTER,
// NABLA_TRACE_NOTRACE, NABLA_TRACE_GRAPH, NABLA_TRACE_DEPTH, NABLA_TRACE_THRESH_US, NABLA_TRACE_BUF_KB,
// NABLA_TRACE_MEMORY=1, NABLA_TRACE_SHAPES=1, NABLA_TRACE_STEPS=skip=..,wait=..,warmup=..,active=..,repeat=..,
// NABLA_TRACE_ON=0 (start with tracing_on off), NABLA_TRACE_SIGNALS=1 (SIGUSR1 flips tracing_on),
// NABLA_TRACE_FILE (default nabla.trace.json, or nabla.trace.txt for NABLA_TRACE_FORMAT=text).
// start_from_env starts tracing if NABLA_TRACE is set and registers writing the file at exit (core/trace/env.cpp).
bool start_from_env();
void write_env_trace();  // writes the file now (also called at exit); a no-op when the env did not start tracing

}  // namespace nabla::trace
