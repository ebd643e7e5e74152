// backends/reference/loss.cpp — the fused per-element loss kernels over any strides; the math is
// backends/common/loss_math.h. An undefined pos_weight counts as 1.
#include "backends/common/loss_math.h"
#include "backends/reference/reference_backend.h"
#include "backends/reference/strided.h"

namespace nabla {

Tensor ReferenceBackend::bce_with_logits(const Tensor& x, const Tensor& t, const Tensor& pw_in) {
    const Tensor pw = pw_in.defined() ? pw_in : kernel::expand(kernel::full({}, 1.0, x.options()), x.shape());
    Tensor y = make_tensor(x.shape(), x.dtype(), x.device());
    dispatch_floating(x.dtype(), "bce_with_logits", [&]<class T>() {
        const T *px = x.data_ptr<T>(), *pt = t.data_ptr<T>(), *pp = pw.data_ptr<T>();
        T* py = y.data_ptr<T>();
        for_each_offset<4>(
            y.shape(), {&y.strides(), &x.strides(), &t.strides(), &pw.strides()},
            [&](int64_t o, int64_t i, int64_t j, int64_t k) { py[o] = bce_with_logits_fn(px[i], pt[j], pp[k]); });
    });
    return y;
}

Tensor ReferenceBackend::bce_with_logits_backward(const Tensor& gy, const Tensor& x, const Tensor& t,
                                                  const Tensor& pw_in) {
    const Tensor pw = pw_in.defined() ? pw_in : kernel::expand(kernel::full({}, 1.0, x.options()), x.shape());
    Tensor gx = make_tensor(x.shape(), x.dtype(), x.device());
    dispatch_floating(x.dtype(), "bce_with_logits_backward", [&]<class T>() {
        const T *pg = gy.data_ptr<T>(), *px = x.data_ptr<T>(), *pt = t.data_ptr<T>(), *pp = pw.data_ptr<T>();
        T* po = gx.data_ptr<T>();
        for_each_offset<5>(gx.shape(), {&gx.strides(), &gy.strides(), &x.strides(), &t.strides(), &pw.strides()},
                           [&](int64_t o, int64_t g, int64_t i, int64_t j, int64_t k) {
                               po[o] = pg[g] * bce_with_logits_grad(px[i], pt[j], pp[k]);
                           });
    });
    return gx;
}

}  // namespace nabla
