// tests/dist/dist_net.h — the small network and data that tests/dist/test_distributed.cpp trains in one process and
// that tests/dist/dist_worker.cpp trains on 2 MPI ranks: conv + BatchNorm + relu twice, a mean over the pixels and a
// linear head, plus a layer that forward never uses (DistributedDataParallel must leave it without a gradient).
#pragma once
#include <memory>

#include "autograd/grad_mode.h"
#include "core/generator.h"
#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/normalization.h"
#include "ops/activation.h"
#include "ops/elementwise.h"
#include "ops/factory.h"
#include "ops/loss.h"

namespace nabla::dist_test {

struct Net : nn::Module {
    std::shared_ptr<nn::Conv2d> conv1, conv2;
    std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
    std::shared_ptr<nn::Linear> head, unused;
    Net() : Module("Net") {
        conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(3, 8, 3, nn::Conv2dArgs{.padding = 1}));
        bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(8));
        conv2 =
            register_module("conv2", std::make_shared<nn::Conv2d>(8, 6, 3, nn::Conv2dArgs{.stride = 2, .padding = 1}));
        bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(6));
        head = register_module("head", std::make_shared<nn::Linear>(6, 2));
        unused = register_module("unused", std::make_shared<nn::Linear>(4, 4));
    }
    Tensor forward(const Tensor& x) override {
        Tensor h = relu((*bn1)((*conv1)(x)));
        h = relu((*bn2)((*conv2)(h)));
        return (*head)(h.mean({2, 3}));
    }
};

// The same initial weights everywhere: built under a fixed seed. The DDP runs start their ranks from different
// seeds on purpose, so that only the broadcast from rank 0 makes them equal.
inline std::shared_ptr<Net> make_net(uint64_t seed) {
    manual_seed(seed);
    return std::make_shared<Net>();
}

constexpr int64_t kBatch = 4;  // per rank; the single process takes 2 * kBatch
constexpr int64_t kSteps = 3;

// Step k's global batch: images [2 kBatch, 3, 8, 8] and targets [2 kBatch, 2]; rank r takes rows [r kBatch, ...).
inline std::pair<Tensor, Tensor> global_batch(int64_t step) {
    Generator gen(1000 + static_cast<uint64_t>(step));
    Tensor x = randn({2 * kBatch, 3, 8, 8}, {}, &gen);
    Tensor y = randn({2 * kBatch, 2}, {}, &gen);
    return {x, y};
}

inline Tensor loss_of(Net& net, const Tensor& x, const Tensor& y) { return mse_loss(net(x), y); }

}  // namespace nabla::dist_test
