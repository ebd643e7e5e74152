// tests/ops/test_pixel_shuffle.cpp — pixel_shuffle / pixel_unshuffle: the index rule of docs/ops_semantics.md §5
// checked by hand, PyTorch golden values (tests/fixtures/make_interp.py), the round trip, gradcheck, and error
// messages.
#include "ops/pixel_shuffle.h"
#include "support/support.h"

namespace {

// y = f(x) and the gradient of x for the fixture's gy, against PyTorch's; exact, as both are permutations.
void check_golden(const std::string& name, const std::function<Tensor(const Tensor&)>& f) {
    INFO(name);
    const TensorMap g = load_fixture("interp/" + name);
    Tensor x = g.at("x").detach().requires_grad_();
    Tensor y = f(x);
    REQUIRE_THAT(y, ClosesTo(g.at("y"), 0, 0));
    y.backward(g.at("gy"));
    REQUIRE_THAT(x.grad(), ClosesTo(g.at("gx"), 0, 0));
}

}  // namespace

TEST_CASE("pixel_shuffle: known values and the index rule", "[ops][pixel_shuffle]") {
    // [1, 4, 1, 1] with r = 2: the four channels become one 2x2 block in row-major order
    REQUIRE_THAT(pixel_shuffle(t64({1, 2, 3, 4}, {1, 4, 1, 1}), 2), ClosesTo(t64({1, 2, 3, 4}, {1, 1, 2, 2})));
    // out[n, c, h*r+i, w*r+j] = in[n, c*r*r + i*r + j, h, w] for every index
    const int64_t r = 3;
    Tensor x = randn({2, 2 * r * r, 2, 3});
    Tensor y = pixel_shuffle(x, r).contiguous();
    REQUIRE(y.shape() == Shape{2, 2, 2 * r, 3 * r});
    const float* px = x.data_ptr<float>();
    const float* py = y.data_ptr<float>();
    int64_t mismatches = 0;
    for (int64_t n = 0; n < 2; ++n)
        for (int64_t c = 0; c < 2; ++c)
            for (int64_t h = 0; h < 2; ++h)
                for (int64_t w = 0; w < 3; ++w)
                    for (int64_t i = 0; i < r; ++i)
                        for (int64_t j = 0; j < r; ++j) {
                            const float out = py[((n * 2 + c) * 2 * r + h * r + i) * 3 * r + w * r + j];
                            const float in = px[((n * 2 * r * r + c * r * r + i * r + j) * 2 + h) * 3 + w];
                            mismatches += out != in;
                        }
    REQUIRE(mismatches == 0);
    REQUIRE_THAT(pixel_unshuffle(y, r), ClosesTo(x, 0, 0));
    // leading batch dims are kept: [*, C*r*r, H, W]
    REQUIRE(pixel_shuffle(randn({3, 2, 8, 1, 2}), 2).shape() == Shape{3, 2, 2, 2, 4});
    REQUIRE(pixel_unshuffle(randn({4, 2, 4}), 2).shape() == Shape{16, 1, 2});
}

TEST_CASE("pixel_shuffle: PyTorch golden values, output and input gradient", "[ops][pixel_shuffle][golden]") {
    check_golden("pixel_shuffle_r2", [](const Tensor& x) { return pixel_shuffle(x, 2); });
    check_golden("pixel_unshuffle_r3", [](const Tensor& x) { return pixel_unshuffle(x, 3); });
}

TEST_CASE("pixel_shuffle: gradcheck in float64 and strided inputs", "[ops][pixel_shuffle][gradcheck]") {
    Tensor x = randn({2, 8, 3, 2}, {.dtype = kFloat64, .requires_grad = true});
    REQUIRE(gradcheck([](const std::vector<Tensor>& in) { return pixel_shuffle(in[0], 2); }, {x}));
    Tensor z = randn({1, 2, 6, 3}, {.dtype = kFloat64, .requires_grad = true});
    REQUIRE(gradcheck([](const std::vector<Tensor>& in) { return pixel_unshuffle(in[0], 3); }, {z}));
    Tensor xf = randn({2, 9, 5, 7});
    REQUIRE_THAT(pixel_shuffle(noncontiguous(xf), 3), ClosesTo(pixel_shuffle(xf, 3), 0, 0));
}

TEST_CASE("pixel_shuffle: errors name the op and the shape", "[ops][pixel_shuffle][errors]") {
    using Catch::Contains;
    REQUIRE_THROWS_AS(pixel_shuffle(randn({1, 5, 2, 2}), 2), ShapeError);
    REQUIRE_THROWS_WITH(pixel_shuffle(randn({1, 5, 2, 2}), 2), Contains("pixel_shuffle") && Contains("[1, 5, 2, 2]"));
    REQUIRE_THROWS_WITH(pixel_shuffle(randn({4, 4}), 2), Contains("pixel_shuffle") && Contains("[4, 4]"));
    REQUIRE_THROWS_WITH(pixel_unshuffle(randn({1, 1, 4, 5}), 2),
                        Contains("pixel_unshuffle") && Contains("[1, 1, 4, 5]"));
    REQUIRE_THROWS_AS(pixel_shuffle(randn({1, 4, 2, 2}), 0), ValueError);
}
