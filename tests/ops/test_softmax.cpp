// tests/ops/test_softmax.cpp — softmax and log_softmax (torch.softmax / log_softmax): hand-checked values,
// PyTorch golden values and gradients over every dim (tests/fixtures/make_linalg.py), gradcheck in float64, the
// oneDNN kernels against the reference on odd sizes and strided inputs (forward and backward), and the errors.
#include <cmath>

#include "ops/softmax.h"
#include "support/support.h"

namespace {

using SoftmaxFn = Tensor (*)(const Tensor&, int64_t);

// y = f(x) and dx for the output gradient gy, on the given kernels.
std::pair<Tensor, Tensor> forward_backward(Kernels k, SoftmaxFn f, const Tensor& x, int64_t dim, const Tensor& gy) {
    return with_kernels(k, [&] {
        Tensor xl = x.detach().requires_grad_();
        Tensor y = f(xl, dim);
        y.backward(gy);
        return std::make_pair(y, xl.grad());
    });
}

}  // namespace

TEST_CASE("softmax: known values", "[ops][softmax]") {
    Tensor x = t64({1, 2, 3});
    REQUIRE_THAT(softmax(x, 0), ClosesTo(t64({0.09003057317, 0.24472847105, 0.66524095578}), 1e-10));
    REQUIRE_THAT(log_softmax(x, -1), ClosesTo(t64({-2.40760596445, -1.40760596445, -0.40760596445}), 1e-10));
    // shift invariance keeps huge logits finite, in both dtypes (float64 runs the reference kernels, float32 the cpu)
    for (DType dt : {kFloat64, kFloat32}) {
        Tensor big = t64({1000, 1001, 1002}).to(dt);
        REQUIRE_THAT(softmax(big, 0), ClosesTo(t64({0.09003057317, 0.24472847105, 0.66524095578}), 1e-6));
        REQUIRE_THAT(log_softmax(big, 0), ClosesTo(t64({-2.40760596445, -1.40760596445, -0.40760596445}), 1e-5));
    }
    // rows along dim 1 of a [2, 3] sum to one; a 0-dim tensor is a row of one
    Tensor m = softmax(t32({0, 1, 2, -5, 0, 5}, {2, 3}), 1);
    REQUIRE_THAT(sum(m, {1}), ClosesTo(t32({1, 1}), 1e-6));
    REQUIRE_THAT(softmax(full({}, 3.0), 0), ClosesTo(full({}, 1.0), 1e-6));
    REQUIRE_THAT(log_softmax(full({}, 3.0), -1), ClosesTo(full({}, 0.0), 1e-5));
    // -inf takes no mass
    REQUIRE_THAT(softmax(t64({-INFINITY, 0, 0}), 0), ClosesTo(t64({0, 0.5, 0.5})));
}

TEST_CASE("softmax: PyTorch golden values and gradients over every dim", "[ops][softmax][fixture]") {
    for (int64_t dim = 0; dim < 3; ++dim)
        for (bool log : {false, true}) {
            const std::string name = std::string(log ? "log_softmax" : "softmax") + "_dim" + std::to_string(dim);
            INFO("fixture linalg/" << name);
            const TensorMap g = load_fixture("linalg/" + name);
            const SoftmaxFn f = log ? log_softmax : softmax;
            for (DType dt : {kFloat64, kFloat32}) {
                const double tol = dt == kFloat64 ? 1e-9 : 1e-5;
                for (int64_t d : {dim, dim - 3}) {  // the negative spelling of the same dim
                    auto [y, gx] = forward_backward(Kernels::fast, f, g.at("x").to(dt), d, g.at("gy").to(dt));
                    REQUIRE_THAT(y, ClosesTo(g.at("y"), tol, tol));
                    REQUIRE_THAT(gx, ClosesTo(g.at("gx"), tol, tol));
                }
            }
        }
}

TEST_CASE("softmax: gradcheck over each dim", "[ops][softmax][gradcheck]") {
    Tensor x = randn({2, 3, 4}, {.dtype = kFloat64}).requires_grad_();
    for (int64_t dim : {0, 1, 2, -1}) {
        INFO("dim " << dim);
        REQUIRE(gradcheck([dim](const std::vector<Tensor>& in) { return softmax(in[0], dim); }, {x}));
        REQUIRE(gradcheck([dim](const std::vector<Tensor>& in) { return log_softmax(in[0], dim); }, {x}));
    }
    // a strided input is made contiguous by the op; the gradient flows back through the transpose
    Tensor w = randn({4, 3}, {.dtype = kFloat64}).requires_grad_();
    REQUIRE(gradcheck([](const std::vector<Tensor>& in) { return softmax(in[0].t(), 1); }, {w}));
    REQUIRE(gradcheck([](const std::vector<Tensor>& in) { return log_softmax(in[0].t() * 3.0, 0); }, {w}));
}

TEST_CASE("softmax: cpu kernels equal reference on odd sizes and strided inputs", "[ops][softmax][backend]") {
    STATIC_REQUIRE(cpu_implements<&CpuBackend::softmax>);
    STATIC_REQUIRE(cpu_implements<&CpuBackend::softmax_backward>);
    const auto devices =
        fast_devices(cuda_implements<&CudaBackend::softmax> && cuda_implements<&CudaBackend::softmax_backward>);
    Generator gen(11);
    for (const Shape& shape : {Shape{7, 13, 5}, Shape{3, 129}, Shape{1, 1, 17}, Shape{37, 6}}) {
        Tensor x = randn(shape, {}, &gen) * 4.0;
        Tensor gy = randn(shape, {}, &gen);
        for (int64_t dim = 0; dim < static_cast<int64_t>(shape.size()); ++dim)
            for (SoftmaxFn f : {softmax, log_softmax}) {
                INFO("shape " << shape_str(shape) << " dim " << dim << (f == log_softmax ? " log" : ""));
                auto [y_ref, gx_ref] = forward_backward(Kernels::reference, f, x, dim, gy);
                for (Device d : devices) {
                    INFO("device " << d.str());
                    const Tensor xd = x.to(d), gyd = gy.to(d);
                    auto [y, gx] = forward_backward(Kernels::fast, f, xd, dim, gyd);
                    REQUIRE_THAT(y, ClosesTo(y_ref, 1e-5, 1e-5));
                    REQUIRE_THAT(gx, ClosesTo(gx_ref, 1e-5, 1e-5));
                    auto [y_nc, gx_nc] = forward_backward(Kernels::fast, f, noncontiguous(xd), dim, noncontiguous(gyd));
                    REQUIRE_THAT(y_nc, ClosesTo(y_ref, 1e-5, 1e-5));
                    REQUIRE_THAT(gx_nc, ClosesTo(gx_ref, 1e-5, 1e-5));
                }
            }
    }
}

TEST_CASE("softmax: errors name the op", "[ops][softmax][errors]") {
    using Catch::Matchers::Contains;
    REQUIRE_THROWS_WITH(softmax(randn({2, 3}), 2), Contains("softmax") && Contains("dim 2"));
    REQUIRE_THROWS_WITH(log_softmax(randn({2, 3}), -3), Contains("log_softmax") && Contains("dim -3"));
    REQUIRE_THROWS_WITH(softmax(zeros({2, 3}, {.dtype = kInt64}), 1), Contains("softmax") && Contains("int64"));
}
