// tests/backends/test_strided_index.cpp — the host/device index math of the CUDA elementwise kernels
// (backends/common/strided_index.h), checked on the CPU against the reference backend's strided walk.
#include "backends/common/strided_index.h"
#include "backends/reference/strided.h"
#include "support/support.h"

TEST_CASE("StridedIndexer: offsets equal the reference walk for permuted, sliced and broadcast tensors", "[backends]") {
    Tensor base = zeros({4, 5, 6});
    Tensor a = base.permute({2, 0, 1}).slice(1, 1, 4);  // [6, 3, 5], non-contiguous
    Tensor b = zeros({1, 3, 1}).expand({6, 3, 5});      // broadcast: stride 0 dims
    StridedIndexer<2> ix;
    ix.ndim = static_cast<int>(a.dim());
    for (int d = 0; d < ix.ndim; ++d) {
        ix.sizes[d] = a.size(d);
        ix.strides[0][d] = a.stride(d);
        ix.strides[1][d] = b.stride(d);
    }
    int64_t linear = 0, mismatches = 0;
    for_each_offset<2>(a.shape(), {&a.strides(), &b.strides()}, [&](int64_t oa, int64_t ob) {
        int64_t got[2];
        ix.offsets(linear++, got);
        if (got[0] != oa || got[1] != ob) ++mismatches;
    });
    REQUIRE(linear == a.numel());
    REQUIRE(mismatches == 0);
}
