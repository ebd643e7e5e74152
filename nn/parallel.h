// nn/parallel.h — torch.nn.parallel.DistributedDataParallel: data-parallel training over the ranks of
// nn/distributed.h, each rank with a full copy of the model and its own shard of every batch.
//
//   dist::init();
//   auto model = std::make_shared<Net>();
//   nn::convert_sync_batchnorm(*model);              // optional: BatchNorm statistics of the global batch
//   nn::DistributedDataParallel ddp(*model);         // every rank starts from rank 0's parameters and buffers
//   data::DataLoader loader(set, {.batch_size = 16, .shuffle = true,
//                                 .num_replicas = dist::world_size(), .rank = dist::rank()});
//   for (auto& batch : loader) {
//       opt.zero_grad();
//       loss_fn((*model)(batch[0]), batch[1]).backward();  // gradients averaged over the ranks during backward
//       opt.step();                                         // so every rank takes the same step
//   }
//
// How (DDP's Reducer): the parameters that require grad are put into buckets of at most bucket_cap_mb (the first one
// first_bucket_mb), in reverse registration order, which is roughly the order backward completes their gradients.
// During backward a hook (autograd/hooks.h) sees each parameter's gradient become complete and copies it into its
// bucket's flat buffer; a full bucket is all-reduced without blocking (dist::all_reduce_async), so communication
// overlaps the rest of backward. Buckets are launched in bucket order, the same on every rank, since collectives match
// by order. When backward ends, buckets still open (parameters that got no gradient, such as an unused layer) are
// launched with zeros in their place, everything is awaited, and each gradient becomes its bucket slice / world_size. A
// parameter that no rank gave a gradient keeps none (a small all-reduce of flags tells). no_sync() turns this off for
// the backwards of gradient accumulation: their gradients add up locally and the next backward outside no_sync()
// averages the sum. With a world of one rank nothing is installed and backward is as without DDP.
#pragma once
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "autograd/hooks.h"
#include "nn/distributed.h"
#include "nn/module.h"

namespace nabla::nn {

struct DistributedDataParallelOptions {
    double bucket_cap_mb = 25;  // torch's default
    // The first bucket (the last layers, whose gradients backward finishes first) is smaller, as torch's (1 MiB), so
    // that communication starts early even for a model that fits in one bucket.
    double first_bucket_mb = 1;
    bool broadcast_buffers = true;  // buffers (running statistics) from rank 0 at construction
};

class DistributedDataParallel {
public:
    // Broadcasts rank 0's parameters (and buffers) to every rank, after checking that every rank has a model of the
    // same size (an Error naming both counts otherwise), and installs the backward hooks for this thread.
    explicit DistributedDataParallel(Module& module, DistributedDataParallelOptions options = {});
    ~DistributedDataParallel();
    DistributedDataParallel(const DistributedDataParallel&) = delete;
    DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

    Module& module() { return module_; }

    // While the returned guard lives, backward leaves gradients local (torch's `with ddp.no_sync():`).
    class NoSyncGuard {
    public:
        explicit NoSyncGuard(DistributedDataParallel& ddp) : ddp_(ddp), previous_(ddp.sync_) { ddp.sync_ = false; }
        ~NoSyncGuard() { ddp_.sync_ = previous_; }
        NoSyncGuard(const NoSyncGuard&) = delete;
        NoSyncGuard& operator=(const NoSyncGuard&) = delete;

    private:
        DistributedDataParallel& ddp_;
        bool previous_;
    };
    NoSyncGuard no_sync() { return NoSyncGuard(*this); }

    int64_t bucket_count() const { return static_cast<int64_t>(buckets_.size()); }
    // The parameters of each bucket, by their index in module().parameters() order (for tests and the docs).
    std::vector<std::vector<int64_t>> bucket_assignment() const;

private:
    struct Slot {  // one parameter's place in its bucket
        Tensor param;
        int64_t index = 0;  // in the module's parameter order
        int64_t bucket = 0, offset = 0;
        bool ready = false, had_grad = false;
    };
    struct Bucket {
        Tensor buffer;  // flat, the dtype of its parameters
        std::vector<size_t> slots;
        int64_t pending = 0;  // slots not ready yet in this backward
        dist::Work work;      // in flight from launch (the buckets before next_bucket_) to the end of backward
    };

    Tensor in_bucket(const Slot& s) const;  // the slot's place in its bucket's buffer, shaped as its parameter
    void on_leaf_ready(TensorImpl& leaf);
    void mark_ready(Slot& slot);
    void launch_ready_buckets();
    void finish_backward();
    void reset();

    Module& module_;
    DistributedDataParallelOptions options_;
    std::vector<Slot> slots_;
    std::vector<Bucket> buckets_;
    std::unordered_map<TensorImpl*, size_t> slot_of_;
    size_t next_bucket_ = 0;  // the next bucket to launch, in order
    bool sync_ = true;
    bool active_ = false;  // this backward touched a parameter of ours
    autograd::BackwardHooks hooks_;
    std::unique_ptr<autograd::BackwardHooksGuard> guard_;
};

}  // namespace nabla::nn
