// ops/factory.h — making tensors: torch.empty/zeros/ones/full/arange/linspace/rand/randn/randint and from_vector.
// Random factories draw from a Generator (core/generator.h), the global one unless you pass your own.
#pragma once
#include <vector>

#include "core/generator.h"
#include "core/tensor.h"

namespace nabla {

Tensor empty(const Shape& shape, TensorOptions options = {});
Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});
Tensor full(const Shape& shape, double value, TensorOptions options = {});
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor empty_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor scalar_tensor(double value, TensorOptions options = {});  // a 0-dim tensor

// int64 by default, whatever the arguments (pass a floating dtype for arange(0, 1, 0.1)); an integer range uses the
// integer parts of start, end and step, as torch.arange(..., dtype=torch.int64).
Tensor arange(double end, TensorOptions options = {.dtype = kInt64});
Tensor arange(double start, double end, double step = 1, TensorOptions options = {.dtype = kInt64});
Tensor linspace(double start, double end, int64_t steps, TensorOptions options = {});

Tensor rand(const Shape& shape, TensorOptions options = {}, Generator* gen = nullptr);   // U[0, 1)
Tensor randn(const Shape& shape, TensorOptions options = {}, Generator* gen = nullptr);  // N(0, 1)
Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions options = {.dtype = kInt64},
               Generator* gen = nullptr);              // [low, high)
Tensor randperm(int64_t n, Generator* gen = nullptr);  // int64

// Copies `values` into a new tensor of `shape` (default, or an empty shape: 1-D, also for a single value, as
// torch.tensor([v]); a 0-dim tensor is scalar_tensor(v)); T must be the C++ type of options.dtype or convert to it.
template <class T>
Tensor from_vector(const std::vector<T>& values, Shape shape = {}, TensorOptions options = {.dtype = dtype_of<T>()});

}  // namespace nabla
