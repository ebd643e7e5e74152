// backends/reference/elementwise.cpp — unary, unary_backward, binary and where over any strides.
// The per-element math is backends/common/unary_math.h and binary_math.h, shared with the other backends.
#include "backends/common/binary_math.h"
#include "backends/common/unary_math.h"
#include "backends/reference/reference_backend.h"
#include "backends/reference/strided.h"

namespace nabla {

void ReferenceBackend::unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryArgs args) {
    dispatch_floating(x.dtype(), "unary", [&]<class T>() {
        const T* px = x.data_ptr<T>();
        T* py = out.data_ptr<T>();
        T a = static_cast<T>(args.a), b = static_cast<T>(args.b);
        visit_unary(op, [&]<UnaryOp Op>() {
            for_each_offset<2>(out.shape(), {&out.strides(), &x.strides()},
                               [&](int64_t o, int64_t i) { py[o] = unary_fn<Op>(px[i], a, b); });
        });
    });
}

void ReferenceBackend::unary_backward(UnaryOp op, const Tensor& gy, const Tensor& saved, const Tensor& gx,
                                      UnaryArgs args) {
    dispatch_floating(gy.dtype(), "unary_backward", [&]<class T>() {
        const T* pg = gy.data_ptr<T>();
        const T* ps = saved.data_ptr<T>();
        T* pgx = gx.data_ptr<T>();
        T a = static_cast<T>(args.a), b = static_cast<T>(args.b);
        visit_unary(op, [&]<UnaryOp Op>() {
            for_each_offset<3>(gx.shape(), {&gx.strides(), &gy.strides(), &saved.strides()},
                               [&](int64_t o, int64_t g, int64_t s) { pgx[o] = pg[g] * unary_grad<Op>(ps[s], a, b); });
        });
    });
}

void ReferenceBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
    dispatch_all(a.dtype(), [&]<class T>() {
        const T* pa = a.data_ptr<T>();
        const T* pb = b.data_ptr<T>();
        visit_binary(op, [&]<BinaryOp Op>() {
            using R = decltype(binary_fn<Op, T>(T{}, T{}));
            R* po = out.data_ptr<R>();
            for_each_offset<3>(out.shape(), {&out.strides(), &a.strides(), &b.strides()},
                               [&](int64_t o, int64_t i, int64_t j) { po[o] = binary_fn<Op, T>(pa[i], pb[j]); });
        });
    });
}

void ReferenceBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
    dispatch_all(a.dtype(), [&]<class T>() {
        const bool* pc = cond.data_ptr<bool>();
        const T* pa = a.data_ptr<T>();
        const T* pb = b.data_ptr<T>();
        T* po = out.data_ptr<T>();
        for_each_offset<4>(out.shape(), {&out.strides(), &cond.strides(), &a.strides(), &b.strides()},
                           [&](int64_t o, int64_t c, int64_t i, int64_t j) { po[o] = pc[c] ? pa[i] : pb[j]; });
    });
}

}  // namespace nabla
