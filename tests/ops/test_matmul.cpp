// tests/ops/test_matmul.cpp — matmul (torch.matmul), mm, bmm and linear: hand-checked values, PyTorch golden values
// and gradients (tests/fixtures/make_linalg.py), gradcheck in float64, the oneDNN kernel against the reference on
// odd sizes, transposed, strided and broadcast operands (forward and backward), and the shape errors.
#include "ops/matmul.h"
#include "support/support.h"

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Runs f on the fixture's inputs in float64 (reference kernels) and float32 (cpu kernels), then checks y and the
// gradients of sum(y * gy) against PyTorch's.
void check_golden(const std::string& name, const std::vector<std::string>& keys, const Fn& f) {
    INFO("fixture linalg/" << name);
    const TensorMap g = load_fixture("linalg/" + name);
    for (DType dt : {kFloat64, kFloat32}) {
        INFO(dtype_name(dt));
        const double tol = dt == kFloat64 ? 1e-9 : 2e-5;
        std::vector<Tensor> in;
        for (const auto& k : keys) in.push_back(g.at(k).to(dt).detach().requires_grad_());
        Tensor y = f(in);
        REQUIRE_THAT(y, ClosesTo(g.at("y"), tol, tol));
        y.backward(g.at("gy").to(dt));
        for (size_t i = 0; i < keys.size(); ++i) {
            INFO("gradient of " << keys[i]);
            REQUIRE_THAT(in[i].grad(), ClosesTo(g.at("g" + keys[i]), tol, tol));
        }
    }
}

Tensor f64(const Shape& s) { return randn(s, {.dtype = kFloat64}).requires_grad_(); }

// The fast kernels (on the cpu, and on cuda where cuda_has_kernels) against the reference on the same float32
// operands: the output and both input gradients.
void check_backends(bool cuda_has_kernels, const Tensor& a, const Tensor& b,
                    const std::function<Tensor(const Tensor&, const Tensor&)>& f) {
    auto run = [&](Kernels k, Device d) {
        return with_kernels(k, [&] {
            Tensor a2 = to_device(a, d).detach().requires_grad_(), b2 = to_device(b, d).detach().requires_grad_();
            Tensor y = f(a2, b2);
            Generator gen(3);
            y.backward(randn(y.shape(), {}, &gen).to(d));
            return std::vector<Tensor>{y, a2.grad(), b2.grad()};
        });
    };
    const std::vector<Tensor> ref = run(Kernels::reference, kCPU);
    for (Device d : fast_devices(cuda_has_kernels)) {
        INFO("device " << d.str());
        const std::vector<Tensor> fast = run(Kernels::fast, d);
        REQUIRE_THAT(fast[0], ClosesTo(ref[0], 1e-5, 1e-5));
        REQUIRE_THAT(fast[1], ClosesTo(ref[1], 1e-5, 1e-5));
        REQUIRE_THAT(fast[2], ClosesTo(ref[2], 1e-5, 1e-5));
    }
}

Tensor mat(const Tensor& a, const Tensor& b) { return matmul(a, b); }

}  // namespace

TEST_CASE("matmul: known values and result shapes", "[ops][matmul]") {
    Tensor a = t64({1, 2, 3, 4}, {2, 2}), b = t64({5, 6, 7, 8}, {2, 2});
    REQUIRE_THAT(matmul(a, b), ClosesTo(t64({19, 22, 43, 50}, {2, 2})));
    REQUIRE_THAT(mm(a, b.t()), ClosesTo(t64({17, 23, 39, 53}, {2, 2})));
    REQUIRE_THAT(matmul(t64({1, 2, 3}), t64({4, 5, 6})), ClosesTo(full({}, 32.0, {.dtype = kFloat64})));
    REQUIRE_THAT(matmul(t32({1, 2}), t32({1, 2, 3, 4}, {2, 2})), ClosesTo(t32({7, 10})));
    REQUIRE_THAT(linear(t64({1, 2}), t64({1, 0, 1, 1, 0, 2}, {3, 2}), t64({0.5, 0, -1})), ClosesTo(t64({1.5, 3, 3})));
    REQUIRE(matmul(randn({2, 1, 3, 4}), randn({5, 4, 2})).shape() == Shape{2, 5, 3, 2});
    REQUIRE(matmul(randn({4}), randn({2, 4, 3})).shape() == Shape{2, 3});
    REQUIRE(matmul(randn({2, 3, 4}), randn({4})).shape() == Shape{2, 3});
    REQUIRE(matmul(randn({3, 0}), randn({0, 2})).shape() == Shape{3, 2});
    REQUIRE_THAT(matmul(randn({3, 0}), randn({0, 2})), ClosesTo(zeros({3, 2})));
    REQUIRE(linear(randn({2, 3, 4}), randn({5, 4})).shape() == Shape{2, 3, 5});
    // empty inner dim: a zero product whose gradients are empty too
    Tensor e = randn({2, 3, 0}).requires_grad_(), w = randn({0, 4}).requires_grad_();
    Tensor y = matmul(e, w);
    REQUIRE_THAT(y, ClosesTo(zeros({2, 3, 4})));
    y.backward(ones_like(y));
    REQUIRE(e.grad().shape() == Shape{2, 3, 0});
    REQUIRE(w.grad().shape() == Shape{0, 4});
}

