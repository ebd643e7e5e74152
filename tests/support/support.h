// tests/support/support.h — what every test uses: the ClosesTo matcher for tensors, fixtures made by PyTorch
// (tests/fixtures/make_fixtures.py), and short helpers.
//   REQUIRE_THAT(y, ClosesTo(expected, 1e-5));     // |y - e| <= atol + rtol |e| elementwise, same shape
//   auto g = load_fixture("conv/conv2d_s2_p1_g2");   // the tensors of tests/fixtures/conv/conv2d_s2_p1_g2.safetensors
#pragma once
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <string>

#include "backends/backend.h"  // with_kernels, backend_for: the tests compare backends
#include "nn/safetensors.h"
#include "ops/ops.h"

namespace nabla::testing {

class ClosesTo : public Catch::MatcherBase<Tensor> {
public:
    explicit ClosesTo(Tensor expected, double atol = 1e-5, double rtol = 1e-4)
        : expected_(std::move(expected)), atol_(atol), rtol_(rtol) {}
    bool match(const Tensor& actual) const override;
    std::string describe() const override;

private:
    Tensor expected_;
    double atol_, rtol_;
    mutable std::string detail_;
};

std::string fixture_path(const std::string& name);  // name without extension, relative to tests/fixtures
TensorMap load_fixture(const std::string& name);
// REQUIREs that a model's state dict has exactly the keys of a `keys` fixture (tests/fixtures/make_models.py: each
// key's shape as an int64 vector), with those shapes.
void require_keys_match(const TensorMap& state_dict, const std::string& fixture);

// A float64 tensor from values, for hand-written expectations: t({1, 2, 3}, {3})
Tensor t64(const std::vector<double>& values, const Shape& shape = {});
Tensor t32(const std::vector<float>& values, const Shape& shape = {});

// The gradient of f at x for the upstream gradient gy: d<f(x), gy>/dx, on a fresh leaf copy of x.
Tensor input_grad(const std::function<Tensor(const Tensor&)>& f, const Tensor& x, const Tensor& gy);

// A fresh, empty directory (<temp>/nabla_test_<pid>_<n>) for one test case, removed with its contents at scope end.
struct TempDir {
    std::filesystem::path path;
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string file(const std::string& name) const { return (path / name).string(); }  // path / name
};

// A non-contiguous copy of x with the same values (a transposed buffer, transposed back), to test strided inputs.
Tensor noncontiguous(const Tensor& x);

}  // namespace nabla::testing

namespace Catch {
template <>
struct StringMaker<nabla::Tensor> {
    static std::string convert(const nabla::Tensor& t) { return nabla::to_string(t); }
};
}  // namespace Catch

using namespace nabla;           // NOLINT: tests read like user code
using namespace nabla::testing;  // NOLINT
