// nn/data/dataset.cpp — TensorDataset and LambdaDataset (see dataset.h).
#include "nn/data/dataset.h"

namespace nabla::data {

TensorDataset::TensorDataset(std::vector<Tensor> tensors) : tensors_(std::move(tensors)) {
    NB_CHECK_VALUE(!tensors_.empty(), "TensorDataset: expected at least one tensor");
    for (size_t i = 0; i < tensors_.size(); ++i) {
        NB_CHECK(tensors_[i].defined() && tensors_[i].dim() >= 1, "TensorDataset: tensor ", i,
                 " must have at least one dim, got ",
                 tensors_[i].defined() ? shape_str(tensors_[i].shape()) : "undefined");
        NB_CHECK(tensors_[i].size(0) == tensors_[0].size(0),
                 "TensorDataset: size mismatch between tensors: tensor 0 is ", tensors_[0].shape(), ", tensor ", i,
                 " is ", tensors_[i].shape());
    }
}

int64_t TensorDataset::size() const { return tensors_[0].size(0); }

Example TensorDataset::get(int64_t index, Generator&) const {
    if (index < 0 || index >= size())
        throw IndexError(detail::concat("TensorDataset: index ", index, " is out of range for size ", size()));
    Example e;
    for (const Tensor& t : tensors_) e.push_back(t.select(0, index));
    return e;
}

LambdaDataset::LambdaDataset(int64_t size, Function get) : size_(size), get_(std::move(get)) {
    NB_CHECK_VALUE(size >= 0, "LambdaDataset: size must be non-negative, got ", size);
    NB_CHECK_VALUE(static_cast<bool>(get_), "LambdaDataset: the function is empty");
}

Example LambdaDataset::get(int64_t index, Generator& gen) const {
    if (index < 0 || index >= size_)
        throw IndexError(detail::concat("LambdaDataset: index ", index, " is out of range for size ", size_));
    return get_(index, gen);
}

}  // namespace nabla::data
