// core/trace/control.cpp — what turns recording on and off inside a running session: ftrace's tracing_on switch,
// torch.profiler's step schedule (skip_first, wait, warmup, active, repeat) driven by trace::step_marker, and a
// SIGUSR1 handler that flips tracing_on (ftrace's `echo 0 > tracing_on` from outside the process).
//
// All three act on two bits of detail::g_enabled (kTracingOn, kWarmup) with compare-and-swap loops that leave a
// stopped session (g_enabled == 0) stopped. The signal handler does nothing else, so it is async-signal-safe.
// Warmup steps run the scopes (clocks, filters, shapes) but write() drops their records, as torch.profiler traces
// and discards its warmup steps.
#include <fmt/format.h>

#include <csignal>
#include <mutex>
#include <string>

#include "core/error.h"
#include "core/trace/trace.h"

namespace nabla::trace {

static_assert(std::atomic<uint32_t>::is_always_lock_free, "the SIGUSR1 handler needs a lock-free atomic");

namespace {

constexpr uint32_t kSwitches = detail::kTracingOn | detail::kWarmup;

struct ScheduleState {
    std::mutex mutex;
    Schedule schedule;
    int64_t steps = 0;  // step boundaries seen in this session
};
ScheduleState& schedule_state() {
    static ScheduleState s;
    return s;
}

// Sets the switch bits of a running session; a stopped one stays stopped.
void set_switches(uint32_t bits) {
    uint32_t g = detail::g_enabled.load(std::memory_order_relaxed);
    while (g != 0 && !detail::g_enabled.compare_exchange_weak(g, (g & ~kSwitches) | bits, std::memory_order_relaxed)) {
    }
}

// The switch bits for step k (0-based) of the schedule.
uint32_t phase_bits(const Schedule& c, int64_t k) {
    if (k < c.skip_first) return 0;
    const int64_t m = k - c.skip_first, cycle = int64_t{c.wait} + c.warmup + c.active;
    if (c.repeat > 0 && m >= c.repeat * cycle) return 0;  // every cycle done
    const int64_t r = m % cycle;
    if (r < c.wait) return 0;
    if (r < c.wait + c.warmup) return detail::kTracingOn | detail::kWarmup;
    return detail::kTracingOn;
}

void on_sigusr1(int) {
    uint32_t g = detail::g_enabled.load(std::memory_order_relaxed);
    while (g != 0 && !detail::g_enabled.compare_exchange_weak(g, g ^ detail::kTracingOn, std::memory_order_relaxed)) {
    }
}

}  // namespace

namespace detail {

uint32_t start_schedule(const Schedule& schedule, bool tracing_on) {
    ScheduleState& st = schedule_state();
    std::lock_guard<std::mutex> lock(st.mutex);
    st.schedule = schedule;
    st.steps = 0;
    if (schedule.active > 0) return 0;  // off until the first step boundary
    return tracing_on ? kTracingOn : 0;
}

}  // namespace detail

void tracing_on(bool on) { set_switches(on ? detail::kTracingOn : 0); }

bool tracing_is_on() {
    const uint32_t g = detail::g_enabled.load(std::memory_order_relaxed);
    return (g & detail::kTracingOn) != 0 && (g & kAllCategories) != 0;
}

void step_marker(int64_t n) {
    if (detail::g_enabled.load(std::memory_order_relaxed) == 0) return;  // no session
    {
        ScheduleState& st = schedule_state();
        std::lock_guard<std::mutex> lock(st.mutex);
        if (st.schedule.active > 0) set_switches(phase_bits(st.schedule, st.steps++));
    }
    if (enabled(Category::markers)) marker("step " + std::to_string(n));
}

void install_signal_toggle() {
    static const bool installed = [] {
        struct sigaction sa = {};
        sa.sa_handler = on_sigusr1;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        if (sigaction(SIGUSR1, &sa, nullptr) != 0) throw Error("trace: cannot install the SIGUSR1 handler");
        return true;
    }();
    (void)installed;
}

Schedule parse_schedule(std::string_view text) {
    Schedule s;
    size_t b = 0;
    while (b < text.size()) {
        size_t e = text.find(',', b);
        if (e == std::string_view::npos) e = text.size();
        const std::string_view item = text.substr(b, e - b);
        b = e + 1;
        const size_t eq = item.find('=');
        const std::string_view key = item.substr(0, eq);
        int* field = key == "skip" || key == "skip_first" ? &s.skip_first
                     : key == "wait"                      ? &s.wait
                     : key == "warmup"                    ? &s.warmup
                     : key == "active"                    ? &s.active
                     : key == "repeat"                    ? &s.repeat
                                                          : nullptr;
        if (field == nullptr || eq == std::string_view::npos)
            throw ValueError(
                fmt::format("trace schedule: expected KEY=N with KEY one of skip, wait, warmup, active, "
                            "repeat, got '{}' in '{}'",
                            item, text));
        const std::string number(item.substr(eq + 1));
        size_t used = 0;
        int v = -1;
        try {
            v = std::stoi(number, &used);
        } catch (const std::exception&) {
        }
        if (number.empty() || used != number.size() || v < 0)
            throw ValueError(
                fmt::format("trace schedule: {} must be a non-negative integer, got '{}' in '{}'", key, number, text));
        *field = v;
    }
    if (!(s == Schedule{}) && s.active <= 0)
        throw ValueError(fmt::format("trace schedule: active must be > 0 in '{}'", text));
    return s;
}

}  // namespace nabla::trace
