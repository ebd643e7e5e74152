// nn/safetensors.h — reading and writing safetensors files (the format of PyTorch's `safetensors` package):
// 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
// then the raw little-endian data. The reader validates everything and throws an Error naming the file and the
// fault; the writer writes a temporary file, fsyncs it and renames it over the target, so a crash keeps the old file.
//   auto sd = load_safetensors("u2net.safetensors");  // {"stage1.rebnconvin.conv_s1.weight": [64, 3, 3, 3], ...}
//   save_safetensors("ckpt.safetensors", model.state_dict(), {{"epoch", "12"}});
//   save_safetensors("u2netp.safetensors", weights, {}, {.half = true});  // float32 stored as F16, half the bytes
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "core/tensor.h"

namespace nabla {

using TensorMap = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

// The metadata entry that holds each tensor's crc32 (zlib's), as a JSON object string {"name": "1a2b3c4d", ...}.
inline constexpr const char* kChecksumKey = "nabla.crc32";

// Every tensor comes back as a contiguous CPU tensor: F32, F64, I64, U8, BOOL as float32, float64, int64, uint8,
// bool; I32 widened to int64; F16 and BF16 converted to float32 (exactly). Other dtypes (I8, F8_*, ...) are an Error.
// A file that breaks any rule of the format (header over 100 MB, bad JSON, a wrong field, data_offsets that do not
// match shape x dtype or do not tile the data buffer exactly) is an Error that names the file and the fault.
// `metadata`, if given, is replaced by the file's "__metadata__" (empty when the file has none). A file that Nabla
// wrote carries the crc32 of every tensor's bytes (metadata key kChecksumKey, not returned in `metadata`): a tensor
// whose bytes no longer match is an Error naming it, since the format itself would load flipped bytes silently.
// Files from elsewhere have no checksums and load as they are.
TensorMap load_safetensors(const std::string& path, Metadata* metadata = nullptr);
// The file's "__metadata__" alone: the header is read and checked as load_safetensors checks it, the tensor data is
// not read (nor its checksums verified).
Metadata load_safetensors_metadata(const std::string& path);

struct SaveOptions {
    // Store every float32 tensor that fits_half() as F16 (IEEE half, rounded to nearest even; half the bytes); one
    // with a finite value beyond half's range stays F32. float64 and integer tensors are stored as they are. The
    // reader gives F16 back as float32, so a model loads such a file as any other.
    bool half = false;
};

// Writes the tensors (any device and strides; keys sorted; header padded with spaces to a multiple of 8), and their
// crc32 checksums in the metadata, to "<path>.tmp.<pid>.<n>", fsyncs it and renames it over `path`. On any failure the
// temporary file is removed, an existing `path` is left untouched, and an Error names the path and the errno text.
// The checksums are of the bytes written (with options.half, of the F16 bytes).
void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {},
                      const SaveOptions& options = {});

// IEEE 754 binary16 <-> float32. float_to_half rounds to nearest, ties to even: a magnitude of 65520 or more becomes
// inf, one below 2^-14 a subnormal (multiples of 2^-24), one of 2^-25 or less a zero of the same sign; NaN stays a
// (quiet) NaN. half_to_float is exact.
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);
// Whether SaveOptions::half stores `t` as F16: a float32 tensor whose finite values all lie within half's range,
// |x| <= 65504 (inf and NaN have half encodings; a larger finite value would become inf).
bool fits_half(const Tensor& t);

}  // namespace nabla
