// tests/core/test_trace_shapes.cpp — op scopes' input shapes (Config::shapes, torch.profiler's record_shapes):
// the text real ops record (dtypes, undefined tensors left out, lists, 0-dim), that every op of a training step
// records them (and its backward rows the forward op's), that nothing is recorded with shapes off, that the JSON
// round-trips them, and that an OpScope does no heap work when tracing is off, and none either once a step's shapes
// were seen. This executable counts the calling thread's allocations by replacing the global operator new.
#include <atomic>
#include <cstdlib>
#include <new>
#include <sstream>

#include "core/trace/format.h"
#include "nn/conv.h"
#include "nn/normalization.h"
#include "support/support.h"

namespace {

thread_local bool t_counting = false;
std::atomic<int64_t> g_allocations{0};

// Allocations made by the calling thread while f runs.
template <class F>
int64_t allocations_in(F&& f) {
    g_allocations = 0;
    t_counting = true;
    f();
    t_counting = false;
    return g_allocations.load();
}

// shapes of the events named `name`, in order
std::vector<std::string> shapes_of(const trace::Session& s, const std::string& name) {
    std::vector<std::string> r;
    for (const auto& e : s.events)
        if (e.name == name) r.push_back(e.shapes);
    return r;
}

using Strings = std::vector<std::string>;

}  // namespace

