// tests/core/test_trace.cpp — core/trace/trace.cpp recording: filters, graph roots and depth on real scopes, ring
// accounting under overwrite (entries + lost == written), module scopes named by state-dict paths, backward scopes
// linked to their forward ops, and the Chrome JSON (parsed back, nesting per thread and field types checked, per-thread
// entries and lost counts read back).
// No timing assertions.
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "core/trace/format.h"
#include "nn/conv.h"
#include "nn/normalization.h"
#include "support/support.h"

namespace {

// Two top-level scopes: outer { conv2d { add }, relu } and other { mul }.
void run_scopes() {
    {
        trace::Scope outer(trace::module, "outer");
        {
            trace::Scope conv(trace::op, "conv2d");
            trace::Scope add(trace::op, "add");
        }
        trace::Scope relu(trace::op, "relu");
    }
    trace::Scope other(trace::module, "other");
    trace::Scope mul(trace::op, "mul");
}

// "name@depth" of every recorded scope, in begin order.
std::vector<std::string> traced(trace::Config c) {
    trace::start(c);
    run_scopes();
    const trace::Session s = trace::stop();
    std::vector<std::string> r;
    for (const auto& e : s.events) r.push_back(e.name + "@" + std::to_string(e.depth));
    return r;
}

using Names = std::vector<std::string>;

struct Block : nn::Module {
    std::shared_ptr<nn::Conv2d> conv;
    std::shared_ptr<nn::BatchNorm2d> bn;
    Block() : Module("Block") {
        conv = register_module("conv", std::make_shared<nn::Conv2d>(2, 4, 3, nn::Conv2dArgs{.padding = 1}));
        bn = register_module("bn", std::make_shared<nn::BatchNorm2d>(4));
    }
    Tensor forward(const Tensor& x) override { return relu((*bn)((*conv)(x))); }
};
struct Net : nn::Module {
    std::shared_ptr<Block> block;
    std::shared_ptr<nn::Conv2d> head;
    Net() : Module("Net") {
        block = register_module("block", std::make_shared<Block>());
        head = register_module("head", std::make_shared<nn::Conv2d>(4, 1, 1));
    }
    Tensor forward(const Tensor& x) override { return (*head)((*block)(x)); }
};

// A traced forward and backward of Net.
trace::Session trace_training_step(trace::Config c) {
    Net net;
    Tensor x = randn({2, 2, 6, 6});
    trace::start(c);
    trace::marker("step 1");
    Tensor loss = mean(net(x));
    loss.backward();
    return trace::stop();
}

}  // namespace

TEST_CASE("trace: filters, notrace, graph roots, depth and threshold select scopes", "[trace]") {
    using trace::Tracer;
    CHECK(traced({}) == Names{"outer@0", "conv2d@1", "add@2", "relu@1", "other@0", "mul@1"});
    CHECK(traced({.filter = "conv*"}) == Names{"conv2d@0"});
    CHECK(traced({.filter = "*", .notrace = "conv*"}) == Names{"outer@0", "add@1", "relu@1", "other@0", "mul@1"});
    CHECK(traced({.filter = "conv*,add", .notrace = "add"}) == Names{"conv2d@0"});  // notrace wins
    CHECK(traced({.filter = "*,!o*"}) == Names{"conv2d@0", "add@1", "relu@0", "mul@0"});
    CHECK(traced({.graph_roots = "outer"}) == Names{"outer@0", "conv2d@1", "add@2", "relu@1"});
    CHECK(traced({.graph_roots = "conv*"}) == Names{"conv2d@0", "add@1"});            // depth counts from the root
    CHECK(traced({.tracer = Tracer::function, .graph_roots = "outer"}).size() == 6);  // roots: function_graph only
    CHECK(traced({.max_depth = 1}) == Names{"outer@0", "other@0"});
    CHECK(traced({.max_depth = 2}) == Names{"outer@0", "conv2d@1", "relu@1", "other@0", "mul@1"});
    CHECK(traced({.thresh_us = 1e9}).empty());  // nothing takes longer than 1000 s
    CHECK(traced({.categories = trace::module}) == Names{"outer@0", "other@0"});
    CHECK(traced({.tracer = Tracer::nop}).empty());
}

