// ops/pad.cpp — placeholder until the indexing family lands.
#include "ops/pad.h"

namespace nabla {
Tensor pad(const Tensor&, const Shape&, PadMode, double) { throw NotImplementedError("pad: not implemented yet"); }
}  // namespace nabla