void* operator new(std::size_t n) {
    if (t_counting) ++g_allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
// The nothrow form too (std::stable_sort's buffer): libstdc++'s would call the one above, but ASan's runtime replaces
// it with its own allocator, whose blocks the free() below must not receive (alloc-dealloc-mismatch).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    if (t_counting) ++g_allocations;
    return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

TEST_CASE("trace: ops record their inputs' dtypes and shapes", "[trace]") {
    Tensor x = randn({2, 2, 6, 6}), w = randn({4, 2, 3, 3}), b = randn({4});
    Tensor idx = arange(0, 2, 1, {.dtype = kInt64});
    trace::start({.shapes = true});
    conv2d(x, w, b, {.padding = 1});
    conv2d(x, w, Tensor(), {});  // no bias: left out
    index_select(randn({4, 3}), 0, idx);
    cat({randn({2, 3}), randn({1, 3})}, 0);
    add(randn({2, 3}), full({}, 2.0));
    mul(randn({2, 3}, {.dtype = kFloat64}), randn({2, 3}, {.dtype = kFloat64}));
    const trace::Session s = trace::stop();
    CHECK(shapes_of(s, "conv2d") == Strings{"f32[2,2,6,6],f32[4,2,3,3],f32[4]", "f32[2,2,6,6],f32[4,2,3,3]"});
    CHECK(shapes_of(s, "index_select") == Strings{"f32[4,3],i64[2]"});
    CHECK(shapes_of(s, "cat") == Strings{"f32[2,3],f32[1,3]"});
    CHECK(shapes_of(s, "add") == Strings{"f32[2,3],f32[]"});
    CHECK(shapes_of(s, "mul") == Strings{"f64[2,3],f64[2,3]"});
}

TEST_CASE("trace: every op of a training step records shapes, none with shapes off", "[trace]") {
    nn::Conv2d conv(2, 4, 3, nn::Conv2dArgs{.padding = 1});
    nn::BatchNorm2d bn(4);
    Tensor x = randn({2, 2, 6, 6}), target = rand({2, 4, 6, 6});
    auto step = [&] {
        Tensor loss = binary_cross_entropy_with_logits(relu(bn(conv(x))), target);
        loss.backward();
    };
    trace::start({.shapes = true});
    step();
    const trace::Session on = trace::stop();
    int ops = 0;
    for (const auto& e : on.events) {
        if (e.category != trace::op) continue;
        ++ops;
        INFO(e.name);
        CHECK(!e.shapes.empty());
    }
    CHECK(ops >= 4);
    CHECK(shapes_of(on, "batch_norm").at(0) == "f32[2,4,6,6],f32[4],f32[4],f32[4],f32[4]");
    CHECK(shapes_of(on, "binary_cross_entropy_with_logits").at(0) == "f32[2,4,6,6],f32[2,4,6,6]");
    // a backward row shows its forward op's input shapes, so `--group-by shape` splits backward time too
    CHECK(shapes_of(on, "conv2d_backward") == shapes_of(on, "conv2d"));
    CHECK(shapes_of(on, "batch_norm_backward").at(0) == "f32[2,4,6,6],f32[4],f32[4],f32[4],f32[4]");

    trace::start({});
    step();
    const trace::Session off = trace::stop();
    REQUIRE(!off.events.empty());
    for (const auto& e : off.events) CHECK(e.shapes.empty());
    CHECK(!shapes_of(off, "conv2d_backward").empty());
}

TEST_CASE("trace: shapes survive the JSON and show in the graph and the grouped table", "[trace]") {
    trace::start({.shapes = true});
    {
        trace::Scope outer(trace::module, "outer");
        mm(randn({2, 3}), randn({3, 4}));
    }
    mm(randn({5, 3}), randn({3, 4}));
    const trace::Session s = trace::stop();
    std::ostringstream json;
    trace::write_json(json, s);
    CHECK(json.str().find("\"shapes\":\"f32[2,3],f32[3,4]\"") != std::string::npos);
    const trace::Session back = trace::read_json(json.str());
    REQUIRE(back.events.size() == s.events.size());
    for (size_t i = 0; i < s.events.size(); ++i) CHECK(back.events[i].shapes == s.events[i].shapes);
    std::ostringstream graph, graph_back, stat;
    trace::write_graph(graph, s);
    trace::write_graph(graph_back, back);
    CHECK(graph.str() == graph_back.str());
    CHECK(graph.str().find("mm(f32[2,3], f32[3,4]);") != std::string::npos);
    CHECK(graph.str().find("mm(f32[5,3], f32[3,4]);") != std::string::npos);
    trace::write_stat(stat, back, {.group_by_shape = true});
    CHECK(stat.str().find("Input Shapes") != std::string::npos);
    CHECK(stat.str().find("f32[2,3], f32[3,4]") != std::string::npos);
    CHECK(stat.str().find("f32[5,3], f32[3,4]") != std::string::npos);
}

TEST_CASE("trace: an op scope does no heap work off, nor on once its shapes were seen", "[trace]") {
    Tensor a = randn({8, 3, 32, 32}), w = randn({16, 3, 3, 3}), bias;
    std::vector<Tensor> list{a, w};
    auto scopes = [&] {
        for (int i = 0; i < 200; ++i) {
            trace::OpScope s1("conv2d", a, w, bias);
            trace::OpScope s2(
                "mm", [&] { return int64_t{42}; }, a, w);
            trace::OpScope s3("cat", list);
        }
    };
    REQUIRE_FALSE(trace::is_running());
    CHECK(allocations_in(scopes) == 0);

    for (bool shapes : {false, true}) {
        INFO("shapes " << shapes);
        trace::start({.shapes = shapes});
        scopes();  // first use: the ring, the filter cache, the interned shapes
        CHECK(allocations_in(scopes) == 0);
        trace::tracing_on(false);  // a session whose recording is off: no work either
        CHECK(allocations_in(scopes) == 0);
        const trace::Session s = trace::stop();
        CHECK(s.written == 2 * 600);
        CHECK(shapes_of(s, "conv2d").back() == (shapes ? "f32[8,3,32,32],f32[16,3,3,3]" : ""));
        CHECK(shapes_of(s, "cat").back() == (shapes ? "f32[8,3,32,32],f32[16,3,3,3]" : ""));
        for (const auto& e : s.events)
            if (e.name == "mm") CHECK(e.flops == 42);
    }
}
