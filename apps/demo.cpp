// apps/demo.cpp — `nabla demo`: the engine end to end on generated data, until the real trainers land.
//
// Task: segment bright disks in noisy grey images (a miniature of U^2-Net's salient-object masks).
// Net: conv3x3(1->16) BN ReLU -> maxpool2 -> conv3x3(16->32) BN ReLU -> bilinear x2 -> conv1x1(32->1) -> logits,
// trained with BCE-with-logits and Adam. It prints the loss as it falls and the IoU on held-out images, and fails
// (exit 1) if the loss did not fall, so the README's main command is also a smoke test.
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "apps/commands.h"
#include "ops/batch_norm.h"
#include "ops/conv.h"
#include "ops/interpolate.h"
#include "ops/loss.h"
#include "ops/ops.h"
#include "ops/pool.h"

namespace nabla::apps {
namespace {

struct DemoOptions {
    int64_t steps = 200, batch = 16, size = 64;
    double lr = 0.01;
    uint64_t seed = 0;
};

// Images [B, 1, S, S] with 1-3 disks of brightness ~0.8 on noise; masks [B, 1, S, S] in {0, 1}.
std::pair<Tensor, Tensor> make_batch(int64_t b, int64_t s, Generator& g) {
    Tensor img = zeros({b, 1, s, s}), mask = zeros({b, 1, s, s});
    float* pi = img.data_ptr<float>();
    float* pm = mask.data_ptr<float>();
    for (int64_t n = 0; n < b; ++n) {
        const int64_t disks = 1 + g.randint(0, 3);
        for (int64_t k = 0; k < disks; ++k) {
            const double cy = g.uniform() * s, cx = g.uniform() * s, r = 3 + g.uniform() * s / 5;
            for (int64_t y = 0; y < s; ++y)
                for (int64_t x = 0; x < s; ++x)
                    if ((y - cy) * (y - cy) + (x - cx) * (x - cx) <= r * r) pm[(n * s + y) * s + x] = 1;
        }
        for (int64_t i = 0; i < s * s; ++i)
            pi[n * s * s + i] = static_cast<float>(0.2 + 0.6 * pm[n * s * s + i] + 0.25 * g.normal());
    }
    return {img, mask};
}

struct Net {
    Tensor w1, b1, g1, be1, rm1, rv1, w2, b2, g2, be2, rm2, rv2, w3, b3;

    explicit Net(Generator& g) {
        auto param = [&](const Shape& shape, int64_t fan_in) {  // PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
            return (rand(shape, {}, &g) * (2 * bound) - bound).detach().requires_grad_();
        };
        w1 = param({16, 1, 3, 3}, 9), b1 = param({16}, 9);
        w2 = param({32, 16, 3, 3}, 144), b2 = param({32}, 144);
        w3 = param({1, 32, 1, 1}, 32), b3 = param({1}, 32);
        g1 = ones({16}).requires_grad_(), be1 = zeros({16}).requires_grad_(), rm1 = zeros({16}), rv1 = ones({16});
        g2 = ones({32}).requires_grad_(), be2 = zeros({32}).requires_grad_(), rm2 = zeros({32}), rv2 = ones({32});
    }
    std::vector<Tensor> parameters() const { return {w1, b1, g1, be1, w2, b2, g2, be2, w3, b3}; }

