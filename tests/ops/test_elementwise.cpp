// tests/ops/test_elementwise.cpp — elementwise and activation ops: known values, gradcheck in float64, and the cpu
// backend against the reference kernels on odd sizes and non-contiguous inputs.
#include <cmath>

#include "support/support.h"

namespace {
using Fn = std::function<Tensor(const Tensor&)>;
const std::vector<std::pair<std::string, Fn>>& unary_ops() {
    static const std::vector<std::pair<std::string, Fn>> ops = {
        {"neg", [](const Tensor& x) { return neg(x); }},
        {"exp", [](const Tensor& x) { return exp(x); }},
        {"log", [](const Tensor& x) { return log(abs(x) + 0.5); }},
        {"sqrt", [](const Tensor& x) { return sqrt(abs(x) + 0.5); }},
        {"rsqrt", [](const Tensor& x) { return rsqrt(abs(x) + 0.5); }},
        {"abs", [](const Tensor& x) { return abs(x); }},
        {"sin", [](const Tensor& x) { return sin(x); }},
        {"cos", [](const Tensor& x) { return cos(x); }},
        {"atan", [](const Tensor& x) { return atan(x); }},
        {"sign", [](const Tensor& x) { return sign(x); }},
        {"reciprocal", [](const Tensor& x) { return reciprocal(abs(x) + 0.5); }},
        {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.7); }},
        {"pow", [](const Tensor& x) { return pow(abs(x) + 0.5, 2.5); }},
        {"relu", [](const Tensor& x) { return relu(x); }},
        {"relu6", [](const Tensor& x) { return relu6(x * 4.0); }},
        {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }},
        {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
        {"tanh", [](const Tensor& x) { return tanh(x); }},
        {"silu", [](const Tensor& x) { return silu(x); }},
        {"hardswish", [](const Tensor& x) { return hardswish(x * 4.0); }},
        {"hardsigmoid", [](const Tensor& x) { return hardsigmoid(x * 4.0); }},
        {"softplus", [](const Tensor& x) { return softplus(x, 2.0, 3.0); }},
    };
    return ops;
}
}  // namespace

TEST_CASE("elementwise: known values", "[ops][elementwise]") {
    Tensor x = t64({-2, -0.5, 0, 0.5, 2});
    REQUIRE_THAT(relu(x), ClosesTo(t64({0, 0, 0, 0.5, 2})));
    REQUIRE_THAT(relu6(x * 4.0), ClosesTo(t64({0, 0, 0, 2, 6})));
    REQUIRE_THAT(leaky_relu(x, 0.1), ClosesTo(t64({-0.2, -0.05, 0, 0.5, 2})));
    REQUIRE_THAT(sign(x), ClosesTo(t64({-1, -1, 0, 1, 1})));
    REQUIRE_THAT(sigmoid(x), ClosesTo(t64({0.11920292, 0.37754067, 0.5, 0.62245933, 0.88079708}), 1e-7));
    REQUIRE_THAT(silu(x), ClosesTo(t64({-0.23840584, -0.18877033, 0, 0.31122967, 1.76159416}), 1e-7));
    REQUIRE_THAT(hardswish(x * 2.0), ClosesTo(t64({0, -0.33333333, 0, 0.66666667, 4}), 1e-7));
    REQUIRE_THAT(softplus(x), ClosesTo(t64({0.12692801, 0.47407698, 0.69314718, 0.97407698, 2.12692801}), 1e-7));
    REQUIRE_THAT(clamp(x, -1.0, 1.0), ClosesTo(t64({-1, -0.5, 0, 0.5, 1})));
    REQUIRE_THAT(maximum(x, t64({0})), ClosesTo(t64({0, 0, 0, 0.5, 2})));
    REQUIRE_THAT(where(gt(x, 0.0), x, t64({7})), ClosesTo(t64({7, 7, 7, 0.5, 2})));
    REQUIRE_THAT(prelu(t64({-1, 2, -3, 4}, {1, 2, 2}), t64({0.5, 0.25})),
                 ClosesTo(t64({-0.5, 2, -0.75, 4}, {1, 2, 2})));
    REQUIRE_THAT(pow(t64({2, 3}), t64({3, 2})), ClosesTo(t64({8, 9})));
}