TEST_CASE("trace: nothing is recorded outside a session; a bad config names itself", "[trace]") {
    CHECK_FALSE(trace::is_running());
    run_scopes();
    trace::marker("not recorded");
    CHECK(trace::stop().events.empty());
    trace::start({});
    CHECK(trace::is_running());
    trace::Session s = trace::stop();
    CHECK(s.events.empty());
    CHECK(s.written == 0);
    CHECK_THROWS_WITH(trace::start({.filter = "conv*,,bn*"}), Catch::Contains("empty glob"));
    CHECK_THROWS_WITH(trace::start({.buffer_kb = 0}), Catch::Contains("buffer_kb"));
    CHECK_FALSE(trace::is_running());
}

TEST_CASE("trace: the rings overwrite the oldest records and count them", "[trace]") {
    trace::start({.buffer_kb = 1});  // 1 KiB: a few dozen records per thread
    for (int i = 0; i < 100; ++i) trace::Scope s(trace::op, trace::intern("s" + std::to_string(i)));
    std::thread worker([] {
        for (int i = 0; i < 30; ++i) trace::Scope s(trace::data, "load_batch");
    });
    worker.join();
    const trace::Session s = trace::stop();
    const uint64_t capacity = std::max<uint64_t>(16, 1024 / sizeof(trace::Record));
    CHECK(s.written == 130);
    CHECK(s.entries == 2 * capacity);
    CHECK(s.entries + s.lost == s.written);
    CHECK(s.events.size() == s.entries);
    uint64_t lost = 0;
    for (uint64_t l : s.thread_lost) lost += l;
    CHECK(lost == s.lost);
    CHECK(s.events.back().name == "load_batch");  // the worker's ring comes second
    CHECK(s.events[capacity - 1].name == "s99");  // the newest records are kept
    CHECK(s.events[0].name == "s" + std::to_string(100 - capacity));
    std::ostringstream graph, json;
    trace::write_graph(graph, s);
    trace::write_json(json, s);
    CHECK(graph.str().find(fmt::format("entries-in-buffer/entries-written: {}/130", s.entries)) != std::string::npos);
    CHECK(graph.str().find(fmt::format("[LOST {} EVENTS]", 100 - capacity)) != std::string::npos);
    const auto j = nlohmann::json::parse(json.str());
    CHECK(j["otherData"]["lost"] == s.lost);
    CHECK(j["otherData"]["written"] == 130);
    // Per thread: ftrace's per_cpu/cpuN/stats in otherData, read back by read_json.
    const auto& threads = j["otherData"]["threads"];
    REQUIRE(threads.size() == s.thread_names.size());
    uint64_t json_lost = 0, json_entries = 0;
    for (const auto& t : threads) {
        const uint32_t tid = t["tid"];
        CHECK(t["name"] == s.thread_names.at(tid));
        CHECK(t["lost"] == s.thread_lost.at(tid));
        CHECK(t["lost_before_ns"] == s.lost_before_ns.at(tid));
        json_lost += t["lost"].get<uint64_t>();
        json_entries += t["entries"].get<uint64_t>();
    }
    CHECK(json_lost == s.lost);
    CHECK(json_entries == s.entries);
    CHECK(threads[0]["lost"] == 100 - capacity);
    const trace::Session back = trace::read_json(json.str());
    CHECK(back.thread_lost == s.thread_lost);
    CHECK(back.lost_before_ns == s.lost_before_ns);
    CHECK(back.thread_names == s.thread_names);
    std::ostringstream graph_back;
    trace::write_graph(graph_back, back);
    CHECK(graph_back.str() == graph.str());  // [LOST N EVENTS] and } /* name */ lines included
}

