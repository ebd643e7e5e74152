// tests/backends/test_primitive_cache.cpp — the cpu backend's cache of oneDNN primitives (backends/cpu/dnnl_common.h
// PrimitiveCache): hits build nothing, the capacity bounds it, the least recently used entry goes first, and an
// entry a caller still holds stays valid after eviction; convolutions of many shapes keep working past the bound.
#include <cstdlib>

#include "backends/cpu/dnnl_common.h"
#include "ops/conv.h"
#include "support/support.h"

using nabla::dnnl_util::PrimitiveCache;

TEST_CASE("PrimitiveCache: hits reuse, the capacity bounds it, least recently used goes first", "[backends]") {
    PrimitiveCache<int> cache(3);
    int made = 0;
    auto get = [&](const std::string& key, int value) {
        return *cache.get(key, [&] {
            ++made;
            return value;
        });
    };
    CHECK(get("a", 1) == 1);
    CHECK(get("b", 2) == 2);
    CHECK(get("c", 3) == 3);
    CHECK(made == 3);
    CHECK(get("a", 100) == 1);  // a hit: nothing built, the cached value, and "a" is now the most recent
    CHECK(made == 3);
    CHECK(get("d", 4) == 4);  // a miss beyond capacity evicts "b", the least recently used
    CHECK(cache.size() == 3);
    CHECK(made == 4);
    CHECK(get("a", 100) == 1);
    CHECK(get("c", 100) == 3);
    CHECK(made == 4);
    CHECK(get("b", 20) == 20);  // rebuilt
    CHECK(made == 5);
    CHECK(cache.size() == 3);

    // a held entry outlives its eviction
    PrimitiveCache<std::string> one(1);
    auto held = one.get("x", [] { return std::string("kept"); });
    one.get("y", [] { return std::string("other"); });
    CHECK(*held == "kept");
    CHECK(one.size() == 1);
    CHECK(nabla::dnnl_util::primitive_cache_capacity() >= 1);
}

TEST_CASE("PrimitiveCache: convolutions stay right as shapes come and go", "[backends]") {
    // run with ONEDNN_PRIMITIVE_CACHE_CAPACITY=4 too (tests/CMakeLists.txt): 20 shapes then evict and rebuild every
    // conv primitive; each shape is checked against the reference kernels on its first and its second visit
    if (const char* v = std::getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY"))
        CHECK(nabla::dnnl_util::primitive_cache_capacity() == static_cast<size_t>(std::atoi(v)));
    Generator gen(3);
    Tensor w = randn({4, 3, 3, 3}, {}, &gen);
    for (int round = 0; round < 2; ++round)
        for (int64_t side = 5; side < 25; ++side) {
            INFO("side " << side << " round " << round);
            Tensor x = randn({1, 3, side, side}, {}, &gen);
            const Tensor expected = with_kernels(Kernels::reference, [&] { return conv2d(x, w, {}, {.padding = 1}); });
            REQUIRE_THAT(conv2d(x, w, {}, {.padding = 1}), ClosesTo(expected, 1e-4, 1e-4));
        }
}
