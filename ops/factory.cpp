// ops/factory.cpp — the tensor factories. Random values are drawn on the host in row-major order (so a seed
// gives the same tensor on every device) and then moved to the requested device.
#include "ops/factory.h"

#include <cmath>
#include <numeric>

#include "backends/backend.h"

namespace nabla {

namespace {
Tensor finish(Tensor t, const TensorOptions& o) {
    if (o.requires_grad) t.requires_grad_(true);
    return t;
}
// Fills a host tensor through f(i) -> double, then moves it to the wanted device and dtype.
template <class F>
Tensor host_generated(const Shape& shape, const TensorOptions& o, DType host_dtype, F&& f) {
    Tensor t = make_tensor(shape, host_dtype, kCPU);
    dispatch_all(host_dtype, [&]<class T>() {
        T* p = t.data_ptr<T>();
        for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = static_cast<T>(f(i));
    });
    if (o.dtype != host_dtype) t = t.to(o.dtype);
    if (!o.device.is_cpu()) t = t.to(o.device);
    return finish(t, o);
}
}  // namespace

Tensor empty(const Shape& shape, TensorOptions o) { return finish(make_tensor(shape, o.dtype, o.device), o); }

Tensor full(const Shape& shape, double value, TensorOptions o) {
    Tensor t = make_tensor(shape, o.dtype, o.device);
    backend_for(t).fill_(t, value);
    return finish(t, o);
}
Tensor zeros(const Shape& shape, TensorOptions o) { return full(shape, 0.0, o); }
Tensor ones(const Shape& shape, TensorOptions o) { return full(shape, 1.0, o); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.options()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.options()); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.options()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.options()); }
Tensor scalar_tensor(double value, TensorOptions o) { return full({}, value, o); }

Tensor arange(double end, TensorOptions o) { return arange(0, end, 1, o); }

Tensor arange(double start, double end, double step, TensorOptions o) {
    NB_CHECK_VALUE(std::isfinite(start) && std::isfinite(end), "arange: unsupported range ", start, " -> ", end);
    if (!is_floating(o.dtype)) {  // as torch: an integer range takes the integer parts of its bounds and step
        start = std::trunc(start);
        end = std::trunc(end);
        step = std::trunc(step);
    }
    NB_CHECK_VALUE(step != 0, "arange: step must be nonzero");
    NB_CHECK_VALUE((end - start) / step >= 0, "arange: upper bound and step are inconsistent (start ", start, ", end ",
                   end, ", step ", step, ")");
    auto n = static_cast<int64_t>(std::ceil((end - start) / step));
    DType host = is_floating(o.dtype) ? kFloat64 : kInt64;
    return host_generated({n}, o, host, [&](int64_t i) { return start + static_cast<double>(i) * step; });
}

Tensor linspace(double start, double end, int64_t steps, TensorOptions o) {
    NB_CHECK_VALUE(steps >= 0, "linspace: number of steps must be non-negative, got ", steps);
    const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
    // As PyTorch: the first half counts up from start, the second half down from end, so both ends are exact
    // (and a single step is `start`).
    const int64_t halfway = std::max<int64_t>(steps / 2, 1);
    return host_generated({steps}, o, kFloat64, [&](int64_t i) {
        return i < halfway ? start + step * static_cast<double>(i) : end - step * static_cast<double>(steps - 1 - i);
    });
}

Tensor rand(const Shape& shape, TensorOptions o, Generator* gen) {
    Generator& g = gen ? *gen : default_generator();
    return host_generated(shape, o, kFloat64, [&](int64_t) { return g.uniform(); });
}

Tensor randn(const Shape& shape, TensorOptions o, Generator* gen) {
    Generator& g = gen ? *gen : default_generator();
    return host_generated(shape, o, kFloat64, [&](int64_t) { return g.normal(); });
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions o, Generator* gen) {
    Generator& g = gen ? *gen : default_generator();
    return host_generated(shape, o, kInt64, [&](int64_t) { return static_cast<double>(g.randint(low, high)); });
}

Tensor randperm(int64_t n, Generator* gen) {
    NB_CHECK_VALUE(n >= 0, "randperm: n must be non-negative, got ", n);
    Generator& g = gen ? *gen : default_generator();
    std::vector<int64_t> p(static_cast<size_t>(n));
    std::iota(p.begin(), p.end(), 0);
    for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[g.randint(0, i + 1)]);  // Fisher-Yates
    return from_vector(p);
}

template <class T>
Tensor from_vector(const std::vector<T>& values, Shape shape, TensorOptions o) {
    if (shape.empty()) shape = {static_cast<int64_t>(values.size())};  // 1-D even for one value, as torch.tensor([v])
    NB_CHECK(numel_of(shape) == static_cast<int64_t>(values.size()), "from_vector: ", values.size(),
             " values do not fill shape ", shape);
    Tensor t = make_tensor(shape, dtype_of<T>(), kCPU);
    std::copy(values.begin(), values.end(), t.data_ptr<T>());
    if (o.dtype != dtype_of<T>()) t = t.to(o.dtype);
    if (!o.device.is_cpu()) t = t.to(o.device);
    return finish(t, o);
}
template Tensor from_vector<float>(const std::vector<float>&, Shape, TensorOptions);
template Tensor from_vector<double>(const std::vector<double>&, Shape, TensorOptions);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, Shape, TensorOptions);
template Tensor from_vector<uint8_t>(const std::vector<uint8_t>&, Shape, TensorOptions);

}  // namespace nabla