TEST_CASE("trace: module scopes are named by their state-dict paths", "[trace]") {
    const trace::Session s = trace_training_step({.categories = trace::module});
    std::map<std::string, uint16_t> depth;
    for (const auto& e : s.events)
        if (e.category == trace::module) depth[e.name] = e.depth;
    CHECK(depth ==
          std::map<std::string, uint16_t>{{"Net", 0}, {"block", 1}, {"block.conv", 2}, {"block.bn", 2}, {"head", 1}});
    Net net;
    std::set<std::string> prefixes;
    for (const auto& [key, value] : net.state_dict()) prefixes.insert(key.substr(0, key.rfind('.')));
    CHECK(prefixes == std::set<std::string>{"block.conv", "block.bn", "head"});
    for (const auto& p : prefixes) CHECK(depth.count(p) == 1);
}

TEST_CASE("trace: backward scopes are linked to the forward ops that recorded them", "[trace]") {
    const trace::Session s = trace_training_step({});
    std::map<int64_t, std::string> forward;  // sequence number -> op
    for (const auto& e : s.events)
        if (e.category == trace::op && e.seq >= 0) forward[e.seq] = e.name;
    int linked = 0;
    std::set<std::string> backward_names;
    for (const auto& e : s.events) {
        if (e.category != trace::backward || e.name == "backward") continue;
        backward_names.insert(e.name);
        REQUIRE(e.seq >= 0);
        REQUIRE(forward.count(e.seq) == 1);
        CHECK(e.name == forward[e.seq] + "_backward");
        ++linked;
    }
    CHECK(linked >= 4);
    CHECK(backward_names.count("conv2d_backward") == 1);
    CHECK(backward_names.count("batch_norm_backward") == 1);
    CHECK(backward_names.count("mean_backward") == 1);
    // conv2d has FLOPs: 2 * N * C_out * H * W * C_in * 3 * 3 for block.conv
    bool conv_flops = false;
    for (const auto& e : s.events)
        if (e.name == "conv2d" && e.flops == 2 * 2 * 4 * 6 * 6 * 2 * 3 * 3) conv_flops = true;
    CHECK(conv_flops);
}

