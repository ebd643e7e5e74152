// tests/ops/test_unfold.cpp — F.unfold (im2col) and F.fold (col2im): hand-checked values of the layout in
// docs/ops_semantics.md §3, PyTorch golden values for output and input gradient (tests/fixtures/make_interp.py), the
// adjoint identity <unfold x, c> = <x, fold c>, gradcheck in float64, the cpu kernels against the reference, errors.
#include "ops/unfold.h"
#include "support/support.h"

namespace {
// The unfold cases of tests/fixtures/make_interp.py, with the same options (fold_<suffix> uses the same options).
const std::vector<std::pair<std::string, UnfoldOptions>>& golden_cases() {
    static const std::vector<std::pair<std::string, UnfoldOptions>> cases = {
        {"k3_p1", {.kernel_size = 3, .padding = 1}},
        {"k2x3_s2x1_p1x0_d1x2", {.kernel_size = {2, 3}, .dilation = {1, 2}, .padding = {1, 0}, .stride = {2, 1}}},
        {"k3_s2_p2_d2", {.kernel_size = 3, .dilation = 2, .padding = 2, .stride = 2}},
    };
    return cases;
}

}  // namespace

TEST_CASE("unfold: known values of the column layout", "[ops][unfold]") {
    for (DType dt : {kFloat64, kFloat32}) {
        INFO(dtype_name(dt));
        // x = [[0, 1, 2], [3, 4, 5], [6, 7, 8]], k = 2: rows are taps (a, b), columns the 4 blocks in row-major order
        Tensor x = arange(9.0, {.dtype = dt}).view({1, 1, 3, 3});
        REQUIRE_THAT(unfold(x, {.kernel_size = 2}),
                     ClosesTo(t64({0, 1, 3, 4, 1, 2, 4, 5, 3, 4, 6, 7, 4, 5, 7, 8}, {1, 4, 4})));
        // padding 1, stride 2, k = 2: blocks start at -1 and 1; outside pixels are 0
        REQUIRE_THAT(unfold(x, {.kernel_size = 2, .padding = 1, .stride = 2}),
                     ClosesTo(t64({0, 0, 0, 4, 0, 0, 3, 5, 0, 1, 0, 7, 0, 2, 6, 8}, {1, 4, 4})));
        // fold sums overlaps: folding unfold(ones) counts how many blocks cover each pixel
        Tensor cover = fold(unfold(ones({1, 1, 3, 3}, {.dtype = dt}), {.kernel_size = 2}), {3, 3}, {.kernel_size = 2});
        REQUIRE_THAT(cover, ClosesTo(t64({1, 2, 1, 2, 4, 2, 1, 2, 1}, {1, 1, 3, 3})));
        // two channels: channel c owns rows c*k*k .. c*k*k + k*k - 1
        Tensor x2 = arange(8.0, {.dtype = dt}).view({1, 2, 2, 2});
        REQUIRE_THAT(unfold(x2, {.kernel_size = {1, 2}}), ClosesTo(t64({0, 2, 1, 3, 4, 6, 5, 7}, {1, 4, 2})));
    }
}

TEST_CASE("unfold/fold: PyTorch golden values, output and input gradient", "[ops][unfold][golden]") {
    for (const auto& [name, o] : golden_cases()) {
        INFO(name);
        auto u = load_fixture("interp/unfold_" + name);
        auto f_unfold = [o = o](const Tensor& t) { return unfold(t, o); };
        REQUIRE_THAT(unfold(u.at("x"), o), ClosesTo(u.at("y"), 1e-12));
        REQUIRE_THAT(input_grad(f_unfold, u.at("x"), u.at("gy")), ClosesTo(u.at("gx"), 1e-12));
        REQUIRE_THAT(unfold(u.at("x").to(kFloat32), o), ClosesTo(u.at("y"), 1e-6));
        REQUIRE_THAT(input_grad(f_unfold, u.at("x").to(kFloat32), u.at("gy").to(kFloat32)), ClosesTo(u.at("gx"), 1e-5));

        auto f = load_fixture("interp/fold_" + name);
        const Int2 hw{u.at("x").size(2), u.at("x").size(3)};
        auto f_fold = [o = o, hw](const Tensor& t) { return fold(t, hw, o); };
        REQUIRE_THAT(fold(f.at("x"), hw, o), ClosesTo(f.at("y"), 1e-12));
        REQUIRE_THAT(input_grad(f_fold, f.at("x"), f.at("gy")), ClosesTo(f.at("gx"), 1e-12));
        REQUIRE_THAT(fold(f.at("x").to(kFloat32), hw, o), ClosesTo(f.at("y"), 1e-5));
        REQUIRE_THAT(input_grad(f_fold, f.at("x").to(kFloat32), f.at("gy").to(kFloat32)), ClosesTo(f.at("gx"), 1e-6));
    }
}

