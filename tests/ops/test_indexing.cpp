// tests/ops/test_indexing.cpp — cat/stack/split/chunk, index_select, gather, scatter_add, masked_fill, masked_select,
// flip, advanced indexing (index, index_put): hand-checked values, PyTorch golden values for outputs and input
// gradients (tests/fixtures/make_index.py, among them YOLOv5's p[b, a, gj, gi] with repeated cells), gradcheck in
// float64, the default backend against the reference on non-contiguous float32 inputs, and the error messages.
#include "ops/indexing.h"
#include "support/support.h"

namespace {
Tensor i64(const std::vector<int64_t>& v, const Shape& shape = {}) {
    return from_vector(v, shape.empty() ? Shape{static_cast<int64_t>(v.size())} : shape);
}
Tensor bools(const std::vector<uint8_t>& v, const Shape& shape) { return from_vector(v, shape).to(kBool); }

// d<gy, f(inputs)>/d(inputs), each input a fresh leaf.
std::vector<Tensor> grads_of(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& in,
                             const Tensor& gy) {
    std::vector<Tensor> leaves;
    for (const Tensor& t : in) leaves.push_back(t.detach().requires_grad_());
    f(leaves).backward(gy);
    std::vector<Tensor> g;
    for (const Tensor& t : leaves) g.push_back(t.grad());
    return g;
}
using Ts = std::vector<Tensor>;
}  // namespace

TEST_CASE("cat/stack/split/chunk: known values", "[ops][indexing]") {
    // dtype promotion, and the 1-D empty tensor PyTorch skips whatever the other shapes
    Tensor c = cat({i64({1, 2}), t32({0.5f}), empty({0})});
    REQUIRE(c.dtype() == kFloat32);
    REQUIRE_THAT(c, ClosesTo(t64({1, 2, 0.5})));
    REQUIRE(cat({empty({0}), ones({2, 3})}, 1).shape() == Shape{2, 3});
    Tensor a32 = t32({1, 2}).requires_grad_();  // promoted to float64; the gradient comes back as float32
    (cat({a32, t64({3})}) * t64({2, 3, 4})).sum().backward();
    REQUIRE(a32.grad().dtype() == kFloat32);
    REQUIRE_THAT(a32.grad(), ClosesTo(t64({2, 3}), 0, 0));
    REQUIRE_THAT(cat({t64({1, 2, 3, 4}, {2, 2}), t64({5, 6}, {2, 1})}, -1), ClosesTo(t64({1, 2, 5, 3, 4, 6}, {2, 3})));
    REQUIRE_THAT(stack({t64({1, 2}), t64({3, 4})}, 1), ClosesTo(t64({1, 3, 2, 4}, {2, 2})));
    Tensor x = arange(6.0, {.dtype = kFloat64});
    auto parts = split(x, 4);
    REQUIRE(parts.size() == 2);
    REQUIRE_THAT(parts[1], ClosesTo(t64({4, 5})));
    REQUIRE(parts[0].storage() == x.storage());  // views, no copies
    REQUIRE(chunk(x, 4).size() == 3);            // ceil(6 / 4) = 2 per chunk, as torch.chunk
    REQUIRE(chunk(empty({2, 0}), 3, 1).size() == 3);
    REQUIRE_THAT(split(x, Shape{1, 5})[1], ClosesTo(t64({1, 2, 3, 4, 5})));
}

TEST_CASE("cat of channels-last tensors is channels-last (torch's rule); mixed layouts give a plain one",
          "[ops][indexing]") {
    const auto cl = MemoryFormat::ChannelsLast;
    Generator gen(6);
    const Tensor a = randn({2, 3, 4, 5}, {}, &gen), b = randn({2, 5, 4, 5}, {}, &gen);
    const Tensor ref = cat({a, b}, 1);
    const Tensor y = cat({a.contiguous(cl), b.contiguous(cl)}, 1);
    CHECK(y.suggest_memory_format() == cl);
    CHECK(y.is_contiguous(cl));
    REQUIRE_THAT(y, ClosesTo(ref));
    const Tensor mixed = cat({a, b.contiguous(cl)}, 1);
    CHECK(mixed.is_contiguous());
    REQUIRE_THAT(mixed, ClosesTo(ref));
}