TEST_CASE("elementwise: PyTorch golden values and gradients", "[ops][elementwise][golden]") {
    for (const auto& [name, f] : unary_ops()) {
        INFO(name);
        auto g = load_fixture("elementwise/unary_" + name);
        Tensor x = g.at("x").requires_grad_();
        Tensor y = f(x);
        REQUIRE_THAT(y, ClosesTo(g.at("y"), 1e-12, 1e-10));
        y.backward(g.at("gy"));
        // rtol 1e-7: PyTorch's hardsigmoid backward multiplies by a float 1/6 even in float64
        REQUIRE_THAT(x.grad(), ClosesTo(g.at("gx"), 1e-12, 1e-7));
        Tensor y32 = f(g.at("x").to(kFloat32));  // the cpu kernels in float32
        REQUIRE_THAT(y32, ClosesTo(g.at("y"), 1e-5, 1e-5));
    }
    const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&, const Tensor&)>>> binary = {
        {"add", [](const Tensor& a, const Tensor& b) { return add(a, b, 2.0); }},
        {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b, 0.5); }},
        {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }},
        {"div", [](const Tensor& a, const Tensor& b) { return a / b; }},
        {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }},
        {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
        {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
    };
    for (const auto& [name, f] : binary) {
        INFO(name);
        auto g = load_fixture("elementwise/binary_" + name);
        Tensor a = g.at("a").requires_grad_(), b = g.at("b").requires_grad_();
        Tensor y = f(a, b);
        REQUIRE_THAT(y, ClosesTo(g.at("y"), 1e-12, 1e-10));
        y.backward(g.at("gy"));
        REQUIRE_THAT(a.grad(), ClosesTo(g.at("ga"), 1e-12, 1e-10));
        REQUIRE_THAT(b.grad(), ClosesTo(g.at("gb"), 1e-12, 1e-10));
    }
    auto g = load_fixture("elementwise/prelu");
    Tensor x = g.at("x").requires_grad_(), w = g.at("w").requires_grad_();
    Tensor y = prelu(x, w);
    REQUIRE_THAT(y, ClosesTo(g.at("y")));
    y.backward(g.at("gy"));
    REQUIRE_THAT(x.grad(), ClosesTo(g.at("gx")));
    REQUIRE_THAT(w.grad(), ClosesTo(g.at("gw")));
}

TEST_CASE("elementwise: gradcheck of every unary op", "[ops][elementwise][gradcheck]") {
    Generator gen(7);
    // Values kept away from the kinks (0, +-3/4, 6/4) where finite differences straddle two branches.
    Tensor x = rand({3, 5}, {.dtype = kFloat64}, &gen) * 1.6 - 0.8;
    x = where(lt(abs(x), 0.05), x + 0.2, x).detach().requires_grad_();
    for (const auto& [name, f] : unary_ops()) {
        INFO(name);
        REQUIRE(gradcheck([&](const std::vector<Tensor>& in) { return f(in[0]); }, {x}));
    }
}

TEST_CASE("elementwise: gradcheck of binary ops with broadcasting", "[ops][elementwise][gradcheck]") {
    Tensor a = (rand({3, 1, 4}, {.dtype = kFloat64}) + 0.5).requires_grad_();
    Tensor b = (rand({2, 1}, {.dtype = kFloat64}) + 0.5).requires_grad_();
    auto check = [&](auto f) {
        return gradcheck([&](const std::vector<Tensor>& in) { return f(in[0], in[1]); }, {a, b});
    };
    REQUIRE(check([](const Tensor& p, const Tensor& q) { return add(p, q, 2.0); }));
    REQUIRE(check([](const Tensor& p, const Tensor& q) { return sub(p, q, 0.5); }));
    REQUIRE(check([](const Tensor& p, const Tensor& q) { return p * q; }));
    REQUIRE(check([](const Tensor& p, const Tensor& q) { return p / q; }));
    REQUIRE(check([](const Tensor& p, const Tensor& q) { return pow(p, q); }));
    REQUIRE(check([](const Tensor& p, const Tensor& q) { return maximum(p, q); }));
    REQUIRE(check([](const Tensor& p, const Tensor& q) { return minimum(p, q); }));
    REQUIRE(check([](const Tensor& p, const Tensor& q) { return where(gt(p, q), p * 2.0, q); }));
    Tensor w = t64({0.3, 0.1}).requires_grad_();
    Tensor x = randn({2, 2, 3}, {.dtype = kFloat64}).requires_grad_();
    REQUIRE(gradcheck([](const std::vector<Tensor>& in) { return prelu(in[0], in[1]); }, {x, w}));
}

