// core/shape.h — shapes and strides (in elements, row-major as PyTorch), broadcasting and dim wrapping.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nabla {

using Shape = std::vector<int64_t>;

// A (height, width) pair for 2-D ops, written `2` or `{2, 1}` at the call site as PyTorch's int-or-tuple arguments:
//   conv2d(x, w, b, {.stride = 2, .padding = {1, 0}})
struct Int2 {
    int64_t h = 0, w = 0;
    constexpr Int2() = default;
    constexpr Int2(int64_t v) : h(v), w(v) {}  // NOLINT(google-explicit-constructor): mirrors PyTorch's `stride=2`
    constexpr Int2(int64_t h_, int64_t w_) : h(h_), w(w_) {}
    bool operator==(const Int2&) const = default;
};

int64_t numel_of(const Shape& shape);
Shape contiguous_strides(const Shape& shape);

// How a 4-D [N, C, H, W] tensor lies in memory (torch.memory_format): Contiguous is row-major NCHW; ChannelsLast keeps
// the C values of one pixel together (NHWC order, strides [H*W*C, 1, W*C, C]), the layout oneDNN convolves without
// reordering. Only the strides differ: shape, indexing and every op's values are the same in both.
enum class MemoryFormat { Contiguous, ChannelsLast };
Shape channels_last_strides(const Shape& shape);  // shape must be 4-D
// The dims from the largest stride to the smallest (ties keep their order): 0, 1, ..., n-1 for a contiguous tensor,
// N, H, W, C for a channels-last one. Kernels that walk several tensors at once walk them in one tensor's memory order.
std::vector<int64_t> memory_order(const Shape& strides);

// Wraps a possibly negative dim into [0, ndim); `op` names the caller in the error.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

// The broadcast shape of a and b (numpy rules), or a ShapeError naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

std::string shape_str(const Shape& shape);  // "[2, 3, 4]"

}  // namespace nabla

#ifndef __CUDACC__  // (nvcc cannot compile fmt; see core/error.h)
#include <fmt/format.h>

// Int2 prints as PyTorch prints a pair: (3, 1). So error messages can name it directly.
template <>
struct fmt::formatter<nabla::Int2> : fmt::formatter<std::string> {
    auto format(nabla::Int2 v, fmt::format_context& ctx) const {
        return fmt::formatter<std::string>::format(fmt::format("({}, {})", v.h, v.w), ctx);
    }
};
#endif
