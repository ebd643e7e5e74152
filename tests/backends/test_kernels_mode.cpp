// tests/backends/test_kernels_mode.cpp — forcing the reference kernels: by API (with_kernels) and by environment
// (NABLA_KERNELS=reference; CTest runs this file a second time with it set, as backends/kernels_mode_env).
#include <cstdlib>
#include <cstring>

#include "support/support.h"

TEST_CASE("kernels mode: the environment variable picks the host backend", "[backends]") {
    const char* env = std::getenv("NABLA_KERNELS");
    const bool forced = env && std::strcmp(env, "reference") == 0;
    REQUIRE(backend_for(kCPU).name() == (forced ? "reference" : "cpu"));
}

TEST_CASE("kernels mode: with_kernels switches for its scope and restores", "[backends]") {
    const std::string before(backend_for(kCPU).name());
    REQUIRE(with_kernels(Kernels::reference, [] { return std::string(backend_for(kCPU).name()); }) == "reference");
    REQUIRE(with_kernels(Kernels::fast, [] { return std::string(backend_for(kCPU).name()); }) == "cpu");
    REQUIRE(std::string(backend_for(kCPU).name()) == before);
    // Restored even when the function throws.
    REQUIRE_THROWS(with_kernels(Kernels::reference, []() -> int { throw Error("boom"); }));
    REQUIRE(std::string(backend_for(kCPU).name()) == before);
    // A kernel a backend lacks names itself and the backend (Backend's defaults; every real backend has them all).
    struct Empty final : Backend {
        std::string_view name() const override { return "empty"; }
    } empty_backend;
    REQUIRE_THROWS_WITH(empty_backend.reduce(ReduceOp::Sum, ones({2}), {0}, false),
                        Catch::Equals("kernel 'reduce' is not implemented by the empty backend"));
}
