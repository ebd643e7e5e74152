// tests/models/test_pfld_loss.cpp — models/pfld/loss.h: the weighted PFLD loss on a hand-computed batch, against a
// PyTorch implementation of docs/pfld.md §2 with its gradients (tests/fixtures/make_models.py), gradcheck in float64,
// and errors that name the loss and the shapes.
#include <cmath>
#include <numbers>

#include "models/pfld/loss.h"
#include "support/support.h"

using namespace nabla::models;

namespace {
constexpr double kPi = std::numbers::pi;

Tensor attributes(const std::vector<int64_t>& rows, int64_t n) { return from_vector(rows, {n, 6}); }
}  // namespace

TEST_CASE("pfld_loss: a hand-computed batch (weights 1 and 3 from the attributes)", "[pfld]") {
    // The five weighted flags [1,0,0,0,0] and [1,1,0,0,0] (pose, column 0, is dropped): p = [1, 0.5, 0, 0, 0],
    // r = [1, 2, 256, 256, 256], w_attr = [1, 3].
    const Tensor attrs = attributes({1, 1, 0, 0, 0, 0,  //
                                     0, 1, 1, 0, 0, 0},
                                    2);
    // Angle differences (pi, 0, 0) and (pi/2, pi, 0) "degrees": w_angle = [2, 1 + 2] = [2, 3].
    const Tensor euler_gt = t64({10, 20, 30, -5, 0, 5}, {2, 3});
    Tensor angle = (euler_gt + t64({kPi, 0, 0, kPi / 2, kPi, 0}, {2, 3})).detach().requires_grad_();
    // Landmark errors: one coordinate 0.5 off in sample 0 (l2 = 0.25), two coordinates 1 off in sample 1 (l2 = 2).
    const Tensor gt = rand({2, 196}, {.dtype = kFloat64});
    Tensor d = zeros({2, 196}, {.dtype = kFloat64});
    d.select(0, 0).select(0, 7).fill_(0.5);
    d.select(0, 1).select(0, 0).fill_(1.0);
    d.select(0, 1).select(0, 195).fill_(-1.0);
    Tensor landmarks = (gt + d).detach().requires_grad_();
    const PFLDLoss loss = pfld_loss(attrs, gt, euler_gt, angle, landmarks);
    // weighted = mean(2 * 1 * 0.25, 3 * 3 * 2) = 9.25; l2 = mean(0.25, 2) = 1.125
    REQUIRE(loss.weighted.dim() == 0);
    REQUIRE(loss.weighted.item<double>() == Approx(9.25).epsilon(1e-12));
    REQUIRE(loss.l2.item<double>() == Approx(1.125).epsilon(1e-12));
    loss.weighted.backward();
    // d/dlandmarks[i] = 2 w_angle[i] w_attr[i] (landmarks[i] - gt[i]) / B: factors 2 * 2 * 1 / 2 = 2, 2 * 3 * 3 / 2 = 9
    REQUIRE_THAT(landmarks.grad(), ClosesTo(cat({d.narrow(0, 0, 1) * 2.0, d.narrow(0, 1, 1) * 9.0}, 0), 1e-12, 1e-12));
    // d/dangle[i,k] = w_attr[i] l2[i] sin(angle - gt)[i,k] / B: sample 1, k = 0: 3 * 2 * sin(pi/2) / 2 = 3
    REQUIRE_THAT(angle.grad(), ClosesTo(t64({0, 0, 0, 3, 0, 0}, {2, 3}), 1e-12, 0));
    // The l2 loss alone carries no attribute or angle weight: gradient 2 (landmarks - gt) / B.
    const Tensor fresh = landmarks.detach().requires_grad_();
    pfld_loss(attrs, gt, euler_gt, angle, fresh).l2.backward();
    REQUIRE_THAT(fresh.grad(), ClosesTo(d, 1e-12, 1e-12));
}

TEST_CASE("pfld_loss: equals PyTorch's, gradients included, with an all-zero attribute column", "[pfld]") {
    const TensorMap g = load_fixture("models/pfld_loss");
    Tensor angle = g.at("angle").clone().requires_grad_();
    Tensor landmarks = g.at("landmarks").clone().requires_grad_();
    const PFLDLoss loss =
        pfld_loss(g.at("attribute_gt"), g.at("landmark_gt"), g.at("euler_angle_gt"), angle, landmarks);
    REQUIRE_THAT(loss.weighted, ClosesTo(g.at("weighted"), 1e-12, 1e-12));
    REQUIRE_THAT(loss.l2, ClosesTo(g.at("l2"), 1e-12, 1e-12));
    loss.weighted.backward();
    REQUIRE_THAT(landmarks.grad(), ClosesTo(g.at("grad.landmarks"), 1e-12, 1e-10));
    REQUIRE_THAT(angle.grad(), ClosesTo(g.at("grad.angle"), 1e-12, 1e-10));
    // Sample 3 has none of the five weighted flags: it does not train at all (a known property of the reference).
    REQUIRE(max(abs(landmarks.grad().select(0, 3))).item<double>() == 0.0);
    REQUIRE(max(abs(angle.grad().select(0, 3))).item<double>() == 0.0);
}

TEST_CASE("pfld_loss: gradcheck in float64", "[pfld]") {
    manual_seed(4);
    const Tensor attrs = attributes({0, 1, 0, 1, 0, 0,  //
                                     1, 0, 1, 1, 0, 1,  //
                                     0, 1, 1, 0, 0, 0},
                                    3);
    const Tensor gt = rand({3, 6}, {.dtype = kFloat64});
    const Tensor landmarks = rand({3, 6}, {.dtype = kFloat64, .requires_grad = true});
    const Tensor euler_gt = randn({3, 3}, {.dtype = kFloat64, .requires_grad = true});
    const Tensor angle = randn({3, 3}, {.dtype = kFloat64, .requires_grad = true});
    REQUIRE(
        gradcheck([&](const std::vector<Tensor>& in) { return pfld_loss(attrs, in[0], in[1], in[2], in[3]).weighted; },
                  {gt.detach().requires_grad_(), euler_gt, angle, landmarks}));
    REQUIRE(gradcheck([&](const std::vector<Tensor>& in) { return pfld_loss(attrs, gt, euler_gt, angle, in[0]).l2; },
                      {landmarks}));
}

TEST_CASE("pfld_loss: shapes that do not fit are errors naming the loss and the shapes", "[pfld]") {
    const Tensor a = zeros({2, 6}, {.dtype = kInt64});
    const Tensor lm = zeros({2, 196}), e = zeros({2, 3});
    REQUIRE_THROWS_WITH(pfld_loss(zeros({2, 5}), lm, e, e, lm),
                        Catch::Contains("pfld_loss") && Catch::Contains("attribute_gt [2, 5]"));
    REQUIRE_THROWS_WITH(pfld_loss(a, lm, e, e, zeros({2, 194})),
                        Catch::Contains("pfld_loss") && Catch::Contains("landmarks [2, 194]"));
    REQUIRE_THROWS_WITH(pfld_loss(a, lm, e, zeros({3, 3}), lm),
                        Catch::Contains("pfld_loss") && Catch::Contains("angle [3, 3]"));
    REQUIRE_THROWS_WITH(pfld_loss(a, lm, zeros({2, 2}), e, lm),
                        Catch::Contains("pfld_loss") && Catch::Contains("euler_angle_gt [2, 2]"));
    REQUIRE_THROWS_AS(pfld_loss(a, lm, e, e, zeros({2, 196}, {.dtype = kInt64})), TypeError);
}
