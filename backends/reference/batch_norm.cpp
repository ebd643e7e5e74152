// backends/reference/batch_norm.cpp — batch norm forward and backward (F.batch_norm) as plain loops, for float and
// double; the oracle of backends/cpu/batch_norm.cpp. The math is written out at the top of ops/batch_norm.cpp.
//   x, y, gy, gx: contiguous [N, C, *], read as [N, C, S] with S = prod(*); weight, bias, statistics: [C].
// Statistics and the backward's per-channel sums accumulate in double; the variance is two-pass (mean first).
// The running statistics may be strided views ([C] with any stride): they are written through their stride.
// A fused activation (NormAct) maps z = (x - mean) * invstd * weight + bias, computed from the saved (rounded) mean and
// invstd, so that the backward recomputes exactly the z of the forward: y = act(z), gz = gy act'(z).
#include <cmath>
#include <vector>

#include "backends/common/norm_act_math.h"
#include "backends/reference/reference_backend.h"

namespace nabla {

namespace {

struct Layout {  // x as [N, C, S]
    int64_t n, c, s;
    int64_t at(int64_t in, int64_t ic, int64_t is) const { return (in * c + ic) * s + is; }
    double count() const { return static_cast<double>(n * s); }  // values per channel
};
Layout layout_of(const Tensor& x) {
    const int64_t n = x.size(0), c = x.size(1);
    return {n, c, n * c > 0 ? x.numel() / (n * c) : 1};
}

struct MeanVar {
    double mean, var;
};

// The mean and the biased variance (the one that normalises) of channel c, in two passes: the mean first.
template <class T>
MeanVar batch_stats(const T* px, const Layout& L, int64_t c) {
    double sum = 0;
    for (int64_t n = 0; n < L.n; ++n)
        for (int64_t s = 0; s < L.s; ++s) sum += px[L.at(n, c, s)];
    const double mean = sum / L.count();
    double squares = 0;
    for (int64_t n = 0; n < L.n; ++n)
        for (int64_t s = 0; s < L.s; ++s) {
            const double d = px[L.at(n, c, s)] - mean;
            squares += d * d;
        }
    return {mean, squares / L.count()};
}

// The pre-activation of one value, from the statistics as saved (the backward computes the same z).
double normalized(double x, double mean, double invstd, double w, double b) { return (x - mean) * invstd * w + b; }

}  // namespace

BatchNormResult ReferenceBackend::batch_norm(const Tensor& x_in, const Tensor& weight, const Tensor& bias,
                                             const Tensor& running_mean, const Tensor& running_var, bool training,
                                             double momentum, double eps, NormAct act) {
    const Tensor x = kernel::contiguous(x_in);  // a channels-last input is read as plain [N, C, *]
    const Layout L = layout_of(x);
    const double count = L.count();
    Tensor y = make_tensor(x.shape(), x.dtype(), x.device());
    Tensor save_mean = make_tensor({L.c}, x.dtype(), x.device());
    Tensor save_invstd = make_tensor({L.c}, x.dtype(), x.device());
    dispatch_floating(x.dtype(), "batch_norm", [&]<class T>() {
        const T* px = x.data_ptr<T>();
        T* py = y.data_ptr<T>();
        const T* pw = weight.defined() ? weight.data_ptr<T>() : nullptr;
        const T* pb = bias.defined() ? bias.data_ptr<T>() : nullptr;
        T* rm = running_mean.defined() ? running_mean.data_ptr<T>() : nullptr;
        T* rv = running_var.defined() ? running_var.data_ptr<T>() : nullptr;
        const int64_t rm_stride = rm ? running_mean.stride(0) : 0, rv_stride = rv ? running_var.stride(0) : 0;
        for (int64_t c = 0; c < L.c; ++c) {
            const auto [mean, var] = training ? batch_stats(px, L, c) : MeanVar{rm[c * rm_stride], rv[c * rv_stride]};
            if (training && rm) {
                T& m = rm[c * rm_stride];
                T& v = rv[c * rv_stride];
                m = static_cast<T>((1 - momentum) * m + momentum * mean);
                v = static_cast<T>((1 - momentum) * v + momentum * var * count / (count - 1));  // unbiased
            }
            const T mean_t = static_cast<T>(mean), invstd_t = static_cast<T>(1 / std::sqrt(var + eps));
            save_mean.data_ptr<T>()[c] = mean_t;
            save_invstd.data_ptr<T>()[c] = invstd_t;
            const double w = pw ? pw[c] : 1.0, b = pb ? pb[c] : 0.0;
            visit_norm_act(act, [&]<NormAct A>() {
                for (int64_t n = 0; n < L.n; ++n)
                    for (int64_t s = 0; s < L.s; ++s) {
                        const int64_t i = L.at(n, c, s);
                        py[i] = static_cast<T>(norm_act<A>(normalized(px[i], mean_t, invstd_t, w, b)));
                    }
            });
        }
    });
    return {y, save_mean, save_invstd};
}

BatchNormGrads ReferenceBackend::batch_norm_backward(const Tensor& gy_in, const Tensor& x_in, const Tensor& weight,
                                                     const Tensor& bias, const Tensor& save_mean,
                                                     const Tensor& save_invstd, bool training, NormAct act,
                                                     std::array<bool, 3> needs) {
    const Tensor gy = kernel::contiguous(gy_in), x = kernel::contiguous(x_in);
    const Layout L = layout_of(x);
    const double count = L.count();
    BatchNormGrads g;
    if (needs[0]) g.input = make_tensor(x.shape(), x.dtype(), x.device());
    if (needs[1]) g.weight = make_tensor({L.c}, x.dtype(), x.device());
    if (needs[2]) g.bias = make_tensor({L.c}, x.dtype(), x.device());
    dispatch_floating(x.dtype(), "batch_norm_backward", [&]<class T>() {
        const T* pgy = gy.data_ptr<T>();
        const T* px = x.data_ptr<T>();
        const T* pw = weight.defined() ? weight.data_ptr<T>() : nullptr;
        const T* pb = bias.defined() ? bias.data_ptr<T>() : nullptr;
        std::vector<double> gz(static_cast<size_t>(L.n * L.s));  // the gradient at the pre-activation z, one channel
        for (int64_t c = 0; c < L.c; ++c) {
            const double mean = save_mean.data_ptr<T>()[c], invstd = save_invstd.data_ptr<T>()[c];
            const double w = pw ? pw[c] : 1.0, b = pb ? pb[c] : 0.0;
            double sum_gy = 0, sum_gy_xhat = 0;  // Σ gz and Σ gz x̂ over the channel
            visit_norm_act(act, [&]<NormAct A>() {
                for (int64_t n = 0; n < L.n; ++n)
                    for (int64_t s = 0; s < L.s; ++s) {
                        const int64_t i = L.at(n, c, s);
                        const double g = pgy[i] * norm_act_grad<A>(normalized(px[i], mean, invstd, w, b));
                        gz[static_cast<size_t>(n * L.s + s)] = g;
                        sum_gy += g;
                        sum_gy_xhat += g * (px[i] - mean) * invstd;
                    }
            });
            if (needs[1]) g.weight.data_ptr<T>()[c] = static_cast<T>(sum_gy_xhat);
            if (needs[2]) g.bias.data_ptr<T>()[c] = static_cast<T>(sum_gy);
            if (!needs[0]) continue;
            T* pgx = g.input.data_ptr<T>();
            const double k = w * invstd;
            for (int64_t n = 0; n < L.n; ++n)
                for (int64_t s = 0; s < L.s; ++s) {
                    const int64_t i = L.at(n, c, s);
                    const double xhat = (px[i] - mean) * invstd, g = gz[static_cast<size_t>(n * L.s + s)];
                    pgx[i] = static_cast<T>(training ? k * (g - sum_gy / count - xhat * sum_gy_xhat / count) : k * g);
                }
        }
    });
    return g;
}

}  // namespace nabla
