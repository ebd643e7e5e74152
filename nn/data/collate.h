// nn/data/collate.h — turning a list of examples into one batch (torch.utils.data.default_collate, and the
// collate_fn of ultralytics' YOLOv5 dataset that concatenates the boxes of a batch behind a batch-index column).
//   default_collate:  examples {(img [3, H, W], mask [1, H, W])} x B  ->  {img [B, 3, H, W], mask [B, 1, H, W]}
//   collate_with_batch_index({1}):  {(img [3, H, W], boxes [n_i, 5])} x B  ->  {img [B, 3, H, W], boxes [sum n_i, 6]}
// where row r of the concatenated boxes is (i, boxes_i[r]) with i the example's position in the batch.
#pragma once
#include <functional>
#include <vector>

#include "nn/data/dataset.h"

namespace nabla::data {

// What a DataLoader calls on the examples of one batch; returns the batch's tensors.
using Collate = std::function<std::vector<Tensor>(const std::vector<Example>& examples)>;

// Stacks tensor p of every example into [B, *shape]. The examples must have the same number of tensors, and tensor
// p the same shape in all of them; a mismatch is a ShapeError naming the position, the examples and their shapes.
std::vector<Tensor> default_collate(const std::vector<Example>& examples);

// Stacks like default_collate, except the tensors at `positions`: those are [n_i, k] (n_i may be 0) and are
// concatenated into [sum n_i, 1 + k] with the example's position in the batch as the first column.
Collate collate_with_batch_index(std::vector<size_t> positions);

}  // namespace nabla::data
