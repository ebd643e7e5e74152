// tests/ops/test_reduce.cpp — sum, mean, amax, amin, max/min(dim), argmax/argmin, var, std and norm: hand-checked
// values, PyTorch golden values and gradients incl. ties (tests/fixtures/make_linalg.py), gradcheck in float64, the
// cpu kernel against the reference on every layout it handles (and the ones it hands back), and the errors.
#include <cmath>

#include "support/support.h"

namespace {

using Fn = std::function<Tensor(const Tensor&)>;

// f on the fixture's x in float64 (reference) and float32 (cpu): y and the gradient of sum(y * gy) against PyTorch.
void check_golden(const std::string& name, const Fn& f) {
    INFO("fixture linalg/" << name);
    const TensorMap g = load_fixture("linalg/" + name);
    for (DType dt : {kFloat64, kFloat32}) {
        INFO(dtype_name(dt));
        const double tol = dt == kFloat64 ? 1e-9 : 2e-5;
        Tensor x = g.at("x").to(dt).detach().requires_grad_();
        Tensor y = f(x);
        REQUIRE_THAT(y, ClosesTo(g.at("y"), tol, tol));
        y.backward(g.at("gy").to(dt));
        REQUIRE_THAT(x.grad(), ClosesTo(g.at("gx"), tol, tol));
    }
}

// The reductions as (name, f): each is checked by gradcheck and on both backends.
const std::vector<std::pair<std::string, Fn>>& reductions() {
    static const std::vector<std::pair<std::string, Fn>> fs = {
        {"sum all", [](const Tensor& x) { return sum(x); }},
        {"sum (0, 2, 3)",
         [](const Tensor& x) {
             return sum(x, {0, 2, 3});
         }},
        {"sum -1 keepdim", [](const Tensor& x) { return sum(x, {-1}, true); }},
        {"sum (0, 2)",
         [](const Tensor& x) {
             return sum(x, {0, 2});
         }},
        {"mean (0, 1)",
         [](const Tensor& x) {
             return mean(x, {0, 1});
         }},
        {"mean 1 keepdim", [](const Tensor& x) { return mean(x, {1}, true); }},
        {"mean (-1, 1)",
         [](const Tensor& x) {
             return mean(x, {-1, 1});
         }},
        {"amax (1, 3)",
         [](const Tensor& x) {
             return amax(x, {1, 3});
         }},
        {"amax all", [](const Tensor& x) { return amax(x); }},
        {"amin -2 keepdim", [](const Tensor& x) { return amin(x, {-2}, true); }},
        {"amin 0", [](const Tensor& x) { return amin(x, {0}); }},
        {"max 2", [](const Tensor& x) { return max(x, 2).values; }},
        {"min -1 keepdim", [](const Tensor& x) { return min(x, -1, true).values; }},
        {"var (2, 3)",
         [](const Tensor& x) {
             return var(x, {2, 3});
         }},
        {"var 1 correction 0 keepdim", [](const Tensor& x) { return var(x, {1}, 0, true); }},
        {"std all", [](const Tensor& x) { return nabla::std(x); }},
        {"std 0", [](const Tensor& x) { return nabla::std(x, {0}); }},
        {"norm all", [](const Tensor& x) { return norm(x); }},
        {"norm p1 3", [](const Tensor& x) { return norm(x, 1.0, {3}); }},
        {"norm p3 1 keepdim", [](const Tensor& x) { return norm(x, 3.0, {1}, true); }},
    };
    return fs;
}

}  // namespace

