// tests/core/test_trace_control.cpp — what switches recording inside a running session (core/trace/control.cpp):
// tracing_on, the step schedule (skip_first, wait, warmup, active, repeat) over step boundaries, SIGUSR1 toggling
// tracing_on, the NABLA_TRACE_* variables that set them, and the DataLoader's named worker threads.
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/trace/format.h"
#include "nn/data/dataloader.h"
#include "support/support.h"

namespace {

using Names = std::vector<std::string>;

Names names(const trace::Session& s) {
    Names r;
    for (const auto& e : s.events) r.push_back(e.name);
    return r;
}

// Steps 0..n-1 of a loop: a step boundary, then one scope named after the step.
void run_steps(int n) {
    for (int k = 0; k < n; ++k) {
        trace::step_marker(k + 1);
        trace::Scope s(trace::op, trace::intern("s" + std::to_string(k)));
    }
}

// Sets a variable for a scope, then restores it.
struct Env {
    std::string name, old;
    bool had;
    Env(std::string n, const std::string& value) : name(std::move(n)) {
        const char* v = std::getenv(name.c_str());
        had = v != nullptr;
        if (had) old = v;
        ::setenv(name.c_str(), value.c_str(), 1);
    }
    ~Env() {
        if (had)
            ::setenv(name.c_str(), old.c_str(), 1);
        else
            ::unsetenv(name.c_str());
    }
};

}  // namespace

TEST_CASE("trace: tracing_on gates writing; the session keeps running", "[trace]") {
    CHECK_FALSE(trace::tracing_is_on());
    trace::tracing_on(true);  // no session: nothing to switch
    CHECK_FALSE(trace::tracing_is_on());
    CHECK_FALSE(trace::is_running());

    trace::start({});
    CHECK(trace::tracing_is_on());
    { trace::Scope a(trace::op, "a"); }
    {
        trace::Scope b(trace::op, "b");  // began on, ends off: not written
        trace::tracing_on(false);
    }
    CHECK(trace::is_running());
    CHECK_FALSE(trace::tracing_is_on());
    { trace::Scope c(trace::op, "c"); }
    trace::marker("hidden");
    trace::tracing_on(true);
    { trace::Scope d(trace::op, "d"); }
    trace::Session s = trace::stop();
    CHECK(names(s) == Names{"a", "d"});
    CHECK(s.written == 2);

    trace::start({.tracing_on = false});
    { trace::Scope e(trace::op, "e"); }
    trace::tracing_on(true);
    { trace::Scope f(trace::op, "f"); }
    CHECK(names(trace::stop()) == Names{"f"});
}

TEST_CASE("trace: the step schedule records the active steps and drops warmup", "[trace]") {
    // step:    0     1     2       3      4      5     6       7      8      9..11
    // phase:   skip  wait  warmup  active active wait  warmup  active active done
    trace::start({.schedule = {.skip_first = 1, .wait = 1, .warmup = 1, .active = 2, .repeat = 2}});
    CHECK_FALSE(trace::tracing_is_on());  // off until the first step boundary
    { trace::Scope before(trace::op, "before"); }
    run_steps(12);
    CHECK_FALSE(trace::tracing_is_on());  // every cycle done
    const trace::Session s = trace::stop();
    CHECK(names(s) == Names{"step 4", "s3", "step 5", "s4", "step 8", "s7", "step 9", "s8"});
    CHECK(s.written == 8);

    // repeat = 0: cycles until the end; no skip, no wait.
    trace::start({.schedule = {.warmup = 1, .active = 1}});
    run_steps(6);
    CHECK(names(trace::stop()) == Names{"step 2", "s1", "step 4", "s3", "step 6", "s5"});

    // Warmup steps run the scopes but keep nothing; tracing_is_on is true in them.
    trace::start({.schedule = {.warmup = 2, .active = 1, .repeat = 1}});
    trace::step_marker(1);
    CHECK(trace::tracing_is_on());
    { trace::Scope w(trace::op, "warm"); }
    trace::Session warm = trace::stop();
    CHECK(warm.events.empty());
    CHECK(warm.written == 0);

    CHECK_THROWS_WITH(trace::start({.schedule = {.wait = 2}}), Catch::Contains("active > 0"));
    CHECK_THROWS_WITH(trace::start({.schedule = {.active = 1, .repeat = -1}}), Catch::Contains("repeat=-1"));
    CHECK_FALSE(trace::is_running());
}

