// tests/core/test_storage.cpp — the host allocator of core/storage.cpp: 64-byte alignment, large blocks reused from
// its cache (the same memory on the next step of a loop, or a cached block up to twice the size), memory stats, and
// empty_cache giving the blocks back.
#include <cstdint>

#include "core/storage.h"
#include "support/support.h"

TEST_CASE("host allocator: aligned blocks, large ones cached and reused, empty_cache releases them", "[storage]") {
    empty_cache();
    const MemoryStats before = memory_stats();
    void* first = nullptr;
    {
        Storage big(5 << 20, kCPU);  // 5 MiB: a large block
        Storage small(1000, kCPU);
        REQUIRE(reinterpret_cast<uintptr_t>(big.data()) % 64 == 0);
        REQUIRE(reinterpret_cast<uintptr_t>(small.data()) % 64 == 0);
        REQUIRE(memory_stats().allocated == before.allocated + (5 << 20) + 1000);
        first = big.data();
    }
    const MemoryStats after = memory_stats();
    REQUIRE(after.allocated == before.allocated);
    REQUIRE(after.cached >= (5 << 20));  // kept for the next step
    {
        Storage again((5 << 20) - 100, kCPU);  // the same size class: the same block
        REQUIRE(again.data() == first);
        REQUIRE(memory_stats().cached == after.cached - static_cast<int64_t>(size_t{5} << 20));
        auto* bytes = static_cast<unsigned char*>(again.data());
        bytes[0] = 1, bytes[(5 << 20) - 101] = 2;  // the whole block is usable
    }
    REQUIRE(empty_cache() >= (size_t{5} << 20));
    REQUIRE(memory_stats().cached == 0);
}

TEST_CASE("host allocator: a smaller request takes a cached block up to twice its size, not a larger one",
          "[storage]") {
    empty_cache();
    void* block = nullptr;
    { block = Storage(8 << 20, kCPU).data(); }  // 8 MiB, now cached
    {
        Storage far_smaller(3 << 20, kCPU);  // 8 > 2 x 3 MiB: a block of its own
        REQUIRE(far_smaller.data() != block);
        Storage smaller(5 << 20, kCPU);  // 8 <= 2 x 5 MiB: the cached block
        REQUIRE(smaller.data() == block);
        auto* bytes = static_cast<unsigned char*>(smaller.data());
        bytes[(5 << 20) - 1] = 1;
    }
    const int64_t cached = memory_stats().cached;  // both back, the 8 MiB block in its own class
    REQUIRE(cached >= (8 << 20) + (3 << 20));
    { REQUIRE(Storage(8 << 20, kCPU).data() == block); }
    empty_cache();
}

TEST_CASE("host allocator: tensors in large blocks hold their values across reuse", "[storage]") {
    Tensor a = arange(0, 1 << 19, 1, {.dtype = kFloat32});  // 2 MiB
    Tensor b = a * 2;
    REQUIRE(b.sum().item<double>() == 2.0 * (double(1 << 19) * ((1 << 19) - 1) / 2));
}

TEST_CASE("host allocator: a request the machine cannot serve is an OutOfMemoryError that gives the sizes",
          "[storage]") {
    const MemoryStats before = memory_stats();
    // 1 PiB: more than any address space here, whatever the kernel's overcommit policy
    REQUIRE_THROWS_AS(Storage(size_t{1} << 50, kCPU), OutOfMemoryError);
    REQUIRE_THROWS_WITH(Storage(size_t{1} << 50, kCPU),
                        Catch::StartsWith("out of memory: cannot allocate 1048576.00 GiB on the CPU") &&
                            Catch::Contains("the machine has") && Catch::Contains("smaller batch or image size"));
    REQUIRE(memory_stats().allocated == before.allocated);  // the failed request is not counted
    Tensor t = ones({4});                                   // and the allocator still works
    REQUIRE(t.sum().item<double>() == 4.0);
}
