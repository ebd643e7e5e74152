// tests/backends/test_fast_math.cpp — the vectorisable float32 exp and log1p of backends/common/fast_math.h against
// the C library: relative error, NaN propagation, and the ends of the range.
#include <cmath>
#include <limits>

#include "backends/common/fast_math.h"
#include "support/support.h"

TEST_CASE("fast_math: exp_f32 is within a few ulp of std::exp over the float range", "[backends][math]") {
    double worst = 0;
    for (double x = -87.0; x <= 88.0; x += 0.00731) {
        const double ref = std::exp(static_cast<double>(static_cast<float>(x)));
        worst = std::max(worst, std::abs(exp_f32(static_cast<float>(x)) - ref) / ref);
    }
    REQUIRE(worst < 5e-7);  // 4 ulp of float is 4.8e-7
    REQUIRE(exp_f32(0.0f) == 1.0f);
    REQUIRE(std::isnan(exp_f32(std::numeric_limits<float>::quiet_NaN())));
    REQUIRE(exp_f32(-1000.0f) < 1e-37f);  // clamped, not garbage
    REQUIRE(std::isfinite(exp_f32(1000.0f)));
}

TEST_CASE("fast_math: log1p_unit_f32 keeps full precision for tiny arguments", "[backends][math]") {
    double worst = 0;
    for (double y = 1e-12; y <= 1.0; y *= 1.01) {
        const double ref = std::log1p(static_cast<double>(static_cast<float>(y)));
        worst = std::max(worst, std::abs(log1p_unit_f32(static_cast<float>(y)) - ref) / ref);
    }
    REQUIRE(worst < 5e-7);
    REQUIRE(log1p_unit_f32(0.0f) == 0.0f);
}
