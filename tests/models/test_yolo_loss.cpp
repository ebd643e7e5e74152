// tests/models/test_yolo_loss.cpp — models/yolo/loss.h: build_targets on hand-made targets (neighbour cells, the
// anchor-ratio test, the clamp at the image border, a non-square grid), CIoU/DIoU/GIoU of hand-checked boxes, the
// loss and its gradients against a PyTorch implementation of docs/yolo_loss.md (tests/fixtures/make_yolo_loss.py),
// gradcheck in float64, train.py's gain scaling, empty targets, and errors that name the loss and the shapes.
#include <array>
#include <cmath>
#include <numbers>

#include "models/yolo/loss.h"
#include "support/support.h"

using namespace nabla::models;

namespace {

// The values of an int64 tensor.
std::vector<int64_t> ints(const Tensor& t) {
    REQUIRE(t.dtype() == kInt64);
    const Tensor c = t.contiguous();
    return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

// The rows of one level as (b, a, gj, gi) tuples, for readable comparisons.
std::vector<std::array<int64_t, 4>> rows_of(const YoloLevelTargets& lt) {
    std::vector<std::array<int64_t, 4>> rows;
    for (int64_t k = 0; k < lt.b.size(0); ++k)
        rows.push_back({lt.b.select(0, k).item<int64_t>(), lt.a.select(0, k).item<int64_t>(),
                        lt.gj.select(0, k).item<int64_t>(), lt.gi.select(0, k).item<int64_t>()});
    return rows;
}

std::vector<Tensor> maps_of(const TensorMap& g, bool requires_grad = true) {
    std::vector<Tensor> p;
    for (int i = 0; i < 3; ++i) p.push_back(g.at("p" + std::to_string(i)).clone().requires_grad_(requires_grad));
    return p;
}

// Runs yolo_loss on a golden case and compares the loss, the items and every gradient.
void require_golden(const std::string& name, int64_t nc, const YoloLossOptions& o, double tol) {
    INFO("case " << name);
    const TensorMap g = load_fixture("models/yolo_loss_" + name);
    const std::vector<Tensor> p = maps_of(g);
    const YoloLoss loss = yolo_loss(p, g.at("targets"), g.at("anchors"), nc, o);
    REQUIRE(loss.total.dim() == 0);
    REQUIRE_THAT(loss.total, ClosesTo(g.at("total"), tol, tol));
    REQUIRE_THAT(loss.items, ClosesTo(g.at("items"), tol, tol));
    REQUIRE_FALSE(loss.items.requires_grad());
    loss.total.backward();
    for (int i = 0; i < 3; ++i) {
        INFO("level " << i);
        REQUIRE_THAT(p[i].grad(), ClosesTo(g.at("grad.p" + std::to_string(i)), tol, tol * 100));
    }
}

}  // namespace

TEST_CASE("build_targets: neighbour cells, the anchor-ratio test and the clamp, by hand", "[yolo]") {
    // One 8x8 level, anchors (1, 1) and (2, 2) in grid units. Targets (image, class, x, y, w, h):
    const Tensor targets = t64({0, 0, 0.15, 0.15, 0.0625, 0.0625,  // A (1.2, 1.2), w 0.5: anchor 0 only (ratio 4 to
                                                                   //   anchor 1 is not < 4); left and up neighbours
                                1, 2, 0.5625, 0.5625, 0.25, 0.25,  // B (4.5, 4.5) a cell centre: no neighbour; w 2
                                                                   //   fits both anchors
                                0, 1, 0.5, 0.5, 1.0, 1.0,          // C w 8: ratio 8 and 4, no anchor takes it
                                1, 1, 0.7, 0.7, 0.0625, 0.0625,    // D (5.6, 5.6): right and down neighbours
                                0, 0, 0.05, 1.0, 0.0625, 0.0625},  // E (0.4, 8): gj 8 clamped to 7, and an up row
                                                                   //   in the same cell; gx < 1: no left
                               {5, 6});
    const Tensor anchors = t64({1, 1, 2, 2}, {1, 2, 2});
    const std::vector<YoloLevelTargets> levels = build_targets({zeros({2, 2, 8, 8, 8})}, targets, anchors);
    REQUIRE(levels.size() == 1);
    const YoloLevelTargets& lt = levels[0];
    // Centre rows (anchor 0: A, B, D, E; anchor 1: B), then left (A), up (A, E), right (D), down (D).
    const std::vector<std::array<int64_t, 4>> expected = {{0, 0, 1, 1}, {1, 0, 4, 4}, {1, 0, 5, 5},
                                                          {0, 0, 7, 0}, {1, 1, 4, 4},  // centre
                                                          {0, 0, 1, 0},                // left of A
                                                          {0, 0, 0, 1}, {0, 0, 7, 0},  // up of A, of E (7.5 -> 7)
                                                          {1, 0, 5, 6},                // right of D
                                                          {1, 0, 6, 5}};               // down of D
    REQUIRE(rows_of(lt) == expected);
    REQUIRE(lt.b.dtype() == kInt64);
    REQUIRE(lt.gi.dtype() == kInt64);
    REQUIRE(ints(lt.tcls) == std::vector<int64_t>{0, 2, 1, 0, 2, 0, 0, 0, 1, 1});
    REQUIRE_THAT(lt.tbox, ClosesTo(t64({0.2,  0.2,  0.5, 0.5,  //
                                        0.5,  0.5,  2,   2,    //
                                        0.6,  0.6,  0.5, 0.5,  //
                                        0.4,  1.0,  0.5, 0.5,  // E: y - gj = 8 - 7
                                        0.5,  0.5,  2,   2,    //
                                        1.2,  0.2,  0.5, 0.5,  // left: x - gi = 1.2 - 0
                                        0.2,  1.2,  0.5, 0.5,  // up
                                        0.4,  1.0,  0.5, 0.5,  //
                                        -0.4, 0.6,  0.5, 0.5,  // right: 5.6 - 6
                                        0.6,  -0.4, 0.5, 0.5},
                                       {10, 4}),
                                   1e-12, 0));
    REQUIRE_THAT(lt.anch, ClosesTo(t64({1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {10, 2}), 0, 0));
}

TEST_CASE("build_targets: x goes with the columns and y with the rows of a non-square grid", "[yolo]") {
    // ny = 2, nx = 4: (0.3, 0.8) -> (1.2, 1.6), w = h = 1 grid cell; a left neighbour, no down one (0.4 from the edge).
    const std::vector<YoloLevelTargets> levels =
        build_targets({zeros({1, 1, 2, 4, 6})}, t64({0, 0, 0.3, 0.8, 0.25, 0.5}, {1, 6}), t64({1, 1}, {1, 1, 2}));
    REQUIRE(rows_of(levels[0]) == std::vector<std::array<int64_t, 4>>{{0, 0, 1, 1}, {0, 0, 1, 0}});
    REQUIRE_THAT(levels[0].tbox, ClosesTo(t64({0.2, 0.6, 1, 1, 1.2, 0.6, 1, 1}, {2, 4}), 1e-12, 0));
}

TEST_CASE("build_targets: equals the PyTorch rows on every level, with no targets too", "[yolo]") {
    for (const char* name : {"nc3", "nc3_f32", "empty"}) {
        INFO("case " << name);
        const TensorMap g = load_fixture(std::string("models/yolo_loss_") + name);
        const std::vector<YoloLevelTargets> levels = build_targets(maps_of(g, false), g.at("targets"), g.at("anchors"));
        for (size_t i = 0; i < levels.size(); ++i) {
            INFO("level " << i);
            const std::string t = "t" + std::to_string(i) + ".";
            const YoloLevelTargets& lt = levels[i];
            const std::vector<std::pair<std::string, Tensor>> indices = {
                {"b", lt.b}, {"a", lt.a}, {"gj", lt.gj}, {"gi", lt.gi}, {"tcls", lt.tcls}};
            for (const auto& [key, got] : indices) {
                INFO(key);
                REQUIRE(ints(got) == ints(g.at(t + key)));
            }
            REQUIRE(lt.tbox.dtype() == g.at("targets").dtype());
            REQUIRE_THAT(lt.tbox, ClosesTo(g.at(t + "tbox"), 0, 0));  // the same arithmetic, the same rounding
            REQUIRE_THAT(lt.anch, ClosesTo(g.at(t + "anch"), 0, 0));
        }
    }
}

TEST_CASE("bbox_iou: CIoU, DIoU and GIoU of hand-checked boxes", "[yolo]") {
    // xywh pairs: identical; disjoint side by side (centres 3 apart, enclosing box 4 x 1); the same centre with
    // aspect ratios 1 and 2 (IoU 2 / 4).
    const Tensor a = t64({0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 2, 2}, {3, 4});
    const Tensor b = t64({0, 0, 1, 1, 3, 0, 1, 1, 0, 0, 2, 1}, {3, 4});
    const double v = 4 / (std::numbers::pi * std::numbers::pi) * std::pow(std::atan(2.0) - std::atan(1.0), 2);
    const double alpha = v / (v - 0.5 + 1);
    REQUIRE_THAT(bbox_iou(a, b, false, IoUKind::CIoU), ClosesTo(t64({1, -9.0 / 17, 0.5 - v * alpha}), 1e-6, 0));
    REQUIRE_THAT(bbox_iou(a, b, false, IoUKind::DIoU), ClosesTo(t64({1, -9.0 / 17, 0.5}), 1e-6, 0));
    REQUIRE_THAT(bbox_iou(a, b, false, IoUKind::GIoU), ClosesTo(t64({1, -0.5, 0.5}), 1e-6, 0));
    REQUIRE_THAT(bbox_iou(a, b, false), ClosesTo(t64({1, 0, 0.5}), 1e-6, 0));
    // The same boxes as corners.
    const Tensor ca = t64({0, 0, 1, 1}, {1, 4}), cb = t64({3, 0, 4, 1}, {1, 4});
    REQUIRE_THAT(bbox_iou(ca, cb, true, IoUKind::CIoU), ClosesTo(t64({-9.0 / 17}), 1e-6, 0));
    // Every variant is differentiable where the boxes overlap partly (CIoU's alpha is a constant, gradcheck cannot
    // see that: the PyTorch goldens below check its gradient).
    manual_seed(3);
    const Tensor p = (t64({0.1, 0.2, 1.3, 0.9, 2.0, 1.0, 1.5, 2.5}, {2, 4}) + 0.01 * randn({2, 4}, {.dtype = kFloat64}))
                         .requires_grad_();
    const Tensor t = t64({0.3, 0.1, 1.0, 1.2, 2.4, 1.3, 1.1, 2.0}, {2, 4});
    for (IoUKind kind : {IoUKind::IoU, IoUKind::GIoU, IoUKind::DIoU}) {
        INFO("kind " << static_cast<int>(kind));
        REQUIRE(gradcheck([&](const std::vector<Tensor>& in) { return bbox_iou(in[0], t, false, kind); }, {p}));
    }
    REQUIRE_THROWS_WITH(bbox_iou(zeros({2, 4}), zeros({3, 4})),
                        Catch::Contains("bbox_iou") && Catch::Contains("[2, 4]") && Catch::Contains("[3, 4]"));
}

TEST_CASE("yolo_loss: equals PyTorch's, gradients included", "[yolo]") {
    require_golden("nc3", 3, {}, 1e-12);
    require_golden("nc1", 1, {}, 1e-12);  // one class: no class term
    require_golden("empty", 3, {}, 1e-12);
    require_golden("nc3_f32", 3, {}, 1e-5);
    const YoloLossOptions o = {.box = 0.04,
                               .obj = 0.8,
                               .cls = 0.3,
                               .cls_pw = 2.0,
                               .obj_pw = 0.7,
                               .anchor_t = 3.0,
                               .fl_gamma = 1.5,
                               .label_smoothing = 0.1,
                               .gr = 0.5,
                               .autobalance = true,
                               .sort_obj_iou = true};
    require_golden("options", 3, o, 1e-12);
    const TensorMap g = load_fixture("models/yolo_loss_options");
    const YoloLoss loss = yolo_loss(maps_of(g, false), g.at("targets"), g.at("anchors"), 3, o);
    REQUIRE_THAT(from_vector(loss.balance, {3}), ClosesTo(g.at("balance"), 1e-12, 1e-12));
}

TEST_CASE("yolo_loss: strided maps (Detect's permuted output) give the same loss", "[yolo]") {
    const TensorMap g = load_fixture("models/yolo_loss_nc3");
    std::vector<Tensor> p;
    for (const Tensor& m : maps_of(g, false)) p.push_back(noncontiguous(m).requires_grad_());
    REQUIRE_FALSE(p[0].is_contiguous());
    const YoloLoss loss = yolo_loss(p, g.at("targets"), g.at("anchors"), 3);
    REQUIRE_THAT(loss.total, ClosesTo(g.at("total"), 1e-12, 1e-12));
    loss.total.backward();
    REQUIRE_THAT(p[1].grad(), ClosesTo(g.at("grad.p1"), 1e-12, 1e-10));
}

TEST_CASE("yolo_loss: empty targets leave only the objectness term, against all-zero targets", "[yolo]") {
    manual_seed(5);
    std::vector<Tensor> p;
    for (int64_t s : {4, 2}) p.push_back(randn({2, 1, s, s, 7}, {.dtype = kFloat64, .requires_grad = true}));
    const YoloLossOptions o = {.balance = {2.0, 0.5}};
    const YoloLoss loss = yolo_loss(p, zeros({0, 6}, {.dtype = kFloat64}), t64({1, 1, 2, 2}, {2, 1, 2}), 2, o);
    // lobj = obj * sum_i balance_i mean BCE(z, 0) = mean softplus(z); total = lobj * B.
    const Tensor lobj = (mean(softplus(p[0].select(4, 4))) * 2.0 + mean(softplus(p[1].select(4, 4))) * 0.5).detach();
    REQUIRE_THAT(
        loss.items,
        ClosesTo(stack({zeros({}, {.dtype = kFloat64}), lobj, zeros({}, {.dtype = kFloat64}), lobj}), 1e-12, 1e-12));
    REQUIRE_THAT(loss.total, ClosesTo(lobj * 2.0, 1e-12, 1e-12));
    loss.total.backward();
    for (const Tensor& m : p) {  // no box or class gradient
        REQUIRE(max(abs(m.grad().slice(4, 0, 4))).item<double>() == 0.0);
        REQUIRE(max(abs(m.grad().slice(4, 5, 7))).item<double>() == 0.0);
    }
}

TEST_CASE("yolo_loss: gradcheck in float64 of the objectness and class logits", "[yolo]") {
    // With the box logits held constant, the detached IoU (objectness target) and CIoU's alpha are constants and the
    // loss is differentiable in the rest; the box gradient is checked against PyTorch above.
    manual_seed(6);
    const Tensor anchors = t64({1.0, 1.5, 2.0, 1.0, 1.5, 1.0, 2.0, 2.5}, {2, 2, 2});
    const Tensor targets = t64({0, 1, 0.30, 0.40, 0.3, 0.4,  //
                                1, 0, 0.70, 0.65, 0.5, 0.3},
                               {2, 6});
    std::vector<Tensor> boxes, rest;
    for (int64_t s : {4, 2}) {
        boxes.push_back(randn({2, 2, s, s, 4}, {.dtype = kFloat64}));
        rest.push_back(randn({2, 2, s, s, 3}, {.dtype = kFloat64, .requires_grad = true}));
    }
    for (const YoloLossOptions& o : {YoloLossOptions{}, YoloLossOptions{.fl_gamma = 1.5, .label_smoothing = 0.2}}) {
        const auto f = [&](const std::vector<Tensor>& in) {
            return yolo_loss({cat({boxes[0], in[0]}, 4), cat({boxes[1], in[1]}, 4)}, targets, anchors, 2, o).total;
        };
        REQUIRE(gradcheck(f, rest));
    }
}

TEST_CASE("scale_loss_gains and default_balance: train.py's scaling and ultralytics' balance", "[yolo]") {
    const YoloLossOptions coco = scale_loss_gains({}, 80, 640, 3);
    REQUIRE(coco.box == Approx(0.05));
    REQUIRE(coco.cls == Approx(0.5));
    REQUIRE(coco.obj == Approx(1.0));
    const YoloLossOptions voc = scale_loss_gains({}, 20, 512, 3);
    REQUIRE(voc.box == Approx(0.05));
    REQUIRE(voc.cls == Approx(0.125));
    REQUIRE(voc.obj == Approx(0.64));
    const YoloLossOptions four = scale_loss_gains({.box = 0.1, .obj = 2.0, .cls = 1.0}, 40, 1280, 4);
    REQUIRE(four.box == Approx(0.1 * 0.75));
    REQUIRE(four.cls == Approx(0.5 * 0.75));
    REQUIRE(four.obj == Approx(2.0 * 4 * 0.75));
    REQUIRE(four.anchor_t == 4.0);  // the rest is untouched
    REQUIRE(default_balance(3) == std::vector<double>{4.0, 1.0, 0.4});
    REQUIRE(default_balance(4) == std::vector<double>{4.0, 1.0, 0.25, 0.06});
    REQUIRE(default_balance(1) == std::vector<double>{4.0});
    REQUIRE_THROWS_AS(default_balance(6), ValueError);
    REQUIRE_THROWS_AS(scale_loss_gains({}, 0, 640, 3), ValueError);
}

TEST_CASE("yolo_loss: inputs that do not fit are errors naming the loss and the shapes", "[yolo]") {
    const Tensor anchors = t64({1, 1, 2, 2}, {1, 2, 2});
    const Tensor targets = t64({0, 1, 0.5, 0.5, 0.2, 0.2}, {1, 6});
    const Tensor p = zeros({2, 2, 4, 4, 8}, {.dtype = kFloat64});
    REQUIRE_NOTHROW(yolo_loss({p}, targets, anchors, 3));
    REQUIRE_THROWS_WITH(yolo_loss({p}, targets, anchors, 4),  // 5 + nc channels
                        Catch::Contains("yolo_loss") && Catch::Contains("[2, 2, 4, 4, 8]") && Catch::Contains("nc 4"));
    REQUIRE_THROWS_WITH(yolo_loss({p, p}, targets, anchors, 3),  // one map per level
                        Catch::Contains("yolo_loss") && Catch::Contains("anchors [1, 2, 2]"));
    REQUIRE_THROWS_WITH(yolo_loss({zeros({2, 3, 4, 4, 8}, {.dtype = kFloat64})}, targets, anchors, 3),  // na
                        Catch::Contains("yolo_loss") && Catch::Contains("[2, 3, 4, 4, 8]"));
    REQUIRE_THROWS_WITH(yolo_loss({p}, zeros({1, 5}, {.dtype = kFloat64}), anchors, 3),
                        Catch::Contains("yolo_loss") && Catch::Contains("targets [1, 5]"));
    REQUIRE_THROWS_WITH(yolo_loss({p}, targets, zeros({1, 2, 3}, {.dtype = kFloat64}), 3),
                        Catch::Contains("yolo_loss") && Catch::Contains("anchors [1, 2, 3]"));
    REQUIRE_THROWS_WITH(yolo_loss({p}, t64({0, 3, 0.5, 0.5, 0.2, 0.2}, {1, 6}), anchors, 3),
                        Catch::Contains("yolo_loss") && Catch::Contains("class 3"));
    REQUIRE_THROWS_WITH(yolo_loss({p}, t64({2, 0, 0.5, 0.5, 0.2, 0.2}, {1, 6}), anchors, 3),
                        Catch::Contains("yolo_loss") && Catch::Contains("image index 2"));
    REQUIRE_THROWS_AS(yolo_loss({p.to(kInt64)}, targets, anchors, 3), TypeError);
    REQUIRE_THROWS_WITH(yolo_loss({p}, targets, anchors, 3, {.balance = {1.0, 2.0}}),
                        Catch::Contains("yolo_loss") && Catch::Contains("balance"));
    REQUIRE_THROWS_WITH(build_targets({p}, zeros({3}), anchors),
                        Catch::Contains("build_targets") && Catch::Contains("targets [3]"));
}
