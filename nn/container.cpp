// nn/container.cpp — Sequential and ModuleList (see nn/container.h).
#include "nn/container.h"

#include "nn/normalization.h"

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

// A BatchNorm2d followed by a ReLU or SiLU runs as one fused kernel (bn_act, nn/normalization.h).
Tensor Sequential::forward(const Tensor& x) {
    Tensor y = x;
    const int64_t n = size();
    ModulePtr m = n > 0 ? (*this)[0] : nullptr;
    for (int64_t i = 0; i < n;) {
        ModulePtr next = i + 1 < n ? (*this)[i + 1] : nullptr;
        auto* bn = dynamic_cast<BatchNorm2d*>(m.get());
        if (bn && next && fusable_activation(*next) != NormAct::None) {
            y = bn_act(*bn, *next, y);
            i += 2;
            m = i < n ? (*this)[i] : nullptr;
            continue;
        }
        y = (*m)(y);
        m = std::move(next);
        ++i;
    }
    return y;
}

}  // namespace nabla::nn