    Tensor forward(const Tensor& x, bool training) const {                                      // x: [B, 1, S, S]
        Tensor h = relu(batch_norm(conv2d(x, w1, b1, {.padding = 1}), rm1, rv1, g1, be1, training));  // [B, 16, S, S]
        h = max_pool2d(h, {.kernel_size = 2});                                                 // [B, 16, S/2, S/2]
        h = relu(batch_norm(conv2d(h, w2, b2, {.padding = 1}), rm2, rv2, g2, be2, training));  // [B, 32, S/2, S/2]
        h = interpolate(h, {.size = Int2{x.size(2), x.size(3)}, .mode = InterpolateMode::Bilinear});  // [B, 32, S, S]
        return conv2d(h, w3, b3);                                                             // [B, 1, S, S] logits
    }
};

// Adam (PyTorch's defaults: betas 0.9, 0.999, eps 1e-8), written out; nn/optim will own the real one.
struct Adam {
    std::vector<Tensor> params, m, v;
    double lr;
    int64_t t = 0;
    Adam(std::vector<Tensor> p, double lr_) : params(std::move(p)), lr(lr_) {
        for (const Tensor& q : params) m.push_back(zeros_like(q)), v.push_back(zeros_like(q));
    }
    void step() {
        NoGradGuard no_grad;
        ++t;
        const double c1 = 1 - std::pow(0.9, static_cast<double>(t)), c2 = 1 - std::pow(0.999, static_cast<double>(t));
        for (size_t i = 0; i < params.size(); ++i) {
            Tensor g = params[i].grad();
            if (!g.defined()) continue;
            m[i].mul_(0.9).add_(g, 0.1);
            v[i].mul_(0.999).add_(g * g, 0.001);
            params[i].sub_(m[i] / (sqrt(v[i] / c2) + 1e-8), lr / c1);
            params[i].set_grad(Tensor());
        }
    }
};

int run_demo(const DemoOptions& o) {
    Generator gen(o.seed);
    Net net(gen);
    Adam opt(net.parameters(), o.lr);
    fmt::print("nabla demo: segmenting disks in {}x{} noisy images, batch {}, {} steps, Adam lr {}\n", o.size, o.size,
               o.batch, o.steps, o.lr);
    const auto start = std::chrono::steady_clock::now();
    double first = 0, last = 0, running = 0;
    for (int64_t step = 1; step <= o.steps; ++step) {
        auto [x, y] = make_batch(o.batch, o.size, gen);
        Tensor loss = binary_cross_entropy_with_logits(net.forward(x, true), y);
        loss.backward();
        opt.step();
        const double l = loss.item<double>();
        running = step == 1 ? l : 0.9 * running + 0.1 * l;
        if (step == 1) first = l;
        last = running;
        if (step % 10 == 0 || step == 1) {
            const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            fmt::print("step {:>4}/{}  loss {:.4f}  (avg {:.4f})  {:.1f} it/s\n", step, o.steps, l, running, step / secs);
        }
    }
    // Held-out IoU of the thresholded prediction.
    NoGradGuard no_grad;
    auto [x, y] = make_batch(64, o.size, gen);
    Tensor pred = gt(net.forward(x, false), 0.0).to(kFloat32);
    const double inter = sum(pred * y).item<double>(), uni = sum(maximum(pred, y)).item<double>();
    fmt::print("loss {:.4f} -> {:.4f}; held-out IoU {:.3f} on 64 images\n", first, last, inter / std::max(uni, 1.0));
    if (!(last < 0.7 * first)) {
        fmt::print(stderr, "demo: the loss did not fall by 30% ({:.4f} -> {:.4f})\n", first, last);
        return 1;
    }
    return 0;
}

}  // namespace

void add_demo_command(CLI::App& app) {
    auto opts = std::make_shared<DemoOptions>();
    auto* cmd = app.add_subcommand("demo", "Train a small conv net on generated disk-segmentation data and print the loss");
    cmd->add_option("--steps", opts->steps, "Training steps")->capture_default_str();
    cmd->add_option("--batch", opts->batch, "Images per step")->capture_default_str();
    cmd->add_option("--size", opts->size, "Image side in pixels (even)")->capture_default_str();
    cmd->add_option("--lr", opts->lr, "Adam learning rate")->capture_default_str();
    cmd->add_option("--seed", opts->seed, "Seed of the data and the initial weights")->capture_default_str();
    cmd->callback([opts] {
        if (int rc = run_demo(*opts); rc != 0) throw CLI::RuntimeError(rc);
    });
}

}  // namespace nabla::apps
