// nn/container.cpp — Sequential and ModuleList (see nn/container.h).
#include "nn/container.h"

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

Tensor Sequential::forward(const Tensor& x) {
    Tensor y = x;
    for (const ModulePtr& m : *this) y = (*m)(y);
    return y;
}

}  // namespace nabla::nn
