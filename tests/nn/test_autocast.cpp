// tests/nn/test_autocast.cpp — bfloat16 autocast (core/autocast.h): convolutions, matmuls and linear and their
// gradients under an AutocastGuard stay within bfloat16's rounding of float32 and come back as float32 tensors; the
// guard nests and restores; and a small conv net trained in bf16 follows the float32 training curve (the loss gap after
// 30 Adam steps is bounded), as torch's autocast promises.
#include <oneapi/dnnl/dnnl.hpp>

#include "core/autocast.h"
#include "nn/nn.h"
#include "nn/optim/adam.h"
#include "support/support.h"

TEST_CASE("autocast: the guard sets, nests and restores the thread's precision; bad names are refused", "[autocast]") {
    CHECK(autocast_precision() == Precision::Float32);
    {
        AutocastGuard a(Precision::BFloat16);
        CHECK(autocast_precision() == Precision::BFloat16);
        {
            AutocastGuard b(Precision::Float32);
            CHECK(autocast_precision() == Precision::Float32);
        }
        CHECK(autocast_precision() == Precision::BFloat16);
    }
    CHECK(autocast_precision() == Precision::Float32);
    CHECK(parse_precision("bf16") == Precision::BFloat16);
    CHECK(parse_precision("fp32") == Precision::Float32);
    CHECK_THROWS_WITH(parse_precision("fp16"), Catch::Contains("fp16"));
}

TEST_CASE("autocast: bf16 convolutions and gradients are float32 tensors within bfloat16 rounding", "[autocast]") {
    Generator gen(8);
    for (MemoryFormat f : {MemoryFormat::ChannelsLast, MemoryFormat::Contiguous}) {
        INFO("channels-last " << (f == MemoryFormat::ChannelsLast));
        Tensor x0 = randn({2, 16, 9, 9}, {}, &gen).contiguous(f), w0 = randn({24, 16, 3, 3}, {}, &gen) * 0.1;
        Tensor b0 = randn({24}, {}, &gen), gy = randn({2, 24, 9, 9}, {}, &gen).contiguous(f);
        auto run = [&](Precision p) {
            Tensor x = x0.clone(f).requires_grad_(), w = w0.clone().requires_grad_(), b = b0.clone().requires_grad_();
            Tensor y;
            {
                AutocastGuard amp(p);
                y = conv2d(x, w, b, {.padding = 1});
            }
            y.backward(gy);  // outside the guard: the node kept the precision it was recorded in
            return std::vector<Tensor>{y, x.grad(), w.grad(), b.grad()};
        };
        const auto full = run(Precision::Float32), half = run(Precision::BFloat16);
        for (size_t i = 0; i < full.size(); ++i) {
            INFO("output " << i);
            CHECK(half[i].dtype() == kFloat32);
            // bfloat16 keeps 8 significant bits: a relative error of 2^-9 per input, summed over 144 products
            const double scale = max(abs(full[i])).item<double>();
            REQUIRE_THAT(half[i], ClosesTo(full[i], 0.02 * scale, 0.02));
        }
    }
}

TEST_CASE("autocast: bf16 matmul, bmm and linear and their gradients are float32 within bfloat16 rounding",
          "[autocast]") {
    Generator gen(10);
    const Tensor a0 = randn({3, 20, 48}, {}, &gen), b0 = randn({3, 16, 48}, {}, &gen);  // b used transposed
    const Tensor x0 = randn({10, 48}, {}, &gen), w0 = randn({24, 48}, {}, &gen), bias0 = randn({24}, {}, &gen);
    auto run = [&](Precision p) {
        Tensor a = a0.clone().requires_grad_(), b = b0.clone().requires_grad_();
        Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_(), bias = bias0.clone().requires_grad_();
        Tensor y1, y2;
        {
            AutocastGuard amp(p);
            y1 = bmm(a, b.transpose(1, 2));  // a strided operand, read in place
            y2 = linear(x, w, bias);
        }
        (y1.sum() + (y2 * y2).sum()).backward();  // outside the guard: each node kept its precision
        return std::vector<Tensor>{y1, y2, a.grad(), b.grad(), x.grad(), w.grad(), bias.grad()};
    };
    const auto f32 = run(Precision::Float32), b16 = run(Precision::BFloat16);
    for (size_t i = 0; i < f32.size(); ++i) {
        INFO("output " << i);
        CHECK(b16[i].dtype() == kFloat32);
        const double scale = max(abs(f32[i])).item<double>();
        REQUIRE_THAT(b16[i], ClosesTo(f32[i], 0.02 * scale, 0.02));
    }
    // The product really ran in bfloat16 where oneDNN has a bf16 matmul (AVX-512 and up): 1 + 2^-10 has no bfloat16
    // (8 significant bits), so it is read as 1.
    Tensor one = full({1, 1, 1}, 1.0 + 1.0 / 1024), unit = ones({1, 1, 1});
    Tensor p;
    {
        AutocastGuard amp(Precision::BFloat16);
        p = bmm(one, unit);
    }
    if (dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core)
        CHECK(p.item<double>() == 1.0);
    else
        WARN("no AVX-512: oneDNN has no bfloat16 matmul here, the product stays float32");
    CHECK(bmm(one, unit).item<double>() == 1.0 + 1.0 / 1024);  // outside the guard: float32
}

TEST_CASE("autocast: a conv net trained in bf16 follows the float32 loss curve", "[autocast]") {
    Generator gen(9);
    Tensor x = randn({8, 3, 12, 12}, {}, &gen).contiguous(MemoryFormat::ChannelsLast);
    Tensor target = randn({8, 4, 12, 12}, {}, &gen);
    auto train = [&](Precision p) {
        manual_seed(1);
        nn::Sequential net({std::make_shared<nn::Conv2d>(3, 16, 3, nn::Conv2dArgs{.padding = 1}),
                            std::make_shared<nn::BatchNorm2d>(16), std::make_shared<nn::ReLU>(),
                            std::make_shared<nn::Conv2d>(16, 4, 3, nn::Conv2dArgs{.padding = 1})});
        optim::Adam opt(net.parameters(), {.lr = 1e-2});
        std::vector<double> losses;
        for (int step = 0; step < 30; ++step) {
            opt.zero_grad();
            Tensor loss;
            {
                AutocastGuard amp(p);
                loss = mse_loss(net(x), target);
            }
            loss.backward();
            opt.step();
            losses.push_back(loss.item<double>());
        }
        return losses;
    };
    const auto full = train(Precision::Float32), half = train(Precision::BFloat16);
    INFO("fp32 " << full.front() << " -> " << full.back() << ", bf16 " << half.front() << " -> " << half.back());
    CHECK(half.back() < 0.8 * half.front());  // it learns
    CHECK(std::abs(half.back() - full.back()) < 0.05 * full.front());
    for (size_t i = 0; i < full.size(); ++i) CHECK(std::abs(half[i] - full[i]) < 0.05 * full.front());
}
