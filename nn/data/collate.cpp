// nn/data/collate.cpp — default_collate and collate_with_batch_index (see collate.h).
#include "nn/data/collate.h"

#include <algorithm>

#include "ops/factory.h"
#include "ops/indexing.h"

namespace nabla::data {
namespace {

// The number of tensors every example has, or a ShapeError naming the first example that differs.
size_t tensors_per_example(const std::vector<Example>& examples, const char* fn) {
    NB_CHECK_VALUE(!examples.empty(), fn, ": no examples to collate");
    const size_t n = examples[0].size();
    for (size_t i = 1; i < examples.size(); ++i)
        NB_CHECK(examples[i].size() == n, fn, ": example 0 has ", n, " tensors but example ", i, " has ",
                 examples[i].size());
    return n;
}

Tensor stack_position(const std::vector<Example>& examples, size_t p, const char* fn) {
    std::vector<Tensor> parts;
    parts.reserve(examples.size());
    for (size_t i = 0; i < examples.size(); ++i) {
        const Tensor& t = examples[i][p];
        NB_CHECK(t.defined(), fn, ": tensor ", p, " of example ", i, " is undefined");
        NB_CHECK(t.shape() == examples[0][p].shape(), fn, ": tensor ", p, " has shape ", examples[0][p].shape(),
                 " in example 0 but ", t.shape(), " in example ", i,
                 " (stacking needs equal shapes: resize the examples, or pass a custom collate)");
        parts.push_back(t);
    }
    return stack(parts, 0);
}

}  // namespace

std::vector<Tensor> default_collate(const std::vector<Example>& examples) {
    const size_t n = tensors_per_example(examples, "default_collate");
    std::vector<Tensor> batch;
    for (size_t p = 0; p < n; ++p) batch.push_back(stack_position(examples, p, "default_collate"));
    return batch;
}

Collate collate_with_batch_index(std::vector<size_t> positions) {
    return [positions = std::move(positions)](const std::vector<Example>& examples) {
        const char* fn = "collate_with_batch_index";
        const size_t n = tensors_per_example(examples, fn);
        for (size_t p : positions)
            NB_CHECK_VALUE(p < n, fn, ": position ", p, " is out of range for examples of ", n, " tensors");
        std::vector<Tensor> batch;
        for (size_t p = 0; p < n; ++p) {
            if (std::find(positions.begin(), positions.end(), p) == positions.end()) {
                batch.push_back(stack_position(examples, p, fn));
                continue;
            }
            std::vector<Tensor> rows;  // [n_i, 1 + k] per example
            for (size_t i = 0; i < examples.size(); ++i) {
                const Tensor& t = examples[i][p];
                NB_CHECK(t.defined() && t.dim() == 2, fn, ": tensor ", p, " of example ", i, " must be [n, k], got ",
                         t.defined() ? shape_str(t.shape()) : "undefined");
                NB_CHECK(t.size(1) == examples[0][p].size(1), fn, ": tensor ", p, " is ", examples[0][p].shape(),
                         " in example 0 but ", t.shape(), " in example ", i, " (k must agree)");
                Tensor column = full({t.size(0), 1}, static_cast<double>(i), {.dtype = t.dtype()});
                rows.push_back(cat({column, t}, 1));
            }
            batch.push_back(cat(rows, 0));
        }
        return batch;
    };
}

}  // namespace nabla::data