TEST_CASE("elementwise: cpu backend equals reference on odd sizes and strided inputs", "[ops][elementwise][backend]") {
    STATIC_REQUIRE(cpu_implements<&CpuBackend::unary>);
    STATIC_REQUIRE(cpu_implements<&CpuBackend::binary>);
    const auto devices = fast_devices(cuda_implements<&CudaBackend::unary> && cuda_implements<&CudaBackend::binary>);
    Tensor x = randn({7, 13}) * 3.0;
    Tensor xs = noncontiguous(x);
    for (const auto& [name, f] : unary_ops()) {
        INFO(name);
        Tensor ref = with_kernels(Kernels::reference, [&] { return f(x); });
        for (Device d : devices) {
            INFO("device " << d.str());
            REQUIRE_THAT(f(x.to(d)), ClosesTo(ref, 1e-5, 1e-5));
            REQUIRE_THAT(f(to_device(xs, d)), ClosesTo(ref, 1e-5, 1e-5));
        }
    }
    Tensor y = randn({1, 13});
    Tensor ref = with_kernels(Kernels::reference, [&] { return x * y + x / (abs(y) + 1.0); });
    for (Device d : devices) {
        INFO("device " << d.str());
        const Tensor xsd = to_device(xs, d), yd = y.to(d);
        REQUIRE_THAT(xsd * yd + xsd / (abs(yd) + 1.0), ClosesTo(ref, 1e-5, 1e-5));
    }
}

TEST_CASE("elementwise: channels-last inputs give channels-last outputs with the same values (torch's rule)",
          "[ops][elementwise][backend]") {
    const auto cl = MemoryFormat::ChannelsLast;
    const auto devices = fast_devices(cuda_implements<&CudaBackend::unary> && cuda_implements<&CudaBackend::binary> &&
                                      cuda_implements<&CudaBackend::unary_backward>);
    Generator gen(4);
    // 9 * 33 * 35 * 2 elements: above the oneDNN eltwise threshold, so both the row loops and oneDNN run
    const Tensor x = randn({2, 9, 33, 35}, {}, &gen), bias = randn({1, 9, 1, 1}, {}, &gen);
    const Tensor gy = randn(x.shape(), {}, &gen);
    auto f = [&](const Tensor& a, const Tensor& b) { return sigmoid(relu(a) * 2.0 + b) + a; };
    const Tensor ref_x = x.detach().requires_grad_();
    const Tensor ref = with_kernels(Kernels::reference, [&] { return f(ref_x, bias); });
    with_kernels(Kernels::reference, [&] { ref.backward(gy); });
    for (Device d : devices) {
        INFO("device " << d.str());
        const Tensor xd = x.to(d).contiguous(cl).requires_grad_();
        const Tensor y = f(xd, bias.to(d));
        CHECK(y.suggest_memory_format() == cl);
        REQUIRE_THAT(y, ClosesTo(ref, 1e-5, 1e-5));
        y.backward(gy.to(d).contiguous(cl));
        CHECK(xd.grad().suggest_memory_format() == cl);
        REQUIRE_THAT(xd.grad(), ClosesTo(ref_x.grad(), 1e-5, 1e-5));
    }
    // a plain first operand decides the layout: plain + channels-last is plain
    CHECK((x + x.contiguous(cl)).is_contiguous());
    CHECK((x.contiguous(cl) + x).suggest_memory_format() == cl);
}

