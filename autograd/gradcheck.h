// autograd/gradcheck.h — torch.autograd.gradcheck: the tape's gradients against central differences in float64.
//
// For a random projection v of the output (fixed seed), it compares d<v, f(x)>/dx from backward() with
// (L(x + eps) - L(x - eps)) / 2eps for every element of every input that requires grad. Inputs may be undefined or
// need no gradient (indices, constants of any dtype); an input the output does not depend on, or an output that
// requires no grad at all, has the analytic gradient zero, which the numerical one must then match.
// On a mismatch it throws GradcheckError naming the input, the element and both values (so REQUIRE(gradcheck(...))
// prints them); on success it returns true.
#pragma once
#include <functional>
#include <vector>

#include "core/tensor.h"

namespace nabla {

struct GradcheckError : Error {
    using Error::Error;
};

struct GradcheckOptions {
    double eps = 1e-6;
    double atol = 1e-5;
    double rtol = 1e-3;
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

bool gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, GradcheckOptions options = {});

}  // namespace nabla
