// tests/support/support.cpp — see support.h.
#include "support/support.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>

namespace nabla::testing {

TempDir::TempDir() {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() / fmt::format("nabla_test_{}_{}", ::getpid(), counter++);
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
}

TempDir::~TempDir() {
    std::error_code ec;  // a test may have made it read-only: give the owner access back before removing
    std::filesystem::permissions(path, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path, ec);
}

bool ClosesTo::match(const Tensor& actual_in) const {
    if (!actual_in.defined() || !expected_.defined()) {
        detail_ = "undefined tensor";
        return false;
    }
    if (actual_in.shape() != expected_.shape()) {
        detail_ = fmt::format("shape {} vs expected {}", actual_in.shape(), expected_.shape());
        return false;
    }
    Tensor a = actual_in.detach().to(kCPU).to(kFloat64).contiguous();
    Tensor e = expected_.detach().to(kCPU).to(kFloat64).contiguous();
    const double* pa = a.data_ptr<double>();
    const double* pe = e.data_ptr<double>();
    double worst = 0;
    int64_t worst_i = -1;
    for (int64_t i = 0; i < a.numel(); ++i) {
        const bool same = (std::isnan(pa[i]) && std::isnan(pe[i])) || pa[i] == pe[i];  // NaN and inf match themselves
        const double excess = same ? 0.0 : std::abs(pa[i] - pe[i]) - (atol_ + rtol_ * std::abs(pe[i]));
        if (!(excess <= 0) && (worst_i < 0 || excess > worst || std::isnan(excess))) {
            worst = excess;
            worst_i = i;
        }
    }
    if (worst_i >= 0) {
        detail_ = fmt::format("element {} is {} but expected {} (atol {}, rtol {})", worst_i, pa[worst_i], pe[worst_i],
                              atol_, rtol_);
        return false;
    }
    return true;
}

std::string ClosesTo::describe() const {
    return fmt::format("is close to the expected tensor {}: {}",
                       expected_.defined() ? shape_str(expected_.shape()) : "?", detail_.empty() ? "ok" : detail_);
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("not a nabla::Error: ") + e.what();
    }
    return "no error";
}

std::string fixture_path(const std::string& name) {
    return std::string(NABLA_FIXTURE_DIR) + "/" + name + ".safetensors";
}

TensorMap load_fixture(const std::string& name) { return load_safetensors(fixture_path(name)); }

void require_keys_match(const TensorMap& state_dict, const std::string& fixture) {
    const TensorMap expected = load_fixture(fixture);
    REQUIRE(state_dict.size() == expected.size());
    for (const auto& [key, shape] : expected) {
        INFO(key);
        REQUIRE(state_dict.count(key));
        const Tensor s = shape.contiguous();
        REQUIRE(state_dict.at(key).shape() == Shape(s.data_ptr<int64_t>(), s.data_ptr<int64_t>() + s.numel()));
    }
}

Tensor t64(const std::vector<double>& values, const Shape& shape) {
    return from_vector(values, shape.empty() ? Shape{static_cast<int64_t>(values.size())} : shape);
}
Tensor t32(const std::vector<float>& values, const Shape& shape) {
    return from_vector(values, shape.empty() ? Shape{static_cast<int64_t>(values.size())} : shape);
}

Tensor input_grad(const std::function<Tensor(const Tensor&)>& f, const Tensor& x_in, const Tensor& gy) {
    Tensor x = x_in.detach().requires_grad_();
    f(x).backward(gy);
    return x.grad();
}

std::vector<Device> fast_devices(bool cuda_has_kernels) {
    std::vector<Device> devices{kCPU};
#ifdef NABLA_WITH_CUDA  // (cuda_device_count is defined only in a build with the cuda backend)
    if (cuda_has_kernels && cuda_device_count() > 0) devices.push_back(kCUDA);
#endif
    return devices;
}

Tensor noncontiguous(const Tensor& x) {
    NoGradGuard no_grad;
    if (x.dim() < 2) {  // every other element of a buffer twice as long
        Tensor buf = zeros({x.numel() * 2}, x.options());
        Tensor v = buf.slice(0, 0, x.numel() * 2, 2).view(x.shape());
        v.copy_(x);
        return v;
    }
    Tensor tr = x.transpose(-1, -2).contiguous();  // memory in transposed order
    return tr.transpose(-1, -2);
}

Tensor to_device(const Tensor& x, Device d) {
    if (!x.defined() || x.device() == d) return x;
    return x.is_contiguous() ? x.to(d) : noncontiguous(x.to(d));
}

int64_t require_grads_match(const nn::Module& model, const TensorMap& fixture, double atol, double rtol) {
    int64_t checked = 0;
    for (const auto& [name, p] : model.named_parameters()) {
        INFO("gradient of " << name);
        if (!p.grad().defined()) {
            REQUIRE_FALSE(fixture.count("grad." + name));
            continue;
        }
        REQUIRE(fixture.count("grad." + name));
        REQUIRE_THAT(p.grad(), ClosesTo(fixture.at("grad." + name), atol, rtol));
        ++checked;
    }
    return checked;
}

}  // namespace nabla::testing
