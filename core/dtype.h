// core/dtype.h — element types of a tensor (torch.dtype) and the rules that combine them.
// float32 is the training type; float64 is the type of gradient checks; int64 holds indices; uint8 images; bool masks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "core/error.h"

namespace nabla {

enum class DType : uint8_t { Float32, Float64, Int64, UInt8, Bool };

inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kUInt8 = DType::UInt8;
inline constexpr DType kBool = DType::Bool;

constexpr size_t element_size(DType t) {
    switch (t) {
        case DType::Float32: return 4;
        case DType::Float64: return 8;
        case DType::Int64: return 8;
        case DType::UInt8: return 1;
        case DType::Bool: return 1;
    }
    return 0;
}

// The spelling PyTorch prints ("float32"); safetensors uses its own ("F32"), see nn/safetensors.cpp.
constexpr std::string_view dtype_name(DType t) {
    switch (t) {
        case DType::Float32: return "float32";
        case DType::Float64: return "float64";
        case DType::Int64: return "int64";
        case DType::UInt8: return "uint8";
        case DType::Bool: return "bool";
    }
    return "?";
}

constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

// torch.promote_types for the types we have: bool < uint8 < int64 < float32 < float64.
// (PyTorch keeps float32 when a float32 tensor meets an int64 tensor; so do we.)
constexpr DType promote_types(DType a, DType b) {
    auto rank = [](DType t) {
        switch (t) {
            case DType::Bool: return 0;
            case DType::UInt8: return 1;
            case DType::Int64: return 2;
            case DType::Float32: return 3;
            case DType::Float64: return 4;
        }
        return 0;
    };
    return rank(a) >= rank(b) ? a : b;
}

// torch.can_cast: whether an op whose result is `from` may write into a tensor of dtype `to` (in-place ops).
// Floating into integer and anything but bool into bool are refused; every other conversion is allowed.
constexpr bool can_cast(DType from, DType to) {
    if (is_floating(from) && !is_floating(to)) return false;
    return from == DType::Bool || to != DType::Bool;
}

// Converts one element to T as PyTorch does: floating to integer truncates toward zero, and floating to uint8 goes
// through int64 so that negative or large values wrap (-1.0 -> 255, 300.0 -> 44) rather than being undefined.
template <class T, class S>
constexpr T convert_element(S v) {
    if constexpr (std::is_same_v<T, uint8_t> && std::is_floating_point_v<S>)
        return static_cast<T>(static_cast<int64_t>(v));
    else
        return static_cast<T>(v);
}

// C++ type of each dtype; kernels are templates over these.
template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
    return DType::Float32;
}
template <>
constexpr DType dtype_of<double>() {
    return DType::Float64;
}
template <>
constexpr DType dtype_of<int64_t>() {
    return DType::Int64;
}
template <>
constexpr DType dtype_of<uint8_t>() {
    return DType::UInt8;
}
template <>
constexpr DType dtype_of<bool>() {
    return DType::Bool;
}

// Calls f.template operator()<T>() with T the C++ type of `t`: the one switch every kernel shares.
//   dispatch_floating(x.dtype(), "exp", [&]<class T>() { ... });
template <class F>
decltype(auto) dispatch_floating(DType t, std::string_view op, F&& f) {
    switch (t) {
        case DType::Float32: return f.template operator()<float>();
        case DType::Float64: return f.template operator()<double>();
        default:
            throw TypeError(
                detail::concat(op, ": expected a floating dtype (float32 or float64), got ", dtype_name(t)));
    }
}

template <class F>
decltype(auto) dispatch_all(DType t, F&& f) {
    switch (t) {
        case DType::Float32: return f.template operator()<float>();
        case DType::Float64: return f.template operator()<double>();
        case DType::Int64: return f.template operator()<int64_t>();
        case DType::UInt8: return f.template operator()<uint8_t>();
        case DType::Bool: return f.template operator()<bool>();
    }
    throw TypeError("dispatch_all: unknown dtype");
}

}  // namespace nabla
