// autograd/hooks.h — code that runs inside backward(): when a leaf's gradient is complete, and when backward ends.
// These are torch's Tensor.register_post_accumulate_grad_hook and the engine's queue_callback, the two that
// DistributedDataParallel (nn/parallel.h) needs to start all-reducing gradients while backward goes on.
//
//   autograd::BackwardHooks hooks{.leaf_ready = [&](TensorImpl& leaf) { ... }, .finished = [&] { ... }};
//   autograd::BackwardHooksGuard guard(hooks);  // for every backward() on this thread while the guard lives
#pragma once
#include <functional>

#include "core/tensor.h"

namespace nabla::autograd {

struct BackwardHooks {
    // Every contribution of this backward has been added to leaf.grad (called once per leaf the graph reaches, as
    // soon as the last node that feeds it has run; leaf.grad stays empty when no gradient reached it).
    std::function<void(TensorImpl& leaf)> leaf_ready;
    std::function<void()> finished;  // after the last node has run (not when a backward function throws)
};

// Installs `hooks` for the backward() calls of this thread; the destructor puts back the ones it replaced.
class BackwardHooksGuard {
public:
    explicit BackwardHooksGuard(const BackwardHooks& hooks);
    ~BackwardHooksGuard();
    BackwardHooksGuard(const BackwardHooksGuard&) = delete;
    BackwardHooksGuard& operator=(const BackwardHooksGuard&) = delete;

private:
    const BackwardHooks* previous_;
};

const BackwardHooks* current_backward_hooks();  // nullptr when none are installed

}  // namespace nabla::autograd
