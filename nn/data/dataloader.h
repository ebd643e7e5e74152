// nn/data/dataloader.h — DataLoader: batches of a Dataset, shuffled reproducibly and loaded ahead by worker threads
// (torch.utils.data.DataLoader with a seeded sampler and set_epoch, as DistributedSampler).
//   DataLoader loader(dataset, {.batch_size = 16, .shuffle = true, .num_workers = 4, .seed = 42});
//   for (int64_t epoch = start; epoch < epochs; ++epoch) {
//       loader.set_epoch(epoch);                  // or set_epoch(epoch, batch) to resume in the middle of an epoch
//       for (auto& batch : loader) train_step(batch[0], batch[1]);
//   }
// Reproducibility: epoch e's order is randperm(n) from a Generator seeded with (seed, e), and example i of epoch e
// gets a Generator seeded with (seed, e, i) for its random transforms. Batches therefore do not depend on
// num_workers, on thread scheduling or on where an epoch was started.
// Threads: num_workers = 0 loads in the calling thread; otherwise num_workers std::threads claim batches in order,
// at most num_workers * prefetch_factor batches are loaded ahead, and batches come out in order. An exception in a
// worker is re-thrown in the consumer at that batch, naming the dataset index. Leaving the loop (break, exception)
// stops and joins the workers; a worker finishes the example it is loading first. Workers run ops with one OpenMP
// thread each and with grad mode off.
// With num_replicas > 1 each rank of a data-parallel run sees its own shard of every epoch (DistributedSampler).
// skip_errors (the trainers' default, as a corrupt file in a large data set should cost one example, not the run):
// an example whose loading throws is left out of its batch, which says which and why in Batch::skipped, for the
// caller to warn; a batch none of whose examples loads is still an error.
#pragma once
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "nn/data/collate.h"
#include "nn/data/dataset.h"

namespace nabla::data {

struct DataLoaderOptions {
    int64_t batch_size = 1;
    bool shuffle = false;
    bool drop_last = false;       // drop the last batch when it is smaller than batch_size
    int64_t num_workers = 0;      // 0: load in the calling thread
    int64_t prefetch_factor = 2;  // batches loaded ahead per worker
    uint64_t seed = 0;
    bool skip_errors = false;  // leave out an example that fails to load (Batch::skipped) instead of failing
    // DistributedSampler: this process loads shard `rank` of `num_replicas` (nn/distributed.h's rank and
    // world_size). Every rank draws the same order of the whole data set, pads it by repeating its start to a multiple
    // of num_replicas, and takes entries rank, rank + num_replicas, ...; so the shards are disjoint but for the
    // padding, cover the data set, and are reshuffled every epoch from the seed.
    int64_t num_replicas = 1;
    int64_t rank = 0;
    // Batches in page-locked host memory (Tensor::pin_memory), so that batch.to(cuda) copies asynchronously, as
    // torch's pin_memory=True. Ignored where no GPU is present (torch warns and does the same).
    bool pin_memory = false;
};

// An example skip_errors left out: its dataset index and the error.
struct SkippedExample {
    int64_t index;
    std::string error;
};

struct Batch {
    std::vector<Tensor> tensors;          // what collate made: by default tensor p of every example stacked, [B, ...]
    std::vector<int64_t> indices;         // the dataset indices of its examples, in batch order
    std::vector<SkippedExample> skipped;  // examples that failed to load (only with skip_errors)
    int64_t index = 0;                    // the batch's position in its epoch
    int64_t epoch = 0;
    const Tensor& operator[](size_t p) const { return tensors.at(p); }
    size_t size() const { return tensors.size(); }
};

// The seed of example `index`'s Generator in `epoch` (a splitmix64 hash of the three).
uint64_t example_seed(uint64_t seed, int64_t epoch, int64_t index);

class DataLoader {
public:
    class Iterator;
    DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {},
               Collate collate = default_collate);

    int64_t size() const;  // batches per epoch, len(loader)
    const DataLoaderOptions& options() const { return options_; }
    const std::shared_ptr<const Dataset>& dataset() const { return dataset_; }

    // The epoch the next iteration runs, and the batch it starts at. Each iteration (begin()) then moves on to the
    // next epoch from batch 0, so a loop without set_epoch sees a new order every epoch, as PyTorch's.
    int64_t epoch() const { return epoch_; }
    void set_epoch(int64_t epoch, int64_t start_batch = 0);
    // The dataset indices of an epoch in loading order (batch b is entries [b * batch_size, ...)); this rank's
    // shard when num_replicas > 1.
    std::vector<int64_t> order(int64_t epoch) const;
    int64_t num_examples() const;  // per epoch: the data set's size, or the shard's (ceil(size / num_replicas))

    Iterator begin();
    std::default_sentinel_t end() const { return {}; }

private:
    std::shared_ptr<const Dataset> dataset_;
    DataLoaderOptions options_;
    Collate collate_;
    int64_t epoch_ = 0;
    int64_t start_batch_ = 0;
};

struct EpochRun;  // one pass over an epoch: the order, the workers, the queue (dataloader.cpp)

// An input iterator over the batches of one epoch; copies share the run, which stops when the last copy goes.
class DataLoader::Iterator {
public:
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    explicit Iterator(std::shared_ptr<EpochRun> run) : run_(std::move(run)) {}
    Batch& operator*() const;
    Batch* operator->() const { return &**this; }
    Iterator& operator++();
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return run_ == nullptr; }

private:
    std::shared_ptr<EpochRun> run_;
};

}  // namespace nabla::data