TEST_CASE("unfold/fold: adjoint identity and gradcheck in float64", "[ops][unfold][gradcheck]") {
    const std::vector<UnfoldOptions> cases = {
        {.kernel_size = 3, .padding = 1},
        {.kernel_size = {2, 3}, .dilation = {1, 2}, .padding = {1, 0}, .stride = {2, 1}},
        {.kernel_size = 3, .dilation = 2, .padding = 2, .stride = 2},
        {.kernel_size = {1, 2}, .stride = {1, 3}},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        INFO("case " << i);
        const UnfoldOptions& o = cases[i];
        Tensor x = randn({2, 2, 5, 6}, {.dtype = kFloat64, .requires_grad = true});
        Tensor c = randn(unfold(x, o).shape(), {.dtype = kFloat64, .requires_grad = true});
        // <unfold x, c> = <x, fold c>
        REQUIRE((unfold(x, o) * c).sum().item<double>() == Approx((x * fold(c, {5, 6}, o)).sum().item<double>()));
        REQUIRE(gradcheck([&](const std::vector<Tensor>& in) { return unfold(in[0], o); }, {x}));
        REQUIRE(gradcheck([&](const std::vector<Tensor>& in) { return fold(in[0], {5, 6}, o); }, {c}));
    }
}

TEST_CASE("unfold/fold: cpu kernels equal the reference on odd sizes and strided inputs", "[ops][unfold][backend]") {
    STATIC_REQUIRE(cpu_implements<&CpuBackend::im2col>);
    STATIC_REQUIRE(cpu_implements<&CpuBackend::col2im>);
    const auto devices = fast_devices(cuda_implements<&CudaBackend::im2col> && cuda_implements<&CudaBackend::col2im>);
    const std::vector<UnfoldOptions> cases = {
        {.kernel_size = 3, .padding = 1},  // PANet's k = 3 patches
        {.kernel_size = {2, 3}, .dilation = {1, 2}, .padding = {1, 0}, .stride = {2, 1}},
        {.kernel_size = 3, .dilation = 2, .padding = 2, .stride = 3},
        {.kernel_size = {5, 1}, .padding = {0, 4}, .stride = {1, 2}},
    };
    Tensor x = randn({2, 3, 13, 11});
    Tensor xs = noncontiguous(x);
    for (size_t i = 0; i < cases.size(); ++i) {
        INFO("case " << i);
        const UnfoldOptions& o = cases[i];
        auto f_unfold = [&](const Tensor& t) { return unfold(t, o); };
        auto f_fold = [&](const Tensor& t) { return fold(t, {13, 11}, o); };
        Tensor ref = with_kernels(Kernels::reference, [&] { return unfold(x, o); });
        Tensor cols = noncontiguous(randn(ref.shape()));
        Tensor fref = with_kernels(Kernels::reference, [&] { return fold(cols, {13, 11}, o); });
        Tensor gref = with_kernels(Kernels::reference, [&] { return input_grad(f_unfold, x, cols); });
        Tensor gy = noncontiguous(randn(x.shape()));
        Tensor gfref = with_kernels(Kernels::reference, [&] { return input_grad(f_fold, cols, gy); });
        for (Device d : devices) {
            INFO("device " << d.str());
            const Tensor xsd = to_device(xs, d), colsd = to_device(cols, d);
            REQUIRE_THAT(unfold(xsd, o), ClosesTo(ref, 0, 0));  // a copy: exact
            REQUIRE_THAT(fold(colsd, {13, 11}, o), ClosesTo(fref, 1e-5, 1e-5));
            REQUIRE_THAT(input_grad(f_unfold, xsd, colsd), ClosesTo(gref, 1e-5, 1e-5));
            REQUIRE_THAT(input_grad(f_fold, colsd, to_device(gy, d)), ClosesTo(gfref, 0, 0));
        }
    }
}

TEST_CASE("unfold/fold: errors name the op and the shapes", "[ops][unfold][errors]") {
    using Catch::Contains;
    REQUIRE_THROWS_WITH(unfold(randn({3, 4, 4}), {.kernel_size = 2}), Contains("unfold") && Contains("[3, 4, 4]"));
    REQUIRE_THROWS_AS(unfold(randn({1, 1, 3, 3}), {.kernel_size = 5}), ShapeError);
    REQUIRE_THROWS_WITH(unfold(randn({1, 1, 3, 3}), {.kernel_size = 5}),
                        Contains("unfold") && Contains("[1, 1, 3, 3]") && Contains("kernel_size=(5, 5)"));
    REQUIRE_THROWS_AS(unfold(randn({1, 1, 3, 3}), {.kernel_size = 2, .stride = 0}), ValueError);
    REQUIRE_THROWS_WITH(fold(randn({1, 5, 4}), {3, 3}, {.kernel_size = 2}), Contains("fold") && Contains("[1, 5, 4]"));
    REQUIRE_THROWS_WITH(fold(randn({1, 8, 5}), {3, 3}, {.kernel_size = 2}),
                        Contains("fold") && Contains("[1, 8, 5]") && Contains("2 * 2 = 4"));
}
