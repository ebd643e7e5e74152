// nn/anomaly.h — finding where a NaN or an infinity first appears in a forward pass: NonFiniteWatch watches every
// module call while it lives and keeps the first whose outputs hold one. Module calls end innermost first, so that
// is the deepest module where the values went bad. The backward half is autograd's anomaly mode
// (DetectAnomalyGuard, autograd/grad_mode.h), which names the op whose backward produced one.
//   nn::NonFiniteWatch watch;
//   Tensor y = (*model)(x);
//   if (watch.first()) fmt::print("{}\n", *watch.first());   // "backbone.conv1 (Conv2d): output 0 [8, 64, 56, 56]"
// Checking costs two passes over every module output: a diagnosis tool, not for every step.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "nn/module.h"

namespace nabla::nn {

class NonFiniteWatch {
public:
    NonFiniteWatch();
    ~NonFiniteWatch();
    NonFiniteWatch(const NonFiniteWatch&) = delete;
    NonFiniteWatch& operator=(const NonFiniteWatch&) = delete;

    // "PATH (Type): output K SHAPE" of the first module call with a non-finite output; nothing while all were finite.
    const std::optional<std::string>& first() const;

private:
    struct Hook;
    std::shared_ptr<Hook> hook_;
    int handle_;
};

}  // namespace nabla::nn
