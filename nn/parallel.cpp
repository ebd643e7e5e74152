// nn/parallel.cpp — DistributedDataParallel (nn/parallel.h): the buckets, the backward hooks, the averaging.
#include "nn/parallel.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "ops/factory.h"

namespace nabla::nn {

namespace {

void broadcast_all(std::vector<Tensor> tensors) {
    NoGradGuard no_grad;
    for (Tensor& t : tensors) {
        if (!t.defined()) continue;
        if (t.is_contiguous()) {
            dist::broadcast_(t, 0);
        } else {
            Tensor flat = t.contiguous();
            dist::broadcast_(flat, 0);
            t.copy_(flat);
        }
    }
}

}  // namespace

DistributedDataParallel::DistributedDataParallel(Module& module, DistributedDataParallelOptions options)
    : module_(module), options_(options) {
    NB_CHECK_VALUE(options.bucket_cap_mb > 0, "DistributedDataParallel: bucket_cap_mb must be positive, got ",
                   options.bucket_cap_mb);
    const std::vector<Tensor> params = module.parameters();
    // Every rank must hold the same model: compare the number of parameters and of their elements.
    double numel = 0;
    for (const Tensor& p : params) numel += static_cast<double>(p.numel());
    const std::vector<double> mine{static_cast<double>(params.size()), numel};
    const std::vector<double> lo = dist::all_reduce(mine, dist::ReduceOp::min);
    const std::vector<double> hi = dist::all_reduce(mine, dist::ReduceOp::max);
    NB_CHECK_VALUE(lo == hi, "DistributedDataParallel: the ranks hold different models: between ", lo[0], " and ",
                   hi[0], " parameter tensors, between ", lo[1], " and ", hi[1], " elements (this rank: ", mine[0],
                   " and ", mine[1], ")");
    broadcast_all(params);
    if (options.broadcast_buffers) broadcast_all(module.buffers());
    if (dist::world_size() == 1) return;

    // Buckets in reverse parameter order, each of one dtype and at most its cap (a larger tensor alone).
    const auto cap_bytes = [&] {
        const bool first = buckets_.size() == 1;
        return (first ? std::min(options.first_bucket_mb, options.bucket_cap_mb) : options.bucket_cap_mb) * 1024 * 1024;
    };
    double bucket_bytes = 0;
    for (int64_t i = static_cast<int64_t>(params.size()) - 1; i >= 0; --i) {
        const Tensor& p = params[static_cast<size_t>(i)];
        if (!p.requires_grad()) continue;
        const double bytes = static_cast<double>(p.numel() * static_cast<int64_t>(element_size(p.dtype())));
        const bool fits = !buckets_.empty() && bucket_bytes + bytes <= cap_bytes() &&
                          slots_[buckets_.back().slots.back()].param.dtype() == p.dtype();
        if (!fits) {
            buckets_.emplace_back();
            bucket_bytes = 0;
        }
        bucket_bytes += bytes;
        Slot s{.param = p, .index = i, .bucket = static_cast<int64_t>(buckets_.size()) - 1};
        buckets_.back().slots.push_back(slots_.size());
        slot_of_[p.impl()] = slots_.size();
        slots_.push_back(std::move(s));
    }
    for (Bucket& b : buckets_) {
        int64_t n = 0;
        for (size_t k : b.slots) {
            slots_[k].offset = n;
            n += slots_[k].param.numel();
        }
        b.buffer = zeros({n}, TensorOptions{.dtype = slots_[b.slots.front()].param.dtype()});
    }
    reset();
    hooks_.leaf_ready = [this](TensorImpl& leaf) { on_leaf_ready(leaf); };
    hooks_.finished = [this] { finish_backward(); };
    guard_ = std::make_unique<autograd::BackwardHooksGuard>(hooks_);
}

DistributedDataParallel::~DistributedDataParallel() = default;

std::vector<std::vector<int64_t>> DistributedDataParallel::bucket_assignment() const {
    std::vector<std::vector<int64_t>> out;
    for (const Bucket& b : buckets_) {
        out.emplace_back();
        for (size_t k : b.slots) out.back().push_back(slots_[k].index);
    }
    return out;
}

void DistributedDataParallel::reset() {
    for (Slot& s : slots_) s.ready = s.had_grad = false;
    for (Bucket& b : buckets_) b.pending = static_cast<int64_t>(b.slots.size());
    next_bucket_ = 0;
    active_ = false;
}

void DistributedDataParallel::on_leaf_ready(TensorImpl& leaf) {
    if (!sync_) return;
    const auto it = slot_of_.find(&leaf);
    if (it == slot_of_.end()) return;  // not one of our parameters (an input that requires grad, another model)
    active_ = true;
    Slot& s = slots_[it->second];
    if (s.ready) return;
    s.had_grad = leaf.grad != nullptr;
    mark_ready(s);
    launch_ready_buckets();
}

Tensor DistributedDataParallel::in_bucket(const Slot& s) const {
    return buckets_[static_cast<size_t>(s.bucket)].buffer.narrow(0, s.offset, s.param.numel()).view(s.param.shape());
}

// Copies the slot's gradient (zeros when it has none) into its bucket.
void DistributedDataParallel::mark_ready(Slot& s) {
    NoGradGuard no_grad;
    Tensor view = in_bucket(s);
    const Tensor grad = s.param.grad();
    if (grad.defined())
        view.copy_(grad);
    else
        view.zero_();
    s.ready = true;
    --buckets_[static_cast<size_t>(s.bucket)].pending;
}

void DistributedDataParallel::launch_ready_buckets() {
    while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0) {
        Bucket& b = buckets_[next_bucket_++];
        b.work = dist::all_reduce_async(b.buffer);
    }
    for (size_t k = 0; k < next_bucket_; ++k) buckets_[k].work.test();  // MPI progresses the ones in flight
}

void DistributedDataParallel::finish_backward() {
    if (!sync_ || !active_) return;
    for (Slot& s : slots_)  // parameters this backward did not reach
        if (!s.ready) mark_ready(s);
    launch_ready_buckets();
    // Which parameters got a gradient on some rank: those keep (or get) one.
    std::vector<double> had(slots_.size());
    for (size_t k = 0; k < slots_.size(); ++k) had[k] = slots_[k].had_grad ? 1.0 : 0.0;
    had = dist::all_reduce(std::move(had));
    NoGradGuard no_grad;
    const double scale = 1.0 / dist::world_size();
    for (Bucket& b : buckets_) {
        b.work.wait();
        b.buffer.mul_(scale);
    }
    for (size_t k = 0; k < slots_.size(); ++k) {
        Slot& s = slots_[k];
        if (had[k] == 0) continue;
        const Tensor averaged = in_bucket(s);
        Tensor grad = s.param.grad();
        if (grad.defined())
            grad.copy_(averaged);
        else
            s.param.set_grad(averaged.clone());
    }
    reset();
}

}  // namespace nabla::nn