TEST_CASE("cat/stack/split/chunk: PyTorch golden values and gradients", "[ops][indexing][golden]") {
    auto f = load_fixture("index/cat");
    auto cat1 = [](const Ts& in) { return cat(in, 1); };
    REQUIRE_THAT(cat1({f.at("a"), f.at("b"), f.at("c")}), ClosesTo(f.at("y"), 0, 0));
    auto g = grads_of(cat1, {f.at("a"), f.at("b"), f.at("c")}, f.at("gy"));
    REQUIRE_THAT(g[0], ClosesTo(f.at("ga"), 0, 0));
    REQUIRE_THAT(g[1], ClosesTo(f.at("gb"), 0, 0));
    REQUIRE_THAT(g[2], ClosesTo(f.at("gc"), 0, 0));

    auto s = load_fixture("index/stack");
    auto stack1 = [](const Ts& in) { return stack(in, 1); };
    REQUIRE_THAT(stack1({s.at("a"), s.at("b"), s.at("c")}), ClosesTo(s.at("y"), 0, 0));
    g = grads_of(stack1, {s.at("a"), s.at("b"), s.at("c")}, s.at("gy"));
    REQUIRE_THAT(g[1], ClosesTo(s.at("gb"), 0, 0));
    REQUIRE_THAT(g[2], ClosesTo(s.at("gc"), 0, 0));

    auto p = load_fixture("index/split");
    const Tensor& x = p.at("x");
    auto check = [&](const std::vector<Tensor>& parts, const std::string& key, size_t n) {
        REQUIRE(parts.size() == n);
        for (size_t i = 0; i < n; ++i) REQUIRE_THAT(parts[i], ClosesTo(p.at(key + "_" + std::to_string(i)), 0, 0));
    };
    check(split(x, 3, 1), "split3", 3);
    check(split(x, Shape{1, 3, 1}, 0), "split131", 3);
    check(chunk(x, 3, 0), "chunk3", 3);
}

TEST_CASE("index_select/gather/scatter_add: PyTorch golden values and gradients", "[ops][indexing][golden]") {
    auto f = load_fixture("index/index_select");
    for (int d : {0, 1}) {
        const std::string k = std::to_string(d);
        auto sel = [&](const Ts& in) { return index_select(in[0], d, f.at("i" + k)); };
        REQUIRE_THAT(sel({f.at("x")}), ClosesTo(f.at("y" + k), 0, 0));
        REQUIRE_THAT(grads_of(sel, {f.at("x")}, f.at("gy" + k))[0], ClosesTo(f.at("gx" + k), 1e-12));  // repeats add
    }
    auto g = load_fixture("index/gather");
    for (int d : {0, 1}) {
        const std::string k = std::to_string(d);
        auto gat = [&](const Ts& in) { return gather(in[0], d, g.at("i" + k)); };
        REQUIRE_THAT(gat({g.at("x")}), ClosesTo(g.at("y" + k), 0, 0));
        REQUIRE_THAT(grads_of(gat, {g.at("x")}, g.at("gy" + k))[0], ClosesTo(g.at("gx" + k), 1e-12));
    }
    auto s = load_fixture("index/scatter_add");  // src [2, 4] is larger than index [2, 3]
    auto sca = [&](const Ts& in) { return scatter_add(in[0], 1, s.at("idx"), in[1]); };
    REQUIRE_THAT(sca({s.at("x"), s.at("src")}), ClosesTo(s.at("y"), 1e-12));
    auto gs = grads_of(sca, {s.at("x"), s.at("src")}, s.at("gy"));
    REQUIRE_THAT(gs[0], ClosesTo(s.at("gx"), 0, 0));
    REQUIRE_THAT(gs[1], ClosesTo(s.at("gsrc"), 0, 0));
    // known values: duplicates accumulate
    REQUIRE_THAT(scatter_add(zeros({1, 3}, {.dtype = kFloat64}), 1, i64({2, 0, 2}, {1, 3}), t64({1, 2, 3}, {1, 3})),
                 ClosesTo(t64({2, 0, 4}, {1, 3})));
}

