// tests/core/test_trace_format.cpp — core/trace/format.cpp and core/trace/filter.cpp on hand-made sessions: ftrace's
// duration cell and marks at their exact boundaries, the function_graph layout (nesting, leaves, comments, lost
// entries), recorded input shapes as call arguments, the statistics table's self time (grouped by name, or by name
// and input shapes), and ftrace's glob semantics.
#include <sstream>

#include "core/trace/format.h"
#include "support/support.h"

namespace {

trace::Event ev(std::string name, int64_t t0, int64_t dur, uint16_t depth, uint32_t category = trace::op) {
    trace::Event e;
    e.name = std::move(name);
    e.t0_ns = t0, e.dur_ns = dur, e.depth = depth, e.category = category;
    return e;
}

trace::Session small_session() {
    trace::Session s;
    s.tracer = trace::Tracer::function_graph;
    s.thread_names = {"main"};
    s.lost_before_ns = {-1};
    s.thread_lost = {0};
    s.events = {ev("A", 0, 20000, 0), ev("B", 1000, 1382, 1), ev("hello", 3000, 0, 1, trace::markers),
                ev("C", 5000, 10001, 1)};
    s.entries = s.written = 4;
    return s;
}

}  // namespace

TEST_CASE("trace: function_graph duration cell and marks at their boundaries", "[trace]") {
    CHECK(trace::format_duration(1382) == "  1.382 us    ");
    CHECK(trace::format_duration(10000) == "  10.000 us   ");  // exactly 10 us: no mark (strict >)
    CHECK(trace::format_duration(10001) == "+ 10.001 us   ");
    CHECK(trace::format_duration(100000) == "+ 100.000 us  ");
    CHECK(trace::format_duration(100001) == "! 100.001 us  ");
    CHECK(trace::format_duration(1000000) == "! 1000.000 us ");
    CHECK(trace::format_duration(1000001) == "# 1000.001 us ");
    CHECK(trace::format_duration(1837709) == "# 1837.709 us ");
    CHECK(trace::format_duration(33998590) == "* 33998.59 us ");    // 5 digits: 2 decimals
    CHECK(trace::format_duration(119760200) == "@ 119760.2 us ");   // 6 digits: 1 decimal
    CHECK(trace::format_duration(3594274000) == "$ 3594274 us  ");  // 7 digits: none
    CHECK(trace::format_duration(0) == "  0.000 us    ");
    for (int64_t ns : {1382LL, 10001LL, 1000001LL, 33998590LL, 119760200LL, 3594274000LL})
        CHECK(trace::format_duration(ns).size() == 14);
    CHECK(trace::duration_mark(10000000) == '#');
    CHECK(trace::duration_mark(10000001) == '*');
    CHECK(trace::duration_mark(100000000) == '*');
    CHECK(trace::duration_mark(100000001) == '@');
    CHECK(trace::duration_mark(1000000000) == '@');
    CHECK(trace::duration_mark(1000000001) == '$');
}

TEST_CASE("trace: function_graph nests calls in ftrace's layout", "[trace]") {
    std::ostringstream out;
    trace::write_graph(out, small_session());
    const std::string expected =
        "# tracer: function_graph\n"
        "#\n"
        "# entries-in-buffer/entries-written: 4/4   #P:1   lost: 0\n"
        "#\n"
        "# CPU  DURATION                  FUNCTION CALLS\n"
        "# |     |   |                     |   |   |   |\n"
        " 0)               |  A() {\n"
        " 0)   1.382 us    |    B();\n"
        " 0)               |    /* hello */\n"
        " 0) + 10.001 us   |    C();\n"
        " 0) + 20.000 us   |  }\n";
    CHECK(out.str() == expected);
}

TEST_CASE("trace: a scope whose entry was lost closes as } /* name */", "[trace]") {
    trace::Session s = small_session();
    s.lost_before_ns = {2000};  // records that ended before 2 us were overwritten: A and B began before that
    s.thread_lost = {7};
    s.written = 11, s.lost = 7;
    std::ostringstream out;
    trace::write_graph(out, s);
    const std::string text = out.str();
    CHECK(text.find("entries-in-buffer/entries-written: 4/11   #P:1   lost: 7") != std::string::npos);
    CHECK(text.find(" 0) [LOST 7 EVENTS]\n") != std::string::npos);
    CHECK(text.find("A() {") == std::string::npos);
    CHECK(text.find(" 0)   1.382 us    |    } /* B */\n") != std::string::npos);
    CHECK(text.find(" 0) + 20.000 us   |  } /* A */\n") != std::string::npos);
}

TEST_CASE("trace: the function view has ftrace's header and callers", "[trace]") {
    std::ostringstream out;
    trace::write_function(out, small_session());
    const std::string text = out.str();
    CHECK(text.rfind("# tracer: function\n#\n# entries-in-buffer/entries-written: 4/4   #P:1", 0) == 0);
    CHECK(text.find("    0.000001: B <-A\n") != std::string::npos);
    CHECK(text.find("tracing_mark_write: hello") != std::string::npos);
    CHECK(text.find("    0.000000: A\n") != std::string::npos);
}