TEST_CASE("reduce: known values", "[ops][reduce]") {
    Tensor x = t64({1, 5, 2, 4, 3, 0}, {2, 3});
    REQUIRE(sum(x).item<double>() == 15);
    REQUIRE_THAT(sum(x, {0}), ClosesTo(t64({5, 8, 2})));
    REQUIRE_THAT(mean(x, {-1}, true), ClosesTo(t64({8.0 / 3, 7.0 / 3}, {2, 1})));
    REQUIRE_THAT(amax(x, {1}), ClosesTo(t64({5, 4})));
    REQUIRE_THAT(amin(x, {0}), ClosesTo(t64({1, 3, 0})));
    ValuesIndices m = max(x, 1);
    REQUIRE_THAT(m.values, ClosesTo(t64({5, 4})));
    REQUIRE(m.indices.dtype() == kInt64);
    REQUIRE(m.indices.shape() == Shape{2});
    REQUIRE(m.indices.to(kFloat64).select(0, 0).item<double>() == 1);
    REQUIRE(argmin(x, 1).to(kFloat64).select(0, 1).item<double>() == 2);
    REQUIRE_THAT(var(t64({1, 2, 3, 4})), ClosesTo(full({}, 5.0 / 3, {.dtype = kFloat64})));
    REQUIRE_THAT(var(t64({1, 2, 3, 4}), {}, 0), ClosesTo(full({}, 1.25, {.dtype = kFloat64})));
    REQUIRE_THAT(nabla::std(t64({2, 4, 4, 4, 5, 5, 7, 9}), {}, 0), ClosesTo(full({}, 2.0, {.dtype = kFloat64})));
    REQUIRE_THAT(norm(t64({3, -4})), ClosesTo(full({}, 5.0, {.dtype = kFloat64})));
    REQUIRE_THAT(norm(t64({3, -4}), 1.0), ClosesTo(full({}, 7.0, {.dtype = kFloat64})));
    // integer sums give int64; NaN wins max/min on both kernels
    REQUIRE(sum(from_vector<int64_t>({1, 2, 3})).item<int64_t>() == 6);
    Tensor nan_row = t32({1, NAN, 3, 4, 5, 6}, {2, 3});
    for (Kernels k : {Kernels::fast, Kernels::reference}) {
        Tensor r = with_kernels(k, [&] { return amax(nan_row, {1}); });
        REQUIRE(std::isnan(r.select(0, 0).item<double>()));
        REQUIRE(r.select(0, 1).item<double>() == 6);
        Tensor c = with_kernels(k, [&] { return amin(nan_row, {0}); });  // the [R, I] layout
        REQUIRE(c.select(0, 0).item<double>() == 1);
        REQUIRE(std::isnan(c.select(0, 1).item<double>()));
    }
}

