// core/trace/trace.cpp — the tracer's recording side (ftrace's ring buffer + function_graph entry/return hooks; torch's
// RecordFunction): start/stop, the per-thread rings, Scope begin/end, markers and interned names.
//
// Each thread owns a ring of Records (single writer). A scope pushes an Open entry on the thread's shadow stack at
// begin (after the filters said yes) and writes one Record at end. The ring is in overwrite mode: when full, the
// oldest record is replaced and counted as lost; the end time of the last lost record is kept so the graph view can
// mark scopes whose beginning fell into the lost part (`} /* name */`, as ftrace does when an entry was overwritten).
// The per-ring mutex is only contended by stop(); the hot path when tracing is off is the inline check in trace.h.
// tracing_on and the schedule's warmup (core/trace/control.cpp) gate write(): scopes still nest, nothing is kept.
#include "core/trace/trace.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/storage.h"
#include "core/tensor.h"

namespace nabla::trace {

namespace detail {
std::atomic<uint32_t> g_enabled{0};
}  // namespace detail

namespace {

int64_t clock_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

struct Ring {
    std::mutex mutex;
    std::unique_ptr<Record[]> slots;  // uninitialised: pages are touched only when written
    size_t capacity = 0;
    uint64_t written = 0;
    int64_t lost_end_ns = -1;  // end of the newest overwritten record
    uint32_t tid = 0;
    std::string name;
    uint64_t generation = 0;  // the session the slots belong to
};

struct Global {
    std::mutex mutex;
    Config config;
    bool running = false;
    std::atomic<uint64_t> generation{0};  // read without the mutex by begin()
    int64_t t0_ns = 0;
    std::vector<std::shared_ptr<Ring>> rings;
    std::thread::id main_thread = std::this_thread::get_id();  // static initialisation runs on the main thread
};
Global& global() {
    static Global g;
    return g;
}
const std::thread::id g_force_init = global().main_thread;  // make sure the main thread constructs it

struct Open {
    const char* name;
    const char* shapes;
    int64_t t0, flops, seq, mem0;
    uint64_t generation;
    uint32_t category;
    bool root;
};

// The calling thread's view of the session: its ring, its open scopes and a copy of the config (refreshed under
// the global mutex when a new session starts, so recording never reads the shared config).
struct ThreadState {
    std::shared_ptr<Ring> ring;
    std::vector<Open> open;
    std::string pending_name;  // set_thread_name before the thread's ring exists
    int roots_open = 0;
    uint64_t generation = 0;
    Config config;
    int64_t t0_ns = 0, thresh_ns = 0;
    std::unordered_map<const char*, bool> allowed;  // filter + notrace decision per name
    std::unordered_map<const char*, bool> is_root;
    std::unordered_map<std::string, const char*> names;           // intern cache
    std::unordered_map<std::string, const char*> backward_names;  // node name -> "<name>_backward"
};
ThreadState& state() {
    thread_local ThreadState s;
    return s;
}

size_t ring_capacity(const Config& c) { return std::max<size_t>(16, c.buffer_kb * 1024 / sizeof(Record)); }

void reset_ring(Ring& r, size_t capacity, uint64_t generation) {
    if (r.capacity != capacity) r.slots.reset(new Record[capacity]);
    r.capacity = capacity;
    r.written = 0;
    r.lost_end_ns = -1;
    r.generation = generation;
}

// False when no session is running. Otherwise brings the thread's copy of the session up to date.
bool refresh(ThreadState& s) {
    Global& g = global();
    std::lock_guard<std::mutex> lock(g.mutex);
    if (!g.running) return false;
    if (!s.ring) {
        s.ring = std::make_shared<Ring>();
        s.ring->tid = static_cast<uint32_t>(g.rings.size());
        if (!s.pending_name.empty())
            s.ring->name = s.pending_name;
        else if (std::this_thread::get_id() == g.main_thread)
            s.ring->name = "main";
        else
            s.ring->name = "thread-" + std::to_string(s.ring->tid);
        g.rings.push_back(s.ring);
    }
    {
        std::lock_guard<std::mutex> ring_lock(s.ring->mutex);
        if (s.ring->generation != g.generation) reset_ring(*s.ring, ring_capacity(g.config), g.generation);
    }
    s.generation = g.generation;
    s.config = g.config;
    s.t0_ns = g.t0_ns;
    s.thresh_ns = static_cast<int64_t>(g.config.thresh_us * 1000.0);
    s.allowed.clear();
    s.is_root.clear();
    return true;
}

bool allowed(ThreadState& s, const char* name) {
    auto it = s.allowed.find(name);
    if (it != s.allowed.end()) return it->second;
    const bool ok = (s.config.filter.empty() || filter_match(s.config.filter, name)) &&
                    (s.config.notrace.empty() || !filter_match(s.config.notrace, name));
    s.allowed.emplace(name, ok);
    return ok;
}

bool matches_root(ThreadState& s, const char* name) {
    auto it = s.is_root.find(name);
    if (it != s.is_root.end()) return it->second;
    const bool ok = filter_match(s.config.graph_roots, name);
    s.is_root.emplace(name, ok);
    return ok;
}

int64_t allocated_bytes() { return memory_stats(DeviceType::CPU).allocated; }

// tracing_on set and not in a warmup step.
bool writing() noexcept {
    const uint32_t g = detail::g_enabled.load(std::memory_order_relaxed);
    return (g & detail::kTracingOn) != 0 && (g & detail::kWarmup) == 0;
}

void write(ThreadState& s, const Record& r) {
    if (!writing()) return;
    Ring& ring = *s.ring;
    std::lock_guard<std::mutex> lock(ring.mutex);
    if (ring.generation != s.generation) return;  // a new session started meanwhile
    Record& slot = ring.slots[ring.written % ring.capacity];
    if (ring.written >= ring.capacity) ring.lost_end_ns = slot.t0_ns + slot.dur_ns;
    slot = r;
    ++ring.written;
}

}  // namespace

const char* category_name(uint32_t category) {
    switch (category) {
        case op: return "op";
        case module: return "module";
        case backward: return "backward";
        case optimizer: return "optimizer";
        case data: return "data";
        case checkpoint: return "checkpoint";
        case step: return "step";
        case markers: return "marker";
        case comm: return "comm";
        case cuda: return "cuda";
        default: return "other";
    }
}

namespace detail {

bool begin(const char* name, uint32_t category, int64_t flops) noexcept {
    ThreadState& s = state();
    if (s.generation != global().generation.load(std::memory_order_relaxed) || !s.ring) {
        if (!refresh(s)) return false;
    }
    if (!allowed(s, name)) return false;
    bool root = false;
    if (s.config.tracer == Tracer::function_graph && !s.config.graph_roots.empty() && s.roots_open == 0) {
        if (!matches_root(s, name)) return false;
        root = true;
    }
    if (s.config.max_depth > 0 && static_cast<int>(s.open.size()) >= s.config.max_depth) return false;
    const int64_t mem0 = s.config.memory ? allocated_bytes() : -1;
    if (root) ++s.roots_open;
    s.open.push_back({name, nullptr, clock_ns() - s.t0_ns, flops, -1, mem0, s.generation, category, root});
    return true;
}

bool begin_op(const char* name, int64_t flops, const Tensor* const* inputs, size_t n) noexcept {
    if (!begin(name, op, flops)) return false;
    ThreadState& s = state();
    if (s.config.shapes) s.open.back().shapes = intern_shapes(inputs, n);
    return true;
}

bool begin_op_list(const char* name, int64_t flops, const std::vector<Tensor>& inputs) noexcept {
    if (!begin(name, op, flops)) return false;
    ThreadState& s = state();
    if (s.config.shapes) s.open.back().shapes = intern_shapes(inputs);
    return true;
}

void end() noexcept {
    ThreadState& s = state();
    const int64_t t1 = clock_ns() - s.t0_ns;
    const Open o = s.open.back();
    s.open.pop_back();
    if (o.root) --s.roots_open;
    if (!writing() || o.generation != s.generation) return;
    const int64_t dur = t1 - o.t0;
    if (s.thresh_ns > 0 && dur <= s.thresh_ns) return;
    const int64_t mem = o.mem0 >= 0 ? allocated_bytes() : -1;
    write(s, Record{o.t0, dur, o.name, o.seq, o.flops, mem, mem >= 0 ? mem - o.mem0 : 0, o.shapes,
                    static_cast<uint16_t>(s.open.size()), static_cast<uint16_t>(o.category)});
}

}  // namespace detail

bool BackwardScope::begin(const std::string& node_name, uint64_t sequence_nr, const char* shapes) noexcept {
    ThreadState& s = state();
    const char* name;
    if (auto it = s.backward_names.find(node_name); it != s.backward_names.end())
        name = it->second;
    else
        name = s.backward_names.emplace(node_name, intern(node_name + "_backward")).first->second;
    if (!detail::begin(name, backward, -1)) return false;
    s.open.back().seq = static_cast<int64_t>(sequence_nr);
    if (s.config.shapes) s.open.back().shapes = shapes;
    return true;
}

bool ModuleScope::begin(const std::string& path) noexcept { return detail::begin(intern(path), module, -1); }

const char* note_sequence(uint64_t sequence_nr) noexcept {
    if (!enabled(op)) return nullptr;
    ThreadState& s = state();
    if (s.open.empty() || s.open.back().category != op || s.open.back().seq >= 0) return nullptr;
    s.open.back().seq = static_cast<int64_t>(sequence_nr);
    return s.open.back().shapes;
}

const char* intern(std::string_view text) {
    ThreadState& s = state();
    std::string key(text);
    if (auto it = s.names.find(key); it != s.names.end()) return it->second;
    // Never destroyed: the trace written at exit (trace_env.cpp) still reads the names. Node-based, so element
    // addresses never move.
    static auto* mutex = new std::mutex;
    static auto* table = new std::unordered_set<std::string>;
    const char* p;
    {
        std::lock_guard<std::mutex> lock(*mutex);
        p = table->insert(key).first->c_str();
    }
    s.names.emplace(std::move(key), p);
    return p;
}

void marker(std::string_view text) {
    if (!enabled(Category::markers)) return;
    ThreadState& s = state();
    if ((s.generation != global().generation.load(std::memory_order_relaxed) || !s.ring) && !refresh(s)) return;
    write(s, Record{clock_ns() - s.t0_ns, 0, intern(text), -1, -1, -1, 0, nullptr, static_cast<uint16_t>(s.open.size()),
                    static_cast<uint8_t>(Category::markers)});
}

void record_device(const char* kernel, int64_t dur_ns) {
    if (!enabled(cuda)) return;
    ThreadState& s = state();
    if ((s.generation != global().generation.load(std::memory_order_relaxed) || !s.ring) && !refresh(s)) return;
    const int64_t now = clock_ns() - s.t0_ns;
    write(s, Record{now - dur_ns, dur_ns, intern(std::string(kernel) + " (device)"), -1, -1, -1, 0, nullptr,
                    static_cast<uint16_t>(s.open.size()), static_cast<uint16_t>(cuda)});
}

void set_thread_name(std::string_view name) {
    ThreadState& s = state();
    s.pending_name = std::string(name);  // a session started later names the ring with it
    if (!s.ring && !refresh(s)) return;  // running: the thread is listed even if it records nothing
    std::lock_guard<std::mutex> lock(s.ring->mutex);
    s.ring->name = s.pending_name;
}

void start(const Config& config) {
    NB_CHECK_VALUE(config.buffer_kb > 0, "trace::start: buffer_kb must be positive, got 0");
    NB_CHECK_VALUE(config.max_depth >= 0, "trace::start: max_depth must be >= 0, got ", config.max_depth);
    NB_CHECK_VALUE(config.thresh_us >= 0, "trace::start: thresh_us must be >= 0, got ", config.thresh_us);
    const Schedule& sc = config.schedule;
    NB_CHECK_VALUE(sc.skip_first >= 0 && sc.wait >= 0 && sc.warmup >= 0 && sc.active >= 0 && sc.repeat >= 0,
                   "trace::start: schedule fields must be >= 0, got skip_first=", sc.skip_first, " wait=", sc.wait,
                   " warmup=", sc.warmup, " active=", sc.active, " repeat=", sc.repeat);
    NB_CHECK_VALUE(sc.active > 0 || sc == Schedule{},
                   "trace::start: a schedule needs active > 0 (skip_first=", sc.skip_first, " wait=", sc.wait,
                   " warmup=", sc.warmup, " repeat=", sc.repeat, ")");
    for (const std::string* list : {&config.filter, &config.notrace, &config.graph_roots}) {
        if (list->empty()) continue;
        size_t b = 0;
        while (b <= list->size()) {
            size_t e = list->find(',', b);
            if (e == std::string::npos) e = list->size();
            const std::string glob = list->substr(b, e - b);
            NB_CHECK_VALUE(!glob.empty() && glob != "!", "trace::start: empty glob in the list '", *list, "'");
            b = e + 1;
        }
    }
    Global& g = global();
    std::lock_guard<std::mutex> lock(g.mutex);
    detail::g_enabled.store(0);
    g.config = config;
    g.running = config.tracer != Tracer::nop;
    ++g.generation;
    g.t0_ns = clock_ns();
    for (auto& r : g.rings) {
        std::lock_guard<std::mutex> ring_lock(r->mutex);
        reset_ring(*r, ring_capacity(config), g.generation);
    }
    const uint32_t on = detail::start_schedule(config.schedule, config.tracing_on);
    if (g.running) detail::g_enabled.store((config.categories & kAllCategories) | Category::markers | on);
}

bool is_running() { return (detail::g_enabled.load(std::memory_order_relaxed) & kAllCategories) != 0; }

const Config& current_config() { return global().config; }

int64_t count_flops(const std::function<void()>& fn) {
    if (is_running()) return -1;
    start({.categories = op});
    try {
        fn();
    } catch (...) {
        stop();
        throw;
    }
    const Session s = stop();
    int64_t flops = 0;
    for (const auto& e : s.events)
        if (e.flops > 0) flops += e.flops;
    return flops;
}

Session stop() {
    Global& g = global();
    std::lock_guard<std::mutex> lock(g.mutex);
    Session session;
    detail::g_enabled.store(0);
    if (!g.running) return session;
    g.running = false;
    session.tracer = g.config.tracer;
    for (auto& r : g.rings) {
        std::lock_guard<std::mutex> ring_lock(r->mutex);
        session.thread_names.push_back(r->name);
        const bool current = r->generation == g.generation;  // else the thread recorded nothing in this session
        const uint64_t entries = current ? std::min<uint64_t>(r->written, r->capacity) : 0;
        session.lost_before_ns.push_back(current ? r->lost_end_ns : -1);
        session.thread_lost.push_back(current ? r->written - entries : 0);
        if (!current) continue;
        session.entries += entries;
        session.written += r->written;
        const size_t first = session.events.size();
        for (uint64_t i = r->written - entries; i < r->written; ++i) {
            const Record& x = r->slots[i % r->capacity];
            session.events.push_back(Event{x.t0_ns, x.dur_ns, x.name, x.shapes ? x.shapes : "", r->tid, x.depth,
                                           x.category, x.seq, x.flops, x.mem, x.mem_delta});
        }
        // Records are in end order (children first); the writers want begin order, parents before children.
        std::stable_sort(
            session.events.begin() + static_cast<std::ptrdiff_t>(first), session.events.end(),
            [](const Event& a, const Event& b) { return a.t0_ns != b.t0_ns ? a.t0_ns < b.t0_ns : a.depth < b.depth; });
    }
    session.lost = session.written - session.entries;
    ++g.generation;
    return session;
}

}  // namespace nabla::trace