TEST_CASE("masked_fill/masked_select/flip: PyTorch golden values and gradients", "[ops][indexing][golden]") {
    auto m = load_fixture("index/masked_fill");
    auto mf = [&](const Ts& in) { return masked_fill(in[0], m.at("mask"), -2.5); };
    REQUIRE_THAT(mf({m.at("x")}), ClosesTo(m.at("y"), 0, 0));
    REQUIRE_THAT(grads_of(mf, {m.at("x")}, m.at("gy"))[0], ClosesTo(m.at("gx"), 0, 0));

    auto s = load_fixture("index/masked_select");
    auto ms = [&](const Ts& in) { return masked_select(in[0], s.at("mask")); };
    REQUIRE_THAT(ms({s.at("x")}), ClosesTo(s.at("y"), 0, 0));
    REQUIRE_THAT(grads_of(ms, {s.at("x")}, s.at("gy"))[0], ClosesTo(s.at("gx"), 0, 0));
    // a broadcast mask
    REQUIRE_THAT(masked_select(t64({1, 2, 3, 4}, {2, 2}), bools({0, 1}, {2})), ClosesTo(t64({2, 4})));

    auto fl = load_fixture("index/flip");
    auto fp = [](const Ts& in) { return flip(in[0], {0, -1}); };
    REQUIRE_THAT(fp({fl.at("x")}), ClosesTo(fl.at("y"), 0, 0));
    REQUIRE_THAT(grads_of(fp, {fl.at("x")}, fl.at("gy"))[0], ClosesTo(fl.at("gx"), 0, 0));
    REQUIRE_THAT(flip(t64({1, 2, 3, 4, 5, 6}, {2, 3}), {1}), ClosesTo(t64({3, 2, 1, 6, 5, 4}, {2, 3})));
}

TEST_CASE("index: YOLOv5 p[b, a, gj, gi] with repeated cells and negative indices", "[ops][indexing][golden]") {
    auto f = load_fixture("index/yolo");
    Tensor p = (arange(2.0 * 3 * 5 * 5 * 7, {.dtype = kFloat64}) / 10.0).view({2, 3, 5, 5, 7});  // as the script
    Ts idx = {f.at("b"), f.at("a"), f.at("gj"), f.at("gi")};
    auto ix = [&](const Ts& in) { return index(in[0], idx); };
    Tensor ps = ix({p});
    REQUIRE(ps.shape() == Shape{9, 7});
    REQUIRE_THAT(ps, ClosesTo(f.at("y"), 0, 0));
    // by hand: row 7 is p[0, -1, 2, 0] = p[0, 2, 2, 0]
    REQUIRE_THAT(ps.select(0, 7), ClosesTo(p.select(0, 0).select(0, 2).select(0, 2).select(0, 0), 0, 0));
    Tensor gp = grads_of(ix, {p}, f.at("gy"))[0];
    REQUIRE_THAT(gp, ClosesTo(f.at("gx"), 1e-6));
    // the cell (1, 0, 1, 2) is picked by rows 1, 2 and 4: its gradient is the sum of theirs
    Tensor gy = f.at("gy");
    REQUIRE_THAT(gp.select(0, 1).select(0, 0).select(0, 1).select(0, 2),
                 ClosesTo(gy.select(0, 1) + gy.select(0, 2) + gy.select(0, 4), 1e-12));

    auto b = load_fixture("index/index_broadcast");  // i0 [2, 1], i1 [3] -> [2, 3, 3]
    auto bx = [&](const Ts& in) { return index(in[0], {b.at("i0"), b.at("i1")}); };
    REQUIRE_THAT(bx({b.at("x")}), ClosesTo(b.at("y"), 0, 0));
    REQUIRE_THAT(grads_of(bx, {b.at("x")}, b.at("gy"))[0], ClosesTo(b.at("gx"), 1e-12));
}