TEST_CASE("trace: the statistics table counts calls, total and self time", "[trace]") {
    trace::Session s = small_session();
    s.events.push_back(ev("B", 30000, 2000, 0));
    s.events.back().flops = 4000;  // 4000 FLOP in 2 us = 2 GFLOP/s
    std::ostringstream out;
    trace::write_stat(out, s);
    const std::string text = out.str();
    CHECK(text.find("entries-in-buffer/entries-written: 4/4   lost: 0") != std::string::npos);
    std::istringstream lines(text);
    std::string line;
    int rows = 0;
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        std::string name, category, calls;
        words >> name >> category >> calls;
        if (name == "A") {
            ++rows;
            CHECK(calls == "1");
            CHECK(line.find("8.617 us") != std::string::npos);  // self = 20000 - 1382 - 10001 ns
        }
        if (name == "B") {
            ++rows;
            CHECK(calls == "2");
            CHECK(line.find("3.382 us") != std::string::npos);  // total
            CHECK(line.find("2.000 us") != std::string::npos);  // max
        }
        CHECK(name != "hello");  // markers are not calls
    }
    CHECK(rows == 2);
}

TEST_CASE("trace: recorded input shapes print as the call's arguments", "[trace]") {
    trace::Session s = small_session();
    s.events[1].shapes = "f32[8,3,288,288],f32[16,3,3,3],f32[16]";  // B, a leaf
    s.events[0].shapes = "i64[]";                                   // A, with children
    std::ostringstream graph, function;
    trace::write_graph(graph, s);
    trace::write_function(function, s);
    const std::string expected =
        " 0)               |  A(i64[]) {\n"
        " 0)   1.382 us    |    B(f32[8,3,288,288], f32[16,3,3,3], f32[16]);\n"
        " 0)               |    /* hello */\n"
        " 0) + 10.001 us   |    C();\n"
        " 0) + 20.000 us   |  }\n";
    CHECK(graph.str().substr(graph.str().find(" 0)")) == expected);
    CHECK(function.str().find("    0.000001: B(f32[8,3,288,288], f32[16,3,3,3], f32[16]) <-A\n") != std::string::npos);
    // no shapes: no parentheses; callers by name only
    CHECK(function.str().find("    0.000005: C <-A\n") != std::string::npos);
}

TEST_CASE("trace: the statistics table groups by name, or by name and input shapes", "[trace]") {
    trace::Session s;
    s.tracer = trace::Tracer::function_graph;
    s.thread_names = {"main"};
    s.events = {ev("conv2d", 0, 3000, 0), ev("conv2d", 5000, 1000, 0), ev("conv2d", 7000, 2000, 0)};
    s.events[0].shapes = "f32[8,3,32,32],f32[16,3,3,3]";
    s.events[1].shapes = "f32[8,16,16,16],f32[16,16,3,3]";
    s.events[2].shapes = "f32[8,3,32,32],f32[16,3,3,3]";
    auto rows = [&](bool by_shape) {
        std::ostringstream out;
        trace::write_stat(out, s, {.group_by_shape = by_shape});
        std::vector<std::string> r;  // "calls total | shapes" per row, in table order
        std::istringstream lines(out.str());
        std::string line;
        while (std::getline(lines, line)) {
            std::istringstream words(line);
            std::string name, category, calls, total, unit;
            words >> name >> category >> calls >> total >> unit;
            if (name != "conv2d") continue;
            const size_t shapes = line.find("f32[");
            r.push_back(calls + " " + total + (shapes == std::string::npos ? "" : " | " + line.substr(shapes)));
        }
        return r;
    };
    CHECK(rows(false) == std::vector<std::string>{"3 6.000"});
    CHECK(rows(true) == std::vector<std::string>{"2 5.000 | f32[8,3,32,32], f32[16,3,3,3]",
                                                 "1 1.000 | f32[8,16,16,16], f32[16,16,3,3]"});
}

TEST_CASE("trace: ftrace glob semantics", "[trace]") {
    CHECK(trace::glob_match("conv*", "conv2d"));  // prefix
    CHECK_FALSE(trace::glob_match("conv*", "myconv"));
    CHECK(trace::glob_match("*_backward", "conv2d_backward"));  // suffix
    CHECK_FALSE(trace::glob_match("*_backward", "conv2d"));
    CHECK(trace::glob_match("*norm*", "batch_norm_backward"));  // middle
    CHECK(trace::glob_match("*norm*", "norm"));
    CHECK_FALSE(trace::glob_match("*norm*", "nor"));
    CHECK(trace::glob_match("stage1*conv_s1", "stage1.rebnconvin.conv_s1"));  // a*b
    CHECK(trace::glob_match("a*b", "ab"));
    CHECK_FALSE(trace::glob_match("a*b", "abc"));
    CHECK(trace::glob_match("relu", "relu"));  // exact
    CHECK_FALSE(trace::glob_match("relu", "relu6"));
    CHECK(trace::glob_match("*", "anything"));

    CHECK(trace::filter_match("conv*,bn*", "bn1"));
    CHECK_FALSE(trace::filter_match("conv*,bn*", "relu"));
    CHECK(trace::filter_match("conv*,!conv_transpose*", "conv2d"));
    CHECK_FALSE(trace::filter_match("conv*,!conv_transpose*", "conv_transpose2d"));  // '!' removes
    CHECK(trace::filter_match("!relu", "add"));                                      // only removals: everything else
    CHECK_FALSE(trace::filter_match("!relu", "relu"));
    CHECK_FALSE(trace::filter_match("", "relu"));
    CHECK(trace::filter_match(" conv* , bn* ", "bn1"));  // spaces around globs are ignored
}
