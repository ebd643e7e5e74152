// nn/container.cpp — Sequential and ModuleList (see nn/container.h).
#include "nn/container.h"

#include "nn/fusion.h"

namespace nabla::nn {

NumberedModules::NumberedModules(std::string type_name, const std::vector<ModulePtr>& modules)
    : Module(std::move(type_name)) {
    for (const ModulePtr& m : modules) push_back(m);
}

ModulePtr NumberedModules::operator[](int64_t i) const {
    const int64_t j = i < 0 ? i + size_ : i;
    if (j < 0 || j >= size_)
        throw IndexError(detail::concat(type_name(), ": index ", i, " is out of range for ", size_, " modules"));
    return child(std::to_string(j));
}

// Runs of layers that nn/fusion.h fuses run as one kernel: Conv2d + BatchNorm2d [+ ReLU/SiLU] (folded in inference),
// BatchNorm2d + ReLU/SiLU.
Tensor Sequential::forward(const Tensor& x) {
    Tensor y = x;
    const int64_t n = size();
    auto at = [&](int64_t i) { return i < n ? (*this)[i] : nullptr; };
    for (int64_t i = 0; i < n;) {
        const ModulePtr m = at(i), next = at(i + 1), third = at(i + 2);
        auto* conv = dynamic_cast<Conv2d*>(m.get());
        auto* bn_after_conv = dynamic_cast<BatchNorm2d*>(next.get());
        auto* bn = dynamic_cast<BatchNorm2d*>(m.get());
        if (conv && bn_after_conv) {  // conv, bn and a fusable activation, or conv and bn
            const bool act = third && fusable_activation(*third) != NormAct::None;
            y = act ? conv_bn_act(*conv, *bn_after_conv, *third, y)
                    : conv_bn_act(*conv, *bn_after_conv, NormAct::None, y);
            i += act ? 3 : 2;
        } else if (bn && next && fusable_activation(*next) != NormAct::None) {
            y = bn_act(*bn, *next, y);
            i += 2;
        } else {
            y = (*m)(y);
            i += 1;
        }
    }
    return y;
}

}  // namespace nabla::nn