TEST_CASE("matmul: PyTorch golden values and gradients", "[ops][matmul][fixture]") {
    for (const char* name : {"matmul_2d", "matmul_dot", "matmul_1d_2d", "matmul_2d_1d", "matmul_3d_1d", "matmul_1d_3d",
                             "matmul_3d_2d", "matmul_2d_3d", "matmul_bcast"})
        check_golden(name, {"a", "b"}, [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); });
    check_golden("bmm", {"a", "b"}, [](const std::vector<Tensor>& in) { return bmm(in[0], in[1]); });
    check_golden("linear", {"input", "weight", "bias"},
                 [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); });
    check_golden("linear_nobias", {"input", "weight"},
                 [](const std::vector<Tensor>& in) { return linear(in[0], in[1]); });
}

TEST_CASE("matmul: gradcheck of every operand layout", "[ops][matmul][gradcheck]") {
    auto check = [](const Shape& sa, const Shape& sb) {
        INFO(shape_str(sa) << " @ " << shape_str(sb));
        return gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {f64(sa), f64(sb)});
    };
    REQUIRE(check({3, 4}, {4, 2}));
    REQUIRE(check({4}, {4}));
    REQUIRE(check({4}, {4, 3}));
    REQUIRE(check({3, 4}, {4}));
    REQUIRE(check({2, 3, 4}, {4}));
    REQUIRE(check({4}, {2, 4, 3}));
    REQUIRE(check({2, 3, 4}, {4, 2}));  // batch folded into the rows
    REQUIRE(check({3, 4}, {2, 4, 2}));  // a broadcast over the batch
    REQUIRE(check({2, 1, 3, 4}, {5, 4, 2}));
    REQUIRE(check({1, 2, 3}, {2, 2, 3, 2}));
    // transposed operands reach the kernel as strides
    REQUIRE(gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0].t(), in[1].transpose(0, 1)); },
                      {f64({4, 3}), f64({2, 4})}));
    REQUIRE(gradcheck([](const std::vector<Tensor>& in) { return bmm(in[0].transpose(1, 2), in[1]); },
                      {f64({2, 4, 3}), f64({2, 4, 5})}));
    REQUIRE(gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0].transpose(1, 2), in[1]); },
                      {f64({2, 4, 3}), f64({4, 2})}));
    REQUIRE(gradcheck([](const std::vector<Tensor>& in) { return mm(in[0], in[1]); }, {f64({3, 5}), f64({5, 2})}));
    auto lin = [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); };
    REQUIRE(gradcheck(lin, {f64({2, 3, 4}), f64({5, 4}), f64({5})}));
    REQUIRE(gradcheck(lin, {f64({4}), f64({3, 4}), f64({3})}));
    REQUIRE(gradcheck(lin, {f64({3, 4}), f64({2, 4}), Tensor()}));
}