TEST_CASE("elementwise: the cpu backend's backward of every unary op equals the reference, dense and strided",
          "[ops][elementwise][backend]") {
    STATIC_REQUIRE(cpu_implements<&CpuBackend::unary_backward>);
    const auto devices = fast_devices(cuda_implements<&CudaBackend::unary_backward> &&
                                      cuda_implements<&CudaBackend::unary> && cuda_implements<&CudaBackend::binary>);
    const Tensor x = randn({7, 13}) * 3.0;  // small: the OpenMP loops, not oneDNN (the test below covers that path)
    const Tensor gy = randn({7, 13});
    for (const auto& [name, f] : unary_ops()) {
        INFO(name);
        const Tensor ref = with_kernels(Kernels::reference, [&] { return input_grad(f, x, gy); });
        for (Device d : devices) {
            INFO("device " << d.str());
            const Tensor xd = x.to(d), gyd = gy.to(d);
            REQUIRE_THAT(input_grad(f, xd, gyd), ClosesTo(ref, 1e-5, 1e-5));
            REQUIRE_THAT(input_grad(f, noncontiguous(xd), noncontiguous(gyd)), ClosesTo(ref, 1e-5, 1e-5));
        }
    }
}

// The two tests below check code paths of the cpu backend itself (its broadcast-row loops, its oneDNN calls above a
// size threshold), so they stay on the cpu.
TEST_CASE("elementwise: cpu fast paths for broadcast rows equal the reference", "[ops][elementwise][backend]") {
    STATIC_REQUIRE(cpu_implements<&CpuBackend::binary>);
    Tensor x = randn({2, 5, 3, 7});
    for (const Shape& s : std::vector<Shape>{{1, 5, 1, 1}, {5, 1, 1}, {1, 1, 3, 7}, {7}, {2, 1, 3, 1}, {1}}) {
        INFO(shape_str(s));
        Tensor b = randn(s);
        auto f = [&] { return add(x, b) * b - div(b, abs(x) + 1.0); };
        REQUIRE_THAT(f(), ClosesTo(with_kernels(Kernels::reference, f), 1e-5, 1e-5));
    }
    Tensor xt = x.transpose(1, 3);  // innermost stride is not 1: the reference path must serve it
    REQUIRE_THAT(relu(xt) + xt, ClosesTo(with_kernels(Kernels::reference, [&] { return relu(xt) + xt; })));
}

TEST_CASE("elementwise: oneDNN eltwise paths (large dense tensors) equal the reference, forward and backward",
          "[ops][elementwise][backend]") {
    STATIC_REQUIRE(cpu_implements<&CpuBackend::unary>);
    STATIC_REQUIRE(cpu_implements<&CpuBackend::unary_backward>);
    Tensor x = randn({64, 97}) * 3.0;  // 6208 elements: above the size where the cpu backend calls oneDNN
    const std::vector<std::pair<std::string, Fn>> ops = {
        {"exp", [](const Tensor& t) { return exp(t); }},
        {"log", [](const Tensor& t) { return log(abs(t) + 0.5); }},
        {"sigmoid", [](const Tensor& t) { return sigmoid(t); }},
        {"tanh", [](const Tensor& t) { return tanh(t); }},
        {"silu", [](const Tensor& t) { return silu(t); }},
        {"softplus", [](const Tensor& t) { return softplus(t); }},
    };
    Tensor gy = randn(x.shape());
    for (const auto& [name, f] : ops) {
        INFO(name);
        auto run = [&] {
            Tensor xi = x.detach().requires_grad_();
            Tensor y = f(xi);
            y.backward(gy);
            return std::pair{y.detach(), xi.grad()};
        };
        auto [y, gx] = run();
        auto [y_ref, gx_ref] = with_kernels(Kernels::reference, run);
        REQUIRE_THAT(y, ClosesTo(y_ref, 1e-5, 1e-5));
        REQUIRE_THAT(gx, ClosesTo(gx_ref, 1e-5, 1e-4));
    }
}
