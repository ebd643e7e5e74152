// ops/activation.cpp — torch.nn.functional activations. All but prelu are one UnaryOp each: the function and its
// derivative are in backends/common/unary_math.h. prelu is composed of other ops (its gradient follows):
//   prelu(x, a) = max(0, x) + a * min(0, x), with a of shape [C] broadcast over dim 1.
#include "ops/activation.h"

#include "core/trace/trace.h"
#include "ops/elementwise.h"

namespace nabla {

Tensor relu(const Tensor& x) { return unary_op("relu", UnaryOp::Relu, x); }
Tensor relu6(const Tensor& x) { return unary_op("relu6", UnaryOp::Relu6, x); }
Tensor leaky_relu(const Tensor& x, double slope) {
    return unary_op("leaky_relu", UnaryOp::LeakyRelu, x, UnaryArgs::leaky_relu(slope));
}
Tensor sigmoid(const Tensor& x) { return unary_op("sigmoid", UnaryOp::Sigmoid, x); }
Tensor tanh(const Tensor& x) { return unary_op("tanh", UnaryOp::Tanh, x); }
Tensor silu(const Tensor& x) { return unary_op("silu", UnaryOp::Silu, x); }
Tensor hardswish(const Tensor& x) { return unary_op("hardswish", UnaryOp::Hardswish, x); }
Tensor hardsigmoid(const Tensor& x) { return unary_op("hardsigmoid", UnaryOp::Hardsigmoid, x); }
Tensor softplus(const Tensor& x, double beta, double threshold) {
    return unary_op("softplus", UnaryOp::Softplus, x, UnaryArgs::softplus(beta, threshold));
}

Tensor prelu(const Tensor& x, const Tensor& weight) {
    trace::OpScope ts("prelu", x, weight);
    const int64_t c = x.dim() >= 2 ? x.size(1) : 1;
    NB_CHECK(weight.dim() <= 1 && (weight.numel() == 1 || weight.numel() == c), "prelu: weight ", weight.shape(),
             " must have 1 or ", c, " (= channels of input ", x.shape(), ") elements");
    Tensor a = weight;
    if (weight.numel() != 1) {  // [C] -> [1, C, 1, ...] to broadcast over dim 1
        Shape s(x.dim(), 1);
        s[1] = c;
        a = weight.reshape(s);
    } else {
        a = weight.reshape({});
    }
    return where(gt(x, 0.0), x, mul(a, x));
}

}  // namespace nabla
