// nn/repr.h — values printed as Python prints them, for the layers' extra_repr() (torch's print(model)):
//   py_float(1e-5) "1e-05", py_float(2) "2.0", py_bool(true) "True", py_pair({3, 3}) "(3, 3)",
//   py_int_or_pair(2) "2" and py_int_or_pair({3, 2}) "(3, 2)" (pooling layers print kernel_size as it was given; an
//   Int2 does not remember whether it was given as one number, so equal sides print as one number).
#pragma once
#include <fmt/format.h>

#include <string>

#include "core/shape.h"

namespace nabla::nn {

// Python's repr(float): the shortest round-trip digits, exponent below 1e-4 and from 1e16 on, and ".0" on integers.
// fmt's shortest format already follows Python's exponent rule; only the ".0" is missing.
inline std::string py_float(double v) {
    std::string s = fmt::format("{}", v);
    if (s.find_first_of(".eninf") == std::string::npos) s += ".0";
    return s;
}

inline std::string py_bool(bool v) { return v ? "True" : "False"; }

inline std::string py_pair(Int2 v) { return fmt::format("({}, {})", v.h, v.w); }

inline std::string py_int_or_pair(Int2 v) { return v.h == v.w ? std::to_string(v.h) : py_pair(v); }

}  // namespace nabla::nn
