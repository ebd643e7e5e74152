// nn/safetensors.cpp — placeholder until the checkpoint work lands.
#include "nn/safetensors.h"

namespace nabla {
TensorMap load_safetensors(const std::string& path, Metadata*) { throw NotImplementedError("load_safetensors: " + path); }
void save_safetensors(const std::string& path, const TensorMap&, const Metadata&) {
    throw NotImplementedError("save_safetensors: " + path);
}
}  // namespace nabla
