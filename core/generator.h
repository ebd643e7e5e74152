// core/generator.h — Generator, the seeded source of randomness (torch.Generator).
// Streams are the same on every run and every machine: a 64-bit Mersenne Twister with our own conversions to
// uniform and normal values (the standard library's distributions differ between implementations).
// state()/set_state() save and restore it exactly, so a resumed run draws the same numbers.
#pragma once
#include <cstdint>
#include <random>
#include <string>

namespace nabla {

class Generator {
public:
    explicit Generator(uint64_t seed = 0) : engine_(seed), seed_(seed) {}

    void manual_seed(uint64_t seed);
    uint64_t initial_seed() const { return seed_; }
    uint64_t next_u64() { return engine_(); }
    double uniform();                            // [0, 1) with 53 random bits
    double normal();                             // N(0, 1), Box-Muller
    int64_t randint(int64_t low, int64_t high);  // [low, high), unbiased

    std::string state() const;
    void set_state(const std::string& state);

private:
    std::mt19937_64 engine_;
    uint64_t seed_;
    bool has_spare_ = false;
    double spare_ = 0;
};

Generator& default_generator();
void manual_seed(uint64_t seed);  // torch.manual_seed

}  // namespace nabla
