// backends/common/pad_math.h — where a padded output reads from: the source row of one output row along one padded
// dim, shared by every backend (host and device) so the CPU tests check the device's index math too.
#pragma once
#include <cstdint>

#include "backends/common/params.h"      // PadMode
#include "backends/common/unary_math.h"  // NB_HD

namespace nabla {

// Source row of output row o along one padded dim of size n (before = the padding in front, negative to crop), or
// -1 where the constant fill goes. Reflect does not repeat the edge (docs/ops_semantics.md §4): [0..4] by 3 reads
// 3 2 1 | 0 1 2 3 4 | 3 2 1; replicate repeats it.
NB_HD inline int64_t pad_source_index(int64_t o, int64_t n, int64_t before, PadMode mode) {
    const int64_t i = o - before;
    if (i >= 0 && i < n) return i;
    switch (mode) {
        case PadMode::Constant: return -1;
        case PadMode::Reflect: return i < 0 ? -i : 2 * (n - 1) - i;
        case PadMode::Replicate: return i < 0 ? 0 : n - 1;
    }
    return -1;
}

}  // namespace nabla