TEST_CASE("trace: the Chrome JSON parses, nests per thread and types every field", "[trace]") {
    const trace::Session s = trace_training_step({.memory = true});
    std::ostringstream out;
    trace::write_json(out, s);
    const auto j = nlohmann::json::parse(out.str());
    REQUIRE(j.is_object());
    CHECK(j["displayTimeUnit"] == "ns");
    for (const char* k : {"entries", "written", "lost"}) CHECK(j["otherData"][k].is_number_unsigned());
    CHECK(j["otherData"]["entries"] == s.entries);
    std::map<int64_t, std::vector<std::pair<double, double>>> slices;  // tid -> (ts, end)
    std::map<int64_t, int> flow_starts, flow_ends;
    std::set<int64_t> named_threads, used_threads;
    int counters = 0, instants = 0;
    for (const auto& e : j["traceEvents"]) {
        REQUIRE(e["ph"].is_string());
        REQUIRE(e["name"].is_string());
        REQUIRE(e["pid"].is_number_integer());
        REQUIRE(e["tid"].is_number_integer());
        const std::string ph = e["ph"];
        if (ph == "M") {
            if (e["name"] != "thread_name") continue;
            named_threads.insert(e["tid"].get<int64_t>());
            CHECK(e["args"]["name"].is_string());
            continue;
        }
        REQUIRE(e["ts"].is_number());
        CHECK(e["ts"].get<double>() >= 0);
        if (ph == "X") {
            REQUIRE(e["dur"].is_number());
            REQUIRE(e["cat"].is_string());
            REQUIRE(e["args"]["depth"].is_number_integer());
            if (e["args"].contains("flops")) CHECK(e["args"]["flops"].is_number_integer());
            CHECK(e["args"]["mem"].is_number_integer());
            const double ts = e["ts"], dur = e["dur"];
            CHECK(dur >= 0);
            slices[e["tid"]].push_back({ts, ts + dur});
            used_threads.insert(e["tid"].get<int64_t>());
        } else if (ph == "C") {
            ++counters;
            for (const auto& [k, v] : e["args"].items()) CHECK(v.is_number());
        } else if (ph == "i") {
            ++instants;
            CHECK(e["s"] == "t");
        } else if (ph == "s" || ph == "f") {
            REQUIRE(e["id"].is_number_integer());
            CHECK(e["id"].get<int64_t>() < (int64_t{1} << 53));
            (ph == "s" ? flow_starts : flow_ends)[e["id"]]++;
            if (ph == "f") CHECK(e["bp"] == "e");
        } else {
            FAIL("unexpected phase " << ph);
        }
    }
    CHECK(instants == 1);  // the marker
    CHECK(counters > 0);
    CHECK(!flow_starts.empty());
    CHECK(flow_starts == flow_ends);
    for (int64_t t : used_threads) CHECK(named_threads.count(t) == 1);
    for (auto& [tid, v] : slices) {  // in file order; each slice inside the open one or after it
        std::vector<std::pair<double, double>> open;
        for (const auto& [b, e] : v) {
            while (!open.empty() && b >= open.back().second) open.pop_back();
            if (!open.empty()) CHECK(e <= open.back().second);  // nested, never overlapping
            if (!open.empty()) CHECK(b >= open.back().first);
            open.push_back({b, e});
        }
    }
    // And it reads back into the same session.
    const trace::Session back = trace::read_json(out.str());
    REQUIRE(back.events.size() == s.events.size());
    for (size_t i = 0; i < s.events.size(); ++i) {
        CHECK(back.events[i].name == s.events[i].name);
        CHECK(back.events[i].t0_ns == s.events[i].t0_ns);
        CHECK(back.events[i].dur_ns == s.events[i].dur_ns);
        CHECK(back.events[i].seq == s.events[i].seq);
    }
    CHECK_THROWS_WITH(trace::read_json("{\"x\": 1}"), Catch::Contains("traceEvents"));
    CHECK_THROWS_WITH(trace::read_json("{bad"), Catch::Equals("not a JSON trace: invalid JSON at byte 2 of 4"));
    // times that would wrap the nanosecond totals, negative ones, thread ids that would size a table, wrong types
    const auto event = [](const std::string& fields) {
        return "{\"traceEvents\": [{\"ph\": \"X\", \"name\": \"conv2d\", " + fields + "}]}";
    };
    CHECK_THROWS_WITH(trace::read_json(event("\"ts\": 1e300, \"dur\": 1")),
                      Catch::StartsWith("trace event 1: \"ts\" is 1e+300, not a time in microseconds"));
    CHECK_THROWS_WITH(trace::read_json(event("\"ts\": 0, \"dur\": -5")), Catch::Contains("\"dur\" is -5"));
    CHECK_THROWS_WITH(trace::read_json(event("\"ts\": 0")), Catch::Contains("\"dur\" is null"));
    CHECK_THROWS_WITH(trace::read_json(event("\"ts\": 0, \"dur\": 1, \"tid\": 4000000000")),
                      Catch::Contains("tid 4000000000 is above 65536"));
    CHECK_THROWS_WITH(trace::read_json(event("\"ts\": 0, \"dur\": 1, \"cat\": \"gpu\"")),
                      Catch::Equals("trace event 1: unknown category 'gpu'"));
    CHECK_THROWS_WITH(trace::read_json(event("\"ts\": 0, \"dur\": 1, \"tid\": \"main\"")),
                      Catch::StartsWith("malformed trace: a field has the wrong type"));
    const trace::Session fine = trace::read_json(event("\"ts\": 2.5, \"dur\": 1e6, \"tid\": 3"));
    REQUIRE(fine.events.size() == 1);
    REQUIRE(fine.events[0].t0_ns == 2500);
    REQUIRE(fine.events[0].dur_ns == 1000000000);
}
