// tests/package/consumer/main.cpp — ten lines against the installed Nabla: a layer, a loss, a backward pass.
#include <cstdio>

#include "nn/linear.h"
#include "ops/ops.h"

int main() {
    nabla::manual_seed(0);
    nabla::nn::Linear layer(4, 2);
    const nabla::Tensor y = layer(nabla::ones({3, 4}));
    y.sum().backward();
    std::printf("output %s, weight gradient %s\n", nabla::shape_str(y.shape()).c_str(),
                nabla::shape_str(layer.weight.grad().shape()).c_str());
    return y.shape() == nabla::Shape{3, 2} && layer.weight.grad().shape() == nabla::Shape{2, 4} ? 0 : 1;
}
