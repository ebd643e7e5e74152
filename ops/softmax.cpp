// ops/softmax.cpp — placeholder until the softmax family lands.
#include "ops/softmax.h"

namespace nabla {
Tensor softmax(const Tensor&, int64_t) { throw NotImplementedError("softmax: not implemented yet"); }
Tensor log_softmax(const Tensor&, int64_t) { throw NotImplementedError("log_softmax: not implemented yet"); }
}  // namespace nabla
