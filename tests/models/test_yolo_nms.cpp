// tests/models/test_yolo_nms.cpp — models/yolo/nms.h on hand-made cases: the greedy NMS (suppression above the IoU
// threshold only, score order, ties in index order), non_max_suppression's steps (objectness and score thresholds,
// strictly greater; score = obj · cls; xywh -> xyxy; same-class overlaps suppressed and other classes kept through the
// class offset; agnostic; the class filter; multi-label rows; max_det; max_nms), per-image output of a batch, the
// dtype kept, and errors that name the function and the shape.
#include "models/yolo/nms.h"
#include "support/support.h"

using namespace nabla::models;

namespace {

// One prediction row: centre, size, objectness, class probabilities.
std::vector<double> row(double cx, double cy, double w, double h, double obj, std::vector<double> cls) {
    std::vector<double> r{cx, cy, w, h, obj};
    r.insert(r.end(), cls.begin(), cls.end());
    return r;
}

// [1, n, 5 + nc] float32 from rows.
Tensor prediction(const std::vector<std::vector<double>>& rows) {
    std::vector<double> v;
    for (const auto& r : rows) v.insert(v.end(), r.begin(), r.end());
    const auto n = static_cast<int64_t>(rows.size()), no = static_cast<int64_t>(rows[0].size());
    return from_vector(v, {1, n, no}).to(kFloat32);
}

std::vector<int64_t> ints(const Tensor& t) {
    const Tensor c = t.contiguous();
    return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

}  // namespace

TEST_CASE("nms: greedy, by score, suppresses only above the IoU threshold", "[yolo][nms]") {
    // boxes 0 and 1 overlap with IoU 81 / 119 = 0.68; box 2 is apart
    const Tensor boxes = t32({0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30}, {3, 4});
    CHECK(ints(nms(boxes, t32({0.8f, 0.9f, 0.7f}, {3}), 0.5)) == std::vector<int64_t>{1, 2});
    CHECK(ints(nms(boxes, t32({0.8f, 0.9f, 0.7f}, {3}), 0.7)) == std::vector<int64_t>{1, 0, 2});
    CHECK(ints(nms(boxes, t32({0.5f, 0.5f, 0.5f}, {3}), 0.5)) == std::vector<int64_t>{0, 2});  // ties: index order
    // an IoU equal to the threshold does not suppress (strictly greater), in float64 too
    const Tensor halves = t64({0, 0, 2, 1, 0, 0, 1, 1}, {2, 4});  // IoU 0.5
    CHECK(ints(nms(halves, t64({0.9, 0.8}, {2}), 0.5)) == std::vector<int64_t>{0, 1});
    CHECK(ints(nms(halves, t64({0.9, 0.8}, {2}), 0.49)) == std::vector<int64_t>{0});
    CHECK(nms(t32({}, {0, 4}), t32({}, {0}), 0.5).numel() == 0);
    CHECK_THROWS_WITH(nms(boxes, t32({1, 2}, {2}), 0.5), Catch::Contains("nms: expected boxes [n, 4] and scores [n]"));
}

TEST_CASE("non_max_suppression: thresholds, classes, offsets, agnostic, class filter", "[yolo][nms]") {
    const Tensor p = prediction({
        row(50, 50, 20, 20, 0.9, {0.9, 0.05, 0.05}),  // class 0, score 0.81
        row(52, 50, 20, 20, 0.8, {0.8, 0.1, 0.1}),    // class 0, IoU 0.82 with the first: suppressed
        row(50, 50, 20, 20, 0.9, {0.1, 0.8, 0.1}),    // the same box, class 1 (0.72): kept
        row(150, 50, 20, 20, 0.25, {1, 0, 0}),        // objectness not above 0.25: dropped
        row(150, 90, 20, 20, 0.5, {0.4, 0.3, 0.3}),   // objectness passes, best score 0.2 does not
    });
    const std::vector<Tensor> out = non_max_suppression(p);
    REQUIRE(out.size() == 1);
    CHECK(out[0].dtype() == kFloat32);
    CHECK_THAT(out[0], ClosesTo(t32({40, 40, 60, 60, 0.81f, 0, 40, 40, 60, 60, 0.72f, 1}, {2, 6}), 1e-5));

    // agnostic: one NMS over all classes, the class-1 copy of the box goes
    CHECK_THAT(non_max_suppression(p, {.agnostic = true})[0], ClosesTo(t32({40, 40, 60, 60, 0.81f, 0}, {1, 6}), 1e-5));
    // the class filter keeps class 1 only
    CHECK_THAT(non_max_suppression(p, {.classes = {1}})[0], ClosesTo(t32({40, 40, 60, 60, 0.72f, 1}, {1, 6}), 1e-5));
    // a lower threshold lets the 0.25 and 0.2 boxes in; an IoU threshold above 0.82 keeps the same-class overlap
    CHECK(non_max_suppression(p, {.conf_thres = 0.15})[0].size(0) == 4);
    CHECK(non_max_suppression(p, {.iou_thres = 0.9})[0].size(0) == 3);
}

TEST_CASE("non_max_suppression: multi-label rows, max_det, max_nms, batches, dtypes", "[yolo][nms]") {
    // one box with two classes above the threshold: two rows with multi_label, the best class only without
    const Tensor p = prediction({row(30, 30, 10, 20, 1.0, {0.6, 0.5, 0.1})});
    CHECK_THAT(non_max_suppression(p, {.multi_label = true})[0],
               ClosesTo(t32({25, 20, 35, 40, 0.6f, 0, 25, 20, 35, 40, 0.5f, 1}, {2, 6}), 1e-6));
    CHECK_THAT(non_max_suppression(p)[0], ClosesTo(t32({25, 20, 35, 40, 0.6f, 0}, {1, 6}), 1e-6));
    // the duplicates of one box in one class are still suppressed: only classes differ between the rows kept
    const Tensor dup =
        prediction({row(30, 30, 10, 20, 1.0, {0.6, 0.5, 0.1}), row(30, 31, 10, 20, 0.9, {0.6, 0.5, 0.1})});
    CHECK(non_max_suppression(dup, {.multi_label = true})[0].size(0) == 2);

    // ten disjoint boxes with scores 0.3 ... 0.84: max_det keeps the best three, by score
    std::vector<std::vector<double>> rows;
    for (int i = 0; i < 10; ++i) rows.push_back(row(20.0 * i + 10, 10, 10, 10, 0.3 + 0.06 * i, {1.0}));
    const Tensor many = prediction(rows);
    const Tensor top3 = non_max_suppression(many, {.max_det = 3})[0];
    CHECK_THAT(top3.narrow(1, 4, 1).reshape({3}), ClosesTo(t32({0.84f, 0.78f, 0.72f}, {3}), 1e-6));
    CHECK_THAT(top3.narrow(1, 0, 1).reshape({3}), ClosesTo(t32({185, 165, 145}, {3}), 1e-6));
    // max_nms: only the best two candidates reach the NMS
    CHECK(non_max_suppression(many, {.max_nms = 2})[0].size(0) == 2);
    CHECK(non_max_suppression(many)[0].size(0) == 10);

    // a batch: one output per image, an image without candidates gets [0, 6]; float64 stays float64
    const Tensor batch = cat({many, many * 0.0}, 0).to(kFloat64);
    const std::vector<Tensor> out = non_max_suppression(batch);
    REQUIRE(out.size() == 2);
    CHECK(out[0].dtype() == kFloat64);
    CHECK(out[0].size(0) == 10);
    CHECK(out[1].shape() == Shape{0, 6});

    CHECK_THROWS_WITH(non_max_suppression(zeros({2, 5})), Catch::Contains("non_max_suppression: expected prediction"));
    CHECK_THROWS_WITH(non_max_suppression(p, {.conf_thres = 1.5}), Catch::Contains("conf_thres 1.5"));
}
