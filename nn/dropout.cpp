// nn/dropout.cpp — Dropout composed of engine ops (rand, lt, mul), so its gradient needs no code of its own.
#include "nn/dropout.h"

#include "autograd/grad_mode.h"
#include "nn/repr.h"
#include "ops/elementwise.h"
#include "ops/factory.h"

namespace nabla::nn {

Dropout::Dropout(double p_) : Module("Dropout"), p(p_) {
    NB_CHECK_VALUE(p >= 0.0 && p <= 1.0, "Dropout: dropout probability has to be between 0 and 1, but got ",
                   py_float(p));
}

Tensor Dropout::forward(const Tensor& x) {
    if (!is_training() || p == 0.0) return x;
    Tensor mask;  // [x.shape]: 1 / (1 - p) where kept, 0 where dropped; a constant for autograd
    {
        NoGradGuard no_grad;
        const Tensor u = rand(x.shape(), {.dtype = x.dtype(), .device = x.device()});
        mask = p == 1.0 ? zeros_like(x) : lt(u, 1.0 - p).to(x.dtype()) * (1.0 / (1.0 - p));
    }
    return x * mask;
}

std::string Dropout::extra_repr() const { return fmt::format("p={}, inplace=False", py_float(p)); }

}  // namespace nabla::nn