TEST_CASE("reduce: PyTorch golden values and gradients", "[ops][reduce][fixture]") {
    check_golden("sum_all", [](const Tensor& x) { return sum(x); });
    check_golden("sum_023", [](const Tensor& x) { return sum(x, {0, 2, 3}); });
    check_golden("sum_neg1_keepdim", [](const Tensor& x) { return sum(x, {-1}, true); });
    check_golden("mean_01", [](const Tensor& x) { return mean(x, {0, 1}); });
    check_golden("mean_1_keepdim", [](const Tensor& x) { return mean(x, {1}, true); });
    check_golden("amax_13", [](const Tensor& x) { return amax(x, {1, 3}); });
    check_golden("amin_neg2_keepdim", [](const Tensor& x) { return amin(x, {-2}, true); });
    check_golden("var_23", [](const Tensor& x) { return var(x, {2, 3}); });
    check_golden("var_1_unbiased_false_keepdim", [](const Tensor& x) { return var(x, {1}, 0, true); });
    check_golden("std_all", [](const Tensor& x) { return nabla::std(x); });
    check_golden("std_0", [](const Tensor& x) { return nabla::std(x, {0}); });
    check_golden("norm_all", [](const Tensor& x) { return norm(x); });
    check_golden("norm_p1_dim3", [](const Tensor& x) { return norm(x, 1.0, {3}); });
    check_golden("norm_p3_dim1_keepdim", [](const Tensor& x) { return norm(x, 3.0, {1}, true); });
    check_golden("max_dim2", [](const Tensor& x) { return max(x, 2).values; });
    check_golden("min_neg1_keepdim", [](const Tensor& x) { return min(x, -1, true).values; });
    // ties: amax/amin/max() share the gradient evenly, max/min(dim) give it to the first index, as PyTorch
    check_golden("amax_ties_dim1", [](const Tensor& x) { return amax(x, {1}); });
    check_golden("amin_ties_all", [](const Tensor& x) { return amin(x); });
    check_golden("max_ties_all", [](const Tensor& x) { return max(x); });
    check_golden("max_ties_dim1", [](const Tensor& x) { return max(x, 1).values; });
    check_golden("min_ties_dim0", [](const Tensor& x) { return min(x, 0).values; });
    for (const char* name : {"max_dim2", "min_neg1_keepdim", "max_ties_dim1", "min_ties_dim0"}) {
        INFO(name);
        const TensorMap g = load_fixture(std::string("linalg/") + name);
        const std::string n(name);
        const Tensor x = g.at("x");
        const Tensor idx = n == "max_dim2"           ? max(x, 2).indices
                           : n == "min_neg1_keepdim" ? min(x, -1, true).indices
                           : n == "max_ties_dim1"    ? max(x, 1).indices
                                                     : min(x, 0).indices;
        REQUIRE_THAT(idx, ClosesTo(g.at("indices"), 0, 0));
    }
    const TensorMap ties = load_fixture("linalg/max_ties_dim1");
    REQUIRE_THAT(argmax(ties.at("x"), 1), ClosesTo(ties.at("argmax"), 0, 0));
    const TensorMap ties0 = load_fixture("linalg/min_ties_dim0");
    REQUIRE_THAT(argmin(ties0.at("x"), 0), ClosesTo(ties0.at("argmin"), 0, 0));
}

TEST_CASE("reduce: gradcheck of every reduction", "[ops][reduce][gradcheck]") {
    Tensor x = randn({2, 3, 4, 3}, {.dtype = kFloat64}).requires_grad_();  // continuous values: no ties
    for (const auto& [name, f] : reductions()) {
        INFO(name);
        REQUIRE(gradcheck([&f = f](const std::vector<Tensor>& in) { return f(in[0]); }, {x}));
    }
    // two-way ties: the central difference sees slope 1/2 on each side, the share amax gives each
    Tensor t = t64({1, 3, 3, 2, 0, 5}, {2, 3}).requires_grad_();
    REQUIRE(gradcheck([](const std::vector<Tensor>& in) { return amax(in[0], {1}); }, {t}));
}

