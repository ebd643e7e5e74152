// autograd/gradcheck.cpp — see gradcheck.h.
#include "autograd/gradcheck.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "ops/elementwise.h"
#include "ops/factory.h"
#include "ops/reduce.h"

namespace nabla {

bool gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, GradcheckOptions o) {
    // Private float64 copies: leaves of their own tape, perturbed in place for the numeric side.
    std::vector<Tensor> xs;
    for (const Tensor& in : inputs) {
        if (!in.defined()) {
            xs.emplace_back();
            continue;
        }
        NB_CHECK_VALUE(!in.requires_grad() || in.dtype() == kFloat64, "gradcheck: input of dtype ",
                       dtype_name(in.dtype()), " requires grad; gradcheck needs float64 inputs");
        Tensor x = in.detach().clone();
        if (in.requires_grad()) x.requires_grad_(true);
        xs.push_back(x);
    }
    Tensor y = f(xs);
    NB_CHECK_VALUE(y.dtype() == kFloat64, "gradcheck: the function returned ", dtype_name(y.dtype()),
                   ", expected float64");
    Generator gen(1234);
    Tensor v = randn(y.shape(), {.dtype = kFloat64, .device = y.device()}, &gen);
    if (y.requires_grad()) y.backward(v);  // otherwise no input reached the output: every gradient is zero

    auto loss = [&]() {
        NoGradGuard no_grad;
        return sum(mul(f(xs), v)).item<double>();
    };
    for (size_t i = 0; i < xs.size(); ++i) {
        if (!xs[i].defined() || !xs[i].requires_grad()) continue;
        Tensor analytic =
            xs[i].grad().defined() ? xs[i].grad().contiguous().to(kCPU) : zeros(xs[i].shape(), {.dtype = kFloat64});
        NB_CHECK_VALUE(xs[i].device().is_cpu(), "gradcheck: inputs must be on the cpu");
        double* p = xs[i].data_ptr<double>();
        const double* a = analytic.data_ptr<double>();
        for (int64_t j = 0; j < xs[i].numel(); ++j) {
            const double saved = p[j];
            p[j] = saved + o.eps;
            const double plus = loss();
            p[j] = saved - o.eps;
            const double minus = loss();
            p[j] = saved;
            const double numeric = (plus - minus) / (2 * o.eps);
            if (!(std::abs(numeric - a[j]) <= o.atol + o.rtol * std::abs(numeric)))
                throw GradcheckError(detail::concat("gradcheck: input ", i, " ", xs[i].shape(), ", element ", j,
                                                    ": analytic gradient ", a[j], " vs numerical ", numeric));
        }
    }
    return true;
}

}  // namespace nabla
