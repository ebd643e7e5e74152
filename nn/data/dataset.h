// nn/data/dataset.h — Dataset, what a DataLoader reads (torch.utils.data.Dataset, TensorDataset).
// An example is the list of its tensors in an order the trainer chooses: (image, mask) for U^2-Net, (image,
// landmarks, angles) for PFLD, (image, boxes) for YOLO. get() receives the example's own Generator, seeded from
// (loader seed, epoch, index) — use it for every random transform, so an example comes out the same whatever the
// number of workers or the thread that loads it.
//   class Salient : public data::Dataset {
//       int64_t size() const override { return pairs.size(); }
//       Example get(int64_t i, Generator& gen) const override { ...; return {image, mask}; }
//   };
#pragma once
#include <functional>
#include <vector>

#include "core/generator.h"
#include "core/tensor.h"

namespace nabla::data {

using Example = std::vector<Tensor>;

class Dataset {
public:
    virtual ~Dataset() = default;
    virtual int64_t size() const = 0;
    // Example `index` in [0, size()). Called concurrently from the loader's worker threads: it must only read the
    // dataset's members (const), and keep any randomness to `gen`.
    virtual Example get(int64_t index, Generator& gen) const = 0;
};

// torch.utils.data.TensorDataset: example i is {t[i] for each tensor}; all tensors share their first dim.
class TensorDataset : public Dataset {
public:
    explicit TensorDataset(std::vector<Tensor> tensors);
    int64_t size() const override;
    Example get(int64_t index, Generator& gen) const override;

private:
    std::vector<Tensor> tensors_;
};

// A dataset made of a size and a function, for small cases and tests:
//   LambdaDataset ds(100, [](int64_t i, Generator& g) { return Example{full({2}, double(i))}; });
class LambdaDataset : public Dataset {
public:
    using Function = std::function<Example(int64_t index, Generator& gen)>;
    LambdaDataset(int64_t size, Function get);
    int64_t size() const override { return size_; }
    Example get(int64_t index, Generator& gen) const override;

private:
    int64_t size_;
    Function get_;
};

}  // namespace nabla::data
