// core/error.h — the exceptions Nabla throws and NB_CHECK, the one-line precondition check.
// Library code never aborts: it throws, and the message names the op, what it expected and what it got:
//   conv2d: weight [64, 3, 7, 7] with groups=1 expects 3 input channels, but input [8, 4, 96, 96] has 4
// Only apps/ catch at main.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#ifndef __CUDACC__
#include <fmt/format.h>
#include <fmt/ranges.h>
#else
#include <sstream>  // nvcc cannot compile fmt's constexpr machinery; .cu files only concatenate plain values
#endif

namespace nabla {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct ShapeError : Error {  // shapes that do not fit the op (torch raises RuntimeError)
    using Error::Error;
};
struct TypeError : Error {  // a dtype the op does not take
    using Error::Error;
};
struct ValueError : Error {  // an argument out of its range (a negative stride, an unknown mode)
    using Error::Error;
};
struct IndexError : Error {
    using Error::Error;
};
struct NotImplementedError : Error {  // a kernel a backend does not have
    using Error::Error;
};
struct AnomalyError : Error {  // anomaly mode found a NaN or an infinity (torch's detect_anomaly RuntimeError)
    using Error::Error;
};
struct OutOfMemoryError : Error {  // an allocation the device cannot serve (torch.OutOfMemoryError)
    using Error::Error;
};

namespace detail {
// Concatenates anything fmt can print; shapes (std::vector<int64_t>) print as [2, 3, 4].
template <class... Args>
std::string concat(const Args&... args) {
#ifndef __CUDACC__
    std::string s;
    (fmt::format_to(std::back_inserter(s), "{}", args), ...);
    return s;
#else
    std::ostringstream os;
    (os << ... << args);
    return os.str();
#endif
}
}  // namespace detail

// A macro only because it must not evaluate the message when the check passes.
#define NB_CHECK(cond, ...)                                                           \
    do {                                                                              \
        if (!(cond)) throw ::nabla::ShapeError(::nabla::detail::concat(__VA_ARGS__)); \
    } while (0)

#define NB_CHECK_VALUE(cond, ...)                                                     \
    do {                                                                              \
        if (!(cond)) throw ::nabla::ValueError(::nabla::detail::concat(__VA_ARGS__)); \
    } while (0)

}  // namespace nabla