TEST_CASE("reduce: cpu kernel equals reference on every layout, odd sizes and strided inputs",
          "[ops][reduce][backend]") {
    STATIC_REQUIRE(cpu_implements<&CpuBackend::reduce>);
    const auto devices = fast_devices(cuda_implements<&CudaBackend::reduce>);
    Generator gen(5);
    struct Case {
        Shape shape;
        Shape dims;
    };
    const std::vector<Case> cases = {
        {{200003}, {0}},              // all: one long run split into tasks
        {{7, 13, 5}, {}},             // all dims
        {{7, 13, 5}, {1, 2}},         // trailing
        {{7, 13, 5}, {0}},            // leading
        {{9, 3, 33, 35}, {0, 2, 3}},  // NCHW BatchNorm statistics
        {{2, 5, 7, 3}, {1}},          // a middle dim
        {{6001, 3}, {0}},             // few outputs, many rows: rows split across tasks
        {{3, 2000, 1, 7}, {1, 2}},    // size-1 dims dropped
        {{5, 1, 3}, {1}},             // nothing left to reduce
        {{4, 5, 6, 7}, {0, 2}},       // R K R K: handed to the reference
        {{2, 3, 4, 5}, {1, 3}},       // K R K R: handed to the reference
    };
    for (const Case& c : cases) {
        Tensor x = randn(c.shape, {}, &gen);
        for (bool keepdim : {false, true}) {
            for (int which = 0; which < 4; ++which) {
                INFO("shape " << shape_str(c.shape) << " dims " << shape_str(c.dims) << " keepdim " << keepdim << " op "
                              << which);
                auto f = [&](const Tensor& t) {
                    switch (which) {
                        case 0: return sum(t, c.dims, keepdim);
                        case 1: return mean(t, c.dims, keepdim);
                        case 2: return amax(t, c.dims, keepdim);
                        default: return amin(t, c.dims, keepdim);
                    }
                };
                Tensor ref = with_kernels(Kernels::reference, [&] { return f(x); });
                for (Device d : devices) {
                    INFO("device " << d.str());
                    const Tensor xd = x.to(d);
                    REQUIRE_THAT(f(xd), ClosesTo(ref, 1e-5, 1e-5));
                    if (c.shape.size() >= 2) REQUIRE_THAT(f(noncontiguous(xd)), ClosesTo(ref, 1e-5, 1e-5));
                }
            }
        }
    }
    // forward and backward of every reduction on both kernels
    Tensor x = randn({5, 3, 7, 6}, {}, &gen);
    for (const auto& [name, f] : reductions()) {
        INFO(name);
        auto run = [&, &f = f](Kernels k, Device d) {
            return with_kernels(k, [&] {
                Tensor xl = noncontiguous(x.to(d)).requires_grad_();
                Tensor y = f(xl);
                y.backward(ones_like(y));
                return std::make_pair(y, xl.grad());
            });
        };
        auto [y_ref, gx_ref] = run(Kernels::reference, kCPU);
        for (Device d : devices) {
            INFO("device " << d.str());
            auto [y, gx] = run(Kernels::fast, d);
            REQUIRE_THAT(y, ClosesTo(y_ref, 1e-5, 1e-5));
            REQUIRE_THAT(gx, ClosesTo(gx_ref, 1e-5, 1e-5));
        }
    }
}

TEST_CASE("reduce: errors name the op", "[ops][reduce][errors]") {
    using Catch::Matchers::Contains;
    Tensor x = randn({2, 3, 4});
    REQUIRE_THROWS_WITH(sum(x, {3}), Contains("sum") && Contains("dim 3"));
    REQUIRE_THROWS_WITH(mean(x, {-4}), Contains("mean") && Contains("dim -4"));
    REQUIRE_THROWS_WITH(amax(x, {0, -3}), Contains("amax") && Contains("more than once"));
    REQUIRE_THROWS_WITH(amin(x, {5}), Contains("amin"));
    REQUIRE_THROWS_WITH(max(x, 3), Contains("max") && Contains("dim 3"));
    REQUIRE_THROWS_WITH(argmin(x, -5), Contains("min") && Contains("dim -5"));
    REQUIRE_THROWS_WITH(var(x, {7}), Contains("var") && Contains("dim 7"));
    REQUIRE_THROWS_WITH(mean(zeros({2}, {.dtype = kInt64})), Contains("mean") && Contains("int64"));
}

TEST_CASE("reduce: norm and std have a zero gradient where the reduced value is zero, as PyTorch", "[ops][reduce]") {
    Tensor z = zeros({2, 3}, {.dtype = kFloat64}).requires_grad_();
    norm(z).backward();
    REQUIRE_THAT(z.grad(), ClosesTo(zeros({2, 3}, {.dtype = kFloat64})));
    Tensor c = full({4}, 3.0, {.dtype = kFloat64}).requires_grad_();
    nabla::std(c).backward();
    REQUIRE_THAT(c.grad(), ClosesTo(zeros({4}, {.dtype = kFloat64})));
    Tensor x = randn({3, 4}, {.dtype = kFloat64}).requires_grad_();
    for (double p : {1.0, 2.0, 3.0})
        REQUIRE(gradcheck([p](const std::vector<Tensor>& in) { return norm(in[0], p, {1}); }, {x}));
    REQUIRE(gradcheck([](const std::vector<Tensor>& in) { return nabla::std(in[0], {0}); }, {x}));
}