TEST_CASE("trace: parse_schedule reads torch.profiler.schedule's fields", "[trace]") {
    CHECK(trace::parse_schedule("skip=10,wait=5,warmup=1,active=3,repeat=2") ==
          trace::Schedule{.skip_first = 10, .wait = 5, .warmup = 1, .active = 3, .repeat = 2});
    CHECK(trace::parse_schedule("active=3,skip_first=2") == trace::Schedule{.skip_first = 2, .active = 3});
    CHECK(trace::parse_schedule("") == trace::Schedule{});
    CHECK_THROWS_WITH(trace::parse_schedule("wait=1"), Catch::Contains("active must be > 0"));
    CHECK_THROWS_WITH(trace::parse_schedule("activ=3"), Catch::Contains("'activ=3'"));
    CHECK_THROWS_WITH(trace::parse_schedule("active=x"), Catch::Contains("active must be a non-negative integer"));
    CHECK_THROWS_WITH(trace::parse_schedule("active=-1"), Catch::Contains("'-1'"));
    CHECK_THROWS_WITH(trace::parse_schedule("active"), Catch::Contains("KEY=N"));
}

TEST_CASE("trace: SIGUSR1 flips tracing_on once the toggle is installed", "[trace]") {
    trace::install_signal_toggle();
    trace::install_signal_toggle();  // idempotent
    std::raise(SIGUSR1);             // no session: nothing to flip, and the process lives
    CHECK_FALSE(trace::is_running());
    trace::start({});
    { trace::Scope a(trace::op, "a"); }
    std::raise(SIGUSR1);
    CHECK_FALSE(trace::tracing_is_on());
    { trace::Scope b(trace::op, "b"); }
    std::raise(SIGUSR1);
    CHECK(trace::tracing_is_on());
    { trace::Scope c(trace::op, "c"); }
    CHECK(names(trace::stop()) == Names{"a", "c"});
}

TEST_CASE("trace: NABLA_TRACE_SHAPES, _STEPS, _ON and _SIGNALS configure the env trace", "[trace]") {
    TempDir dir;
    const std::string file = dir.file("t.json");
    Env tracer("NABLA_TRACE", "function_graph"), out("NABLA_TRACE_FILE", file), shapes("NABLA_TRACE_SHAPES", "1"),
        steps("NABLA_TRACE_STEPS", "skip=1,active=2,repeat=1");
    {
        Env bad("NABLA_TRACE_STEPS", "active=2,wait=x");
        CHECK_THROWS_WITH(trace::start_from_env(), Catch::Contains("NABLA_TRACE_STEPS") && Catch::Contains("wait"));
        Env bad_flag("NABLA_TRACE_SHAPES", "yes");
        CHECK_THROWS_WITH(trace::start_from_env(), Catch::Contains("NABLA_TRACE_SHAPES"));
    }
    REQUIRE(trace::start_from_env());
    const trace::Config& c = trace::current_config();
    CHECK(c.shapes);
    CHECK(c.tracing_on);
    CHECK(c.schedule == trace::Schedule{.skip_first = 1, .active = 2, .repeat = 1});
    for (int k = 0; k < 4; ++k) {
        trace::step_marker(k + 1);
        add(randn({2, 3}), randn({2, 3}));
    }
    trace::write_env_trace();
    std::ifstream in(file);
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    const trace::Session s = trace::read_json(text.str());
    CHECK(names(s) == Names{"step 2", "add", "step 3", "add"});
    for (const auto& e : s.events)
        if (e.name == "add") CHECK(e.shapes == "f32[2,3],f32[2,3]");

    Env off("NABLA_TRACE_ON", "0"), signals("NABLA_TRACE_SIGNALS", "1"), no_steps("NABLA_TRACE_STEPS", "");
    REQUIRE(trace::start_from_env());
    CHECK_FALSE(trace::tracing_is_on());
    std::raise(SIGUSR1);  // the env installed the toggle
    CHECK(trace::tracing_is_on());
    trace::write_env_trace();
}

TEST_CASE("trace: DataLoader workers are named threads in the trace", "[trace]") {
    auto ds = std::make_shared<data::LambdaDataset>(
        8, [](int64_t i, Generator&) { return data::Example{full({2}, static_cast<double>(i))}; });
    data::DataLoader loader(ds, {.batch_size = 2, .num_workers = 2});
    trace::start({});
    int64_t batches = 0;
    for (auto& batch : loader) batches += batch.size() > 0;
    const trace::Session s = trace::stop();
    CHECK(batches == 4);
    const std::set<std::string> workers{"dataloader worker 0", "dataloader worker 1"};
    std::set<std::string> loaders;
    for (const auto& e : s.events)
        if (e.name == "load_batch") loaders.insert(s.thread_names.at(e.tid));
    CHECK(!loaders.empty());
    for (const auto& name : loaders) CHECK(workers.count(name) == 1);  // which worker loads what is scheduling's
    for (const auto& name : workers)                                   // each worker named itself, loading or not
        CHECK(std::count(s.thread_names.begin(), s.thread_names.end(), name) >= 1);
    std::ostringstream json;
    trace::write_json(json, s);
    const auto j = nlohmann::json::parse(json.str());
    std::set<std::string> named;
    for (const auto& t : j["otherData"]["threads"]) named.insert(t["name"].get<std::string>());
    CHECK(named.count("dataloader worker 0") == 1);
    CHECK(named.count("dataloader worker 1") == 1);
}
