// nn/safetensors.h — reading and writing safetensors files (the format of PyTorch's `safetensors` package):
// 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
// then the raw little-endian data. The reader validates everything and throws an Error naming the file and the
// fault; the writer writes a temporary file, fsyncs it and renames it over the target, so a crash keeps the old file.
#pragma once
#include <map>
#include <string>

#include "core/tensor.h"

namespace nabla {

using TensorMap = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

TensorMap load_safetensors(const std::string& path, Metadata* metadata = nullptr);
void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});

}  // namespace nabla
