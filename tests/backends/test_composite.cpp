// tests/backends/test_composite.cpp — backends/composite.cpp: a backend that implements only the primitive kernels
// (copy_, fill_, unary, binary, reduce) gets softmax, binary_cross_entropy_with_logits and the SGD, Adam/AdamW and
// EMA steps from the composite defaults, and they equal the reference backend's fused kernels (float64 to 1e-12,
// float32 to rounding) — and a model trains on it.
#include "backends/reference/reference_backend.h"
#include "nn/optim/adam.h"
#include "ops/optim.h"
#include "support/support.h"

namespace {

// The minimal backend a newcomer writes first: the primitives, here borrowed from the reference backend.
class PrimitivesOnly final : public Backend {
public:
    std::string_view name() const override { return "primitives-only"; }
    void copy_(const Tensor& dst, const Tensor& src) override { ref_.copy_(dst, src); }
    void fill_(const Tensor& dst, double value) override { ref_.fill_(dst, value); }
    void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryArgs args) override {
        ref_.unary(op, x, out, args);
    }
    void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) override {
        ref_.binary(op, a, b, out);
    }
    Tensor reduce(ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim) override {
        return ref_.reduce(op, x, dims, keepdim);
    }

private:
    ReferenceBackend ref_;
};

Tensor copy_of(const Tensor& t) { return t.clone(); }

}  // namespace

TEST_CASE("composite kernels: softmax and log_softmax and their backward equal the fused kernels", "[backends]") {
    PrimitivesOnly prim;
    ReferenceBackend ref;
    manual_seed(0);
    for (DType dt : {kFloat64, kFloat32}) {
        const double tol = dt == kFloat64 ? 1e-12 : 1e-6;
        const Tensor x = (randn({3, 7, 5}) * 4).to(dt);
        const Tensor gy = randn({3, 7, 5}).to(dt);
        for (int64_t dim : {0, 1, 2}) {
            for (bool log : {false, true}) {
                INFO("dim " << dim << " log " << log << " " << dtype_name(dt));
                const Tensor y = ref.softmax(x, dim, log);
                REQUIRE_THAT(prim.softmax(x, dim, log), ClosesTo(y, tol, tol));
                REQUIRE_THAT(prim.softmax_backward(gy, y, dim, log),
                             ClosesTo(ref.softmax_backward(gy, y, dim, log), tol, tol));
            }
        }
    }
}

TEST_CASE("composite kernels: bce_with_logits and its backward, with and without pos_weight", "[backends]") {
    PrimitivesOnly prim;
    ReferenceBackend ref;
    manual_seed(1);
    const Tensor z = randn({4, 9}, {.dtype = kFloat64}) * 8;  // far into both tails of the sigmoid
    const Tensor t = rand({4, 9}, {.dtype = kFloat64});
    const Tensor pw = rand({4, 9}, {.dtype = kFloat64}) * 3;
    const Tensor gy = randn({4, 9}, {.dtype = kFloat64});
    for (const Tensor& weight : {Tensor(), pw}) {
        INFO("pos_weight " << (weight.defined() ? "given" : "none"));
        REQUIRE_THAT(prim.bce_with_logits(z, t, weight), ClosesTo(ref.bce_with_logits(z, t, weight), 1e-12, 1e-10));
        REQUIRE_THAT(prim.bce_with_logits_backward(gy, z, t, weight),
                     ClosesTo(ref.bce_with_logits_backward(gy, z, t, weight), 1e-12, 1e-10));
    }
}