TEST_CASE("index_put: PyTorch golden values and gradients, with and without accumulate", "[ops][indexing][golden]") {
    auto f = load_fixture("index/index_put");
    auto acc = [&](const Ts& in) { return index_put(in[0], {f.at("i0"), f.at("i1")}, in[1], true); };
    REQUIRE_THAT(acc({f.at("x"), f.at("v")}), ClosesTo(f.at("y"), 1e-12));
    auto g = grads_of(acc, {f.at("x"), f.at("v")}, f.at("gy"));
    REQUIRE_THAT(g[0], ClosesTo(f.at("gx"), 0, 0));
    REQUIRE_THAT(g[1], ClosesTo(f.at("gv"), 0, 0));
    auto set = [&](const Ts& in) { return index_put(in[0], {f.at("j0")}, in[1]); };  // values [4, 1] broadcast
    REQUIRE_THAT(set({f.at("x2"), f.at("v2")}), ClosesTo(f.at("y2"), 0, 0));
    g = grads_of(set, {f.at("x2"), f.at("v2")}, f.at("gy2"));
    REQUIRE_THAT(g[0], ClosesTo(f.at("gx2"), 0, 0));
    REQUIRE_THAT(g[1], ClosesTo(f.at("gv2"), 1e-12));
}

TEST_CASE("indexing: gradcheck in float64", "[ops][indexing][gradcheck]") {
    Generator gen(3);
    Tensor x = randn({4, 5, 3}, {.dtype = kFloat64}, &gen).requires_grad_();
    Tensor a = randn({2, 5, 3}, {.dtype = kFloat64}, &gen).requires_grad_();
    Tensor src = randn({3, 4, 3}, {.dtype = kFloat64}, &gen).requires_grad_();
    Tensor v = randn({3, 1}, {.dtype = kFloat64}, &gen).requires_grad_();
    Tensor idx = randint(0, 4, {3, 2, 3}, {.dtype = kInt64}, &gen);
    auto check = [](const Ts& in, auto f) { return gradcheck([&](const Ts& t) { return f(t); }, in); };
    REQUIRE(check({x, a}, [](const Ts& t) { return cat({t[0], t[1], t[0]}, 0); }));
    REQUIRE(check({x}, [](const Ts& t) { return stack({t[0], t[0] * 2.0}, 2); }));
    REQUIRE(check({x}, [](const Ts& t) { return split(t[0], 2, 1)[2] * 3.0; }));
    REQUIRE(check({x}, [](const Ts& t) { return index_select(t[0], 1, i64({4, 0, 4})); }));
    REQUIRE(check({x}, [&](const Ts& t) { return gather(t[0], 1, idx); }));
    REQUIRE(check({x, src}, [&](const Ts& t) { return scatter_add(t[0], 1, idx, t[1]); }));
    REQUIRE(check({x}, [](const Ts& t) { return masked_fill(t[0], gt(t[0], 0.3).detach(), 1.5); }));
    REQUIRE(check({x}, [](const Ts& t) { return masked_select(t[0], bools({1, 0, 1}, {3})); }));
    REQUIRE(check({x}, [](const Ts& t) { return flip(t[0], {0, 2}); }));
    REQUIRE(check({x}, [](const Ts& t) { return index(t[0], {i64({0, -1, 0}), i64({2, 2, 2})}); }));
    REQUIRE(check({x, v}, [](const Ts& t) { return index_put(t[0], {i64({3, 1, 3}), i64({0, -1, 0})}, t[1], true); }));
    REQUIRE(check({x, v}, [](const Ts& t) { return index_put(t[0], {i64({3, 1, 0})}, t[1].unsqueeze(-1)); }));
}

