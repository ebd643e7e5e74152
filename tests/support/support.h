// tests/support/support.h — what every test uses: the ClosesTo matcher for tensors, fixtures made by PyTorch
// (tests/fixtures/make_fixtures.py), and short helpers.
//   REQUIRE_THAT(y, ClosesTo(expected, 1e-5));     // |y - e| <= atol + rtol |e| elementwise, same shape
//   auto g = load_fixture("conv/conv2d_s2_p1_g2");   // the tensors of tests/fixtures/conv/conv2d_s2_p1_g2.safetensors
#pragma once
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "backends/backend.h"            // with_kernels, backend_for: the tests compare backends
#include "backends/cpu/cpu_backend.h"    // cpu_implements
#include "backends/cuda/cuda_backend.h"  // cuda_implements (decltype only: nothing to link without CUDA)
#include "nn/module.h"
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

// A model's twin check: every parameter's gradient against the fixture's "grad.<state-dict name>" (a PyTorch
// twin's), within atol + rtol |e|. A parameter that has no gradient must have none in the fixture either (PyTorch's
// None, e.g. PFLD's unused bn8) and is not counted. Returns how many gradients were compared.
int64_t require_grads_match(const nn::Module& model, const TensorMap& fixture, double atol, double rtol);

// The message of the nabla::Error that f throws; "not a nabla::Error: <what>" for another exception, "no error" when f
// returns: CHECK_THAT(error_of([&] { load_safetensors(path); }), Catch::Contains(path));
std::string error_of(const std::function<void()>& f);

// A fresh, empty directory (<temp>/nabla_test_<pid>_<n>) for one test case, removed with its contents at scope end.
struct TempDir {
    std::filesystem::path path;
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string file(const std::string& name) const { return (path / name).string(); }  // path / name
};

// Whether the cpu backend implements a kernel itself or inherits the reference one. &CpuBackend::sort names
// ReferenceBackend::sort when CpuBackend does not declare sort, and a member pointer's type says which class declared
// the member. A test that compares the cpu backend with the reference on an inherited kernel compares the reference
// with itself and cannot fail, so every such test starts with
//   STATIC_REQUIRE(cpu_implements<&CpuBackend::conv2d>);          // a parity test that can fail
//   STATIC_REQUIRE_FALSE(cpu_implements<&CpuBackend::sort>);      // or: the kernel is shared, say so
template <class MemberPointer>
struct declaring_class;
template <class R, class C, class... Args>
struct declaring_class<R (C::*)(Args...)> {
    using type = C;
};
template <auto kernel>
inline constexpr bool cpu_implements = std::is_same_v<typename declaring_class<decltype(kernel)>::type, CpuBackend>;
// The same for the cuda backend, which inherits Backend's throwing default for each kernel it lacks.
template <auto kernel>
inline constexpr bool cuda_implements = std::is_same_v<typename declaring_class<decltype(kernel)>::type, CudaBackend>;

// The devices whose fast kernels a parity test checks against the reference on the CPU: kCPU, and kCUDA when the
// build has CUDA, a device is present and the cuda backend has the test's kernels (cuda_has_kernels):
//   Tensor ref = with_kernels(Kernels::reference, [&] { return conv2d(x, w); });  // on the CPU
//   for (Device d : fast_devices(cuda_implements<&CudaBackend::conv2d>)) {         // ClosesTo takes any device
//       INFO("device " << d.str());
//       REQUIRE_THAT(conv2d(x.to(d), w.to(d)), ClosesTo(ref));
//   }
std::vector<Device> fast_devices(bool cuda_has_kernels);

// A non-contiguous copy of x with the same values (a transposed buffer, transposed back), to test strided inputs.
Tensor noncontiguous(const Tensor& x);
// x on device d, as x.to(d), except that an undefined x stays undefined and a non-contiguous x stays non-contiguous
// (x.to(d) copies to a contiguous tensor; this lays it out as noncontiguous() does). On x's own device, x itself.
Tensor to_device(const Tensor& x, Device d);

}  // namespace nabla::testing

namespace Catch {
template <>
struct StringMaker<nabla::Tensor> {
    static std::string convert(const nabla::Tensor& t) { return nabla::to_string(t); }
};
template <>
struct StringMaker<nabla::Device> {
    static std::string convert(const nabla::Device& d) { return d.str(); }
};
}  // namespace Catch

using namespace nabla;           // NOLINT: tests read like user code
using namespace nabla::testing;  // NOLINT