TEST_CASE("composite kernels: SGD, Adam, AdamW and EMA steps equal the fused ones, float32 included", "[backends]") {
    PrimitivesOnly prim;
    ReferenceBackend ref;
    manual_seed(2);
    for (DType dt : {kFloat32, kFloat64}) {
        INFO(dtype_name(dt));
        const Tensor p0 = randn({6, 5}).to(dt), g = randn({6, 5}).to(dt), m0 = randn({6, 5}).to(dt);
        const Tensor v0 = rand({6, 5}).to(dt);
        for (const SgdStepArgs& a : {SgdStepArgs{.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 1e-2},
                                     SgdStepArgs{.lr = 0.05, .momentum = 0.9, .nesterov = true, .first_step = true},
                                     SgdStepArgs{.lr = 0.1, .maximize = true}}) {
            Tensor p1 = copy_of(p0), p2 = copy_of(p0);
            Tensor b1 = a.momentum != 0 ? copy_of(m0) : Tensor(), b2 = a.momentum != 0 ? copy_of(m0) : Tensor();
            prim.sgd_step(p1, g, b1, a);
            ref.sgd_step(p2, g, b2, a);
            REQUIRE_THAT(p1, ClosesTo(p2, 0, 0));
            if (b1.defined()) REQUIRE_THAT(b1, ClosesTo(b2, 0, 0));
        }
        for (const AdamStepArgs& a :
             {AdamStepArgs{.lr = 1e-2, .weight_decay = 1e-2, .step = 3},
              AdamStepArgs{.lr = 1e-3, .weight_decay = 1e-2, .step = 1, .decoupled_weight_decay = true},
              AdamStepArgs{.lr = 1e-3, .step = 7, .maximize = true}}) {
            for (bool amsgrad : {false, true}) {
                INFO("step " << a.step << " amsgrad " << amsgrad);
                Tensor p1 = copy_of(p0), m1 = copy_of(m0), v1 = copy_of(v0),
                       x1 = amsgrad ? copy_of(v0) * 1.5 : Tensor();
                Tensor p2 = copy_of(p0), m2 = copy_of(m0), v2 = copy_of(v0),
                       x2 = amsgrad ? copy_of(v0) * 1.5 : Tensor();
                prim.adam_step(p1, g, m1, v1, x1, a);
                ref.adam_step(p2, g, m2, v2, x2, a);
                // Float32 may differ by the last bit where the compiler contracted a multiply-add in the fused loop.
                const double tol = dt == kFloat32 ? 1e-6 : 1e-15;
                REQUIRE_THAT(p1, ClosesTo(p2, tol, tol));
                REQUIRE_THAT(m1, ClosesTo(m2, tol, tol));
                REQUIRE_THAT(v1, ClosesTo(v2, tol, tol));
                if (amsgrad) REQUIRE_THAT(x1, ClosesTo(x2, tol, tol));
            }
        }
        Tensor e1 = copy_of(p0), e2 = copy_of(p0);
        prim.ema_update(e1, g, 0.999);
        ref.ema_update(e2, g, 0.999);
        REQUIRE_THAT(e1, ClosesTo(e2, 0, 0));
    }
}

TEST_CASE("composite kernels: the primitives alone train a softmax classifier with Adam", "[backends]") {
    // A linear layer by hand (matmul through reduce-free broadcasting: x [N, 4, 1] * w [1, 4, 3] summed over dim 1),
    // cross entropy from the composite log_softmax, and the composite Adam step: the loss must fall.
    PrimitivesOnly prim;
    manual_seed(3);
    const Tensor x = randn({16, 4, 1}, {.dtype = kFloat64});
    const Tensor labels = argmax(sum(x * randn({1, 4, 3}, {.dtype = kFloat64}), {1}), 1);  // a linear rule to learn
    const Tensor target = eq(labels.unsqueeze(1), arange(3).unsqueeze(0)).to(kFloat64);    // one-hot [16, 3]
    Tensor w = randn({1, 4, 3}, {.dtype = kFloat64}) * 0.1;
    Tensor m = zeros_like(w), v = zeros_like(w);
    std::vector<double> losses;
    for (int step = 1; step <= 60; ++step) {
        const Tensor logits = sum(x * w, {1});  // [16, 3]
        const Tensor log_p = prim.softmax(logits, 1, true);
        losses.push_back(-(log_p * target).sum().item<double>() / 16);
        // d loss / d logits = (softmax - target) / N, via the composite backward of log_softmax.
        const Tensor g_logits = prim.softmax_backward(target * (-1.0 / 16), log_p, 1, true);
        const Tensor g_w = sum(x * g_logits.unsqueeze(1), {0}, true);  // [1, 4, 3]
        prim.adam_step(w, g_w, m, v, Tensor(), {.lr = 0.1, .step = static_cast<double>(step)});
    }
    INFO("loss " << losses.front() << " -> " << losses.back());
    REQUIRE(losses.back() < 0.5 * losses.front());
}