TEST_CASE("indexing: a non-contiguous input gives what its contiguous copy gives (kernels shared with the reference)",
          "[ops][indexing][backend]") {
    // The cpu backend inherits these kernels from the reference: there is no second implementation to compare.
    // When one is added, turn this into a parity test (cpu_implements says so at compile time).
    STATIC_REQUIRE_FALSE(cpu_implements<&CpuBackend::index_select>);
    STATIC_REQUIRE_FALSE(cpu_implements<&CpuBackend::gather>);
    STATIC_REQUIRE_FALSE(cpu_implements<&CpuBackend::scatter_add_>);
    STATIC_REQUIRE_FALSE(cpu_implements<&CpuBackend::flip>);
    STATIC_REQUIRE_FALSE(cpu_implements<&CpuBackend::index>);
    STATIC_REQUIRE_FALSE(cpu_implements<&CpuBackend::index_put_>);
    STATIC_REQUIRE_FALSE(cpu_implements<&CpuBackend::index_add_>);
    const Tensor xs = noncontiguous(randn({7, 13}) * 3.0), srcs = noncontiguous(randn({5, 13}));
    const Tensor idx = randint(0, 7, {5, 13});
    using Op = std::function<Tensor(const Tensor& x, const Tensor& src)>;
    // (clang-format would break some of these one-line lambdas over four lines)
    // clang-format off
    std::vector<std::pair<std::string, Op>> ops = {
        {"cat", [&](const Tensor& x, const Tensor&) { return cat({x, x.slice(0, 0, 7, 2)}, 0); }},
        {"index_select", [&](const Tensor& x, const Tensor&) { return index_select(x, 1, i64({12, 0, 5, 5})); }},
        {"gather", [&](const Tensor& x, const Tensor&) { return gather(x, 0, idx); }},
        {"scatter_add", [&](const Tensor& x, const Tensor& src) { return scatter_add(x, 0, idx, src); }},
        {"flip", [&](const Tensor& x, const Tensor&) { return flip(x, {0, 1}); }},
        {"index", [&](const Tensor& x, const Tensor&) { return index(x, {i64({-1, 3, 3}, {3, 1}), i64({0, 12})}); }},
        {"index_put", [&](const Tensor& x, const Tensor&) { return index_put(x, {i64({6, 0, 6})}, x.slice(0, 0, 3), true); }},
        {"masked_select", [&](const Tensor& x, const Tensor&) { return masked_select(x, gt(x, 0.0)); }},
    };
    // clang-format on
    REQUIRE_FALSE(xs.is_contiguous());
    for (const auto& [name, f] : ops) {
        INFO(name);
        REQUIRE_THAT(f(xs, srcs), ClosesTo(f(xs.contiguous(), srcs.contiguous()), 0, 0));
    }
}

TEST_CASE("indexing: errors name the op, the shapes and the index", "[ops][indexing][errors]") {
    using Catch::Contains;
    Tensor x = zeros({3, 4});
    REQUIRE_THROWS_AS(index_select(x, 1, i64({0, 4})), IndexError);
    REQUIRE_THROWS_WITH(index_select(x, 1, i64({0, 4})),
                        Contains("index_select") && Contains("index 4") && Contains("size 4"));
    REQUIRE_THROWS_WITH(gather(x, 0, i64({5}, {1, 1})),
                        Contains("gather") && Contains("index 5") && Contains("size 3"));
    REQUIRE_THROWS_WITH(gather(x, 0, i64({0}, {1})), Contains("gather") && Contains("[1]") && Contains("[3, 4]"));
    REQUIRE_THROWS_WITH(scatter_add(x, 1, i64({-1}, {1, 1}), ones({1, 1})),
                        Contains("scatter_add") && Contains("index -1"));
    REQUIRE_THROWS_AS(index(x, {i64({1, -4})}), IndexError);
    REQUIRE_THROWS_WITH(index(x, {i64({1, -4})}), Contains("index") && Contains("-4") && Contains("size 3"));
    REQUIRE_THROWS_WITH(index(x, {i64({0, 1}), i64({0, 1, 2})}),
                        Contains("index") && Contains("[2]") && Contains("[3]"));
    REQUIRE_THROWS_AS(index(x, {x}), TypeError);
    REQUIRE_THROWS_WITH(index(x, {i64({0}), i64({0}), i64({0})}),
                        Contains("index") && Contains("[3, 4]") && Contains("got 3"));
    REQUIRE_THROWS_WITH(index_put(x, {i64({0, 1})}, ones({3})),
                        Contains("index_put") && Contains("[3]") && Contains("[2, 4]"));
    REQUIRE_THROWS_WITH(cat({x, zeros({3, 5})}, 0), Contains("cat") && Contains("[3, 4]") && Contains("[3, 5]"));
    REQUIRE_THROWS_WITH(stack({x, zeros({4, 3})}), Contains("stack") && Contains("[4, 3]"));
    REQUIRE_THROWS_WITH(split(x, Shape{1, 1}, 1), Contains("split") && Contains("[1, 1]") && Contains("[3, 4]"));
    REQUIRE_THROWS_WITH(masked_fill(x, ones({2, 4}, {.dtype = kBool}), 1.0),
                        Contains("masked_fill") && Contains("[2, 4]"));
    REQUIRE_THROWS_WITH(flip(x, {1, -1}), Contains("flip") && Contains("more than once"));
}
