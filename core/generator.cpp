// core/generator.cpp — uniform, normal and integer draws from the Mersenne Twister, and state save/restore.
#include "core/generator.h"

#include <cmath>
#include <numbers>
#include <sstream>

#include "core/error.h"

namespace nabla {

void Generator::manual_seed(uint64_t seed) {
    engine_.seed(seed);
    seed_ = seed;
    has_spare_ = false;
}

double Generator::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Generator::normal() {
    if (has_spare_) {
        has_spare_ = false;
        return spare_;
    }
    double u1 = 0;
    while (u1 <= 0) u1 = uniform();
    double u2 = uniform();
    double r = std::sqrt(-2.0 * std::log(u1)), theta = 2.0 * std::numbers::pi * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
}

int64_t Generator::randint(int64_t low, int64_t high) {
    NB_CHECK_VALUE(high > low, "randint: empty range [", low, ", ", high, ")");
    const uint64_t range = static_cast<uint64_t>(high - low);
    const uint64_t limit = UINT64_MAX - UINT64_MAX % range;  // rejection keeps every value equally likely
    uint64_t v;
    do v = engine_();
    while (v >= limit);
    return low + static_cast<int64_t>(v % range);
}

std::string Generator::state() const {
    std::ostringstream os;
    os << seed_ << ' ' << has_spare_ << ' ' << std::hexfloat << spare_ << ' ' << engine_;
    return os.str();
}

void Generator::set_state(const std::string& state) {
    std::istringstream is(state);
    std::string spare;
    is >> seed_ >> has_spare_ >> spare >> engine_;
    if (!is) throw ValueError("Generator::set_state: malformed generator state");
    spare_ = std::strtod(spare.c_str(), nullptr);
}

Generator& default_generator() {
    static Generator g(0);
    return g;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace nabla