TEST_CASE("matmul: cpu kernel equals reference on odd, transposed, strided and broadcast operands",
          "[ops][matmul][backend]") {
    STATIC_REQUIRE(cpu_implements<&CpuBackend::matmul>);
    constexpr bool cuda = cuda_implements<&CudaBackend::matmul> && cuda_implements<&CudaBackend::binary>;
    // (the gradient of an operand broadcast along the batch is summed: a reduce)
    constexpr bool cuda_sum = cuda && cuda_implements<&CudaBackend::reduce>;
    check_backends(cuda, randn({7, 13}), randn({13, 5}), mat);
    check_backends(cuda, randn({13, 7}), randn({5, 13}),
                   [](const Tensor& a, const Tensor& b) { return matmul(a.t(), b.t()); });
    check_backends(cuda, noncontiguous(randn({7, 13})), noncontiguous(randn({13, 5})), mat);
    check_backends(cuda, randn({7, 26}), randn({13, 3}), [](const Tensor& a, const Tensor& b) {
        return matmul(a.slice(1, 0, 26, 2), b);  // a stepped slice: copied
    });
    check_backends(cuda_sum, randn({2, 1, 3, 4}), randn({5, 4, 2}), mat);
    check_backends(cuda, randn({3, 9, 11}), randn({11, 6}), mat);
    check_backends(cuda, randn({3, 11, 9}), randn({11, 6}), [](const Tensor& a, const Tensor& b) {  // rows do not fold
        return matmul(a.transpose(1, 2), b);
    });
    check_backends(cuda_sum, randn({9, 11}), randn({3, 11, 6}), mat);
    // a batch stride smaller than the matrix
    check_backends(cuda, randn({9, 3, 11}), randn({3, 11, 6}),
                   [](const Tensor& a, const Tensor& b) { return bmm(a.transpose(0, 1), b); });
    check_backends(cuda, randn({3, 6, 11}), randn({3, 9, 6}),
                   [](const Tensor& a, const Tensor& b) { return bmm(a.transpose(1, 2), b.transpose(1, 2)); });
    check_backends(cuda, randn({1, 17}), randn({17, 1}), mat);
    check_backends(cuda_sum, randn({17}), randn({4, 17, 3}), mat);
    check_backends(cuda, randn({65, 97}), randn({97, 83}), mat);  // large enough for oneDNN's blocked kernels
    Tensor x = randn({2, 5, 7}), w = randn({3, 7}), b = randn({3});
    Tensor ref = with_kernels(Kernels::reference, [&] { return linear(x, w, b); });
    for (Device d : fast_devices(cuda)) {
        INFO("device " << d.str());
        REQUIRE_THAT(linear(noncontiguous(x.to(d)), w.to(d), b.to(d)), ClosesTo(ref, 1e-5, 1e-5));
    }
}

TEST_CASE("matmul: shape errors name the op and both shapes", "[ops][matmul][errors]") {
    using Catch::Matchers::Contains;
    REQUIRE_THROWS_WITH(matmul(randn({2, 3}), randn({4, 5})), Contains("matmul") && Contains("[2, 3] and [4, 5]"));
    REQUIRE_THROWS_WITH(matmul(randn({3}), randn({4})), Contains("matmul") && Contains("[3] and [4]"));
    REQUIRE_THROWS_WITH(matmul(randn({2, 3, 4}), randn({3, 4, 5})),
                        Contains("matmul") && Contains("[2, 3, 4] and [3, 4, 5]"));
    REQUIRE_THROWS_WITH(matmul(randn({}), randn({3})), Contains("matmul"));
    REQUIRE_THROWS_WITH(mm(randn({2, 3}), randn({4, 5})), Contains("mm") && Contains("[2, 3] and [4, 5]"));
    REQUIRE_THROWS_WITH(mm(randn({2, 3, 1}), randn({1, 5})), Contains("mm") && Contains("[2, 3, 1]"));
    REQUIRE_THROWS_WITH(bmm(randn({2, 3, 4}), randn({3, 4, 5})),
                        Contains("bmm") && Contains("[2, 3, 4] and [3, 4, 5]"));
    REQUIRE_THROWS_WITH(linear(randn({2, 3}), randn({5, 4})),
                        Contains("linear") && Contains("[2, 3]") && Contains("[5, 4]"));
    REQUIRE_THROWS_WITH(linear(randn({2, 4}), randn({5, 4}), randn({4})), Contains("linear") && Contains("[4]"));
    REQUIRE_THROWS_WITH(matmul(randn({2, 3}), randn({3, 2}, {.dtype = kFloat64})),
                        Contains("matmul") && Contains("float64"));
}
