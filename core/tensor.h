// core/tensor.h — Tensor, the handle every part of Nabla passes around (torch.Tensor).
//
// A Tensor is a cheap handle (one shared_ptr) on a TensorImpl: a view of a Storage described by shape, strides (in
// elements), offset and dtype, plus the autograd fields. Copying a Tensor copies the handle, never the data; views
// (view, permute, narrow, expand, ...) share storage, and contiguous()/clone() are the explicit copies.
//
// Where things live: metadata and in-place helpers here and in core/tensor.cpp; factories in ops/factory.h; views
// with their gradients in ops/view.cpp; math in ops/*.h; the tape in autograd/.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/shape.h"
#include "core/storage.h"

namespace nabla {

namespace autograd {
struct Node;
}

class Tensor;

struct TensorImpl {
    std::shared_ptr<Storage> storage;
    Shape shape;
    Shape strides;
    int64_t offset = 0;  // in elements
    DType dtype = kFloat32;

    // autograd: a leaf has no grad_fn; a tensor made by a recorded op points at the node that made it.
    bool requires_grad = false;
    bool retains_grad = false;
    std::shared_ptr<autograd::Node> grad_fn;
    std::shared_ptr<TensorImpl> grad;
};

struct TensorOptions {
    DType dtype = kFloat32;
    Device device = kCPU;
    bool requires_grad = false;
};

class Tensor {
public:
    Tensor() = default;  // undefined: the "None" of optional arguments such as a conv's bias
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

    bool defined() const { return impl_ != nullptr; }
    TensorImpl* impl() const { return impl_.get(); }
    const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
    bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

    // --- metadata ---
    const Shape& shape() const { return checked().shape; }
    const Shape& sizes() const { return shape(); }
    int64_t size(int64_t dim) const;  // negative dims count from the end; an IndexError on a 0-dim tensor
    const Shape& strides() const { return checked().strides; }
    int64_t stride(int64_t dim) const;
    int64_t offset() const { return checked().offset; }
    int64_t dim() const { return static_cast<int64_t>(shape().size()); }
    int64_t numel() const { return numel_of(shape()); }
    DType dtype() const { return checked().dtype; }
    Device device() const { return checked().storage->device(); }
    const std::shared_ptr<Storage>& storage() const { return checked().storage; }
    bool is_contiguous() const;
    // True when the strides are those of `format` (size-1 dims ignored, as PyTorch). A tensor with C = 1 or H = W = 1
    // is both contiguous and channels-last.
    bool is_contiguous(MemoryFormat format) const;
    // ChannelsLast for a 4-D tensor whose strides run channels-last (C, W, H, N from the smallest; a slice too) and
    // that is not plain contiguous; else Contiguous. Ops use it to give their outputs the layout of their inputs
    // (torch's suggest_memory_format).
    MemoryFormat suggest_memory_format() const;
    TensorOptions options() const { return {dtype(), device(), false}; }

    // Typed pointer to element [0, 0, ...]; checks that T is the tensor's dtype.
    template <class T>
    T* data_ptr() const {
        if (dtype_of<T>() != dtype())
            throw TypeError(
                detail::concat("data_ptr: tensor is ", dtype_name(dtype()), ", asked for ", dtype_name(dtype_of<T>())));
        return static_cast<T*>(storage()->data()) + offset();
    }
    void* raw_data() const { return static_cast<char*>(storage()->data()) + offset() * element_size(dtype()); }

    // The single value of a one-element tensor, converted to T (copied to the host first if needed).
    template <class T>
    T item() const;

    // --- autograd (fields here, core/tensor.cpp; retain_grad and backward in autograd/) ---
    bool requires_grad() const { return checked().requires_grad; }
    Tensor& requires_grad_(bool on = true);
    Tensor grad() const;
    void set_grad(const Tensor& g) const;
    bool is_leaf() const { return checked().grad_fn == nullptr; }
    const std::shared_ptr<autograd::Node>& grad_fn() const { return checked().grad_fn; }
    void retain_grad() const;
    // Seeds d(self)/d(self) with `gradient` (required unless self has one element) and runs the tape backwards.
    void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;
    Tensor detach() const;  // same storage, no history
    uint64_t version() const { return storage()->version(); }

    // --- views (ops/view.cpp; each records its gradient) ---
    Tensor view(const Shape& shape) const;
    Tensor reshape(const Shape& shape) const;
    Tensor permute(const Shape& dims) const;
    Tensor transpose(int64_t dim0, int64_t dim1) const;
    Tensor t() const;  // transpose of a 2-D tensor
    Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
    Tensor select(int64_t dim, int64_t index) const;
    Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
    Tensor expand(const Shape& shape) const;
    Tensor expand_as(const Tensor& other) const { return expand(other.shape()); }
    Tensor squeeze() const;
    Tensor squeeze(int64_t dim) const;
    Tensor unsqueeze(int64_t dim) const;
    Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;

    // --- copies (ops/view.cpp) ---
    Tensor contiguous() const;                     // self if already contiguous
    Tensor contiguous(MemoryFormat format) const;  // self if already so; ChannelsLast needs 4-D
    // A copy laid out in `format` (torch's clone keeps the layout by default; here a plain copy is the default).
    Tensor clone(MemoryFormat format = MemoryFormat::Contiguous) const;
    Tensor to(DType dtype) const;  // self if already that dtype
    Tensor to(Device device) const;
    // A copy in page-locked host memory, which .to(cuda) copies asynchronously (torch's pin_memory); self if pinned
    // already. A NotImplementedError where no GPU backend is present.
    Tensor pin_memory() const;
    bool is_pinned() const;

    // --- in-place (ops/inplace.cpp; they bump the version and record no gradient: in grad mode, an error on a tensor
    // that requires grad, and for add_/sub_/mul_/div_ also on an operand that does; as torch, the result type must fit
    // the tensor's dtype (int64.add_(0.5) is an error), and an expanded tensor can only be filled) ---
    Tensor& zero_();
    Tensor& fill_(double value);
    // Broadcasts src to self's shape, converts dtype, crosses devices. src may require grad: ops such as cat copy
    // their inputs into the output and record the gradient themselves.
    Tensor& copy_(const Tensor& src);
    Tensor& add_(const Tensor& other, double alpha = 1.0);
    Tensor& add_(double value);
    Tensor& sub_(const Tensor& other, double alpha = 1.0);
    Tensor& mul_(const Tensor& other);
    Tensor& mul_(double value);
    Tensor& div_(const Tensor& other);
    Tensor& div_(double value);
    Tensor& clamp_(double min, double max);

    // --- common math as methods, forwarding to ops/ ---
    Tensor sum() const;
    Tensor sum(const Shape& dims, bool keepdim = false) const;
    Tensor mean() const;
    Tensor mean(const Shape& dims, bool keepdim = false) const;
    Tensor abs() const;
    Tensor exp() const;
    Tensor log() const;
    Tensor sqrt() const;
    Tensor pow(double exponent) const;
    Tensor matmul(const Tensor& other) const;

private:
    const TensorImpl& checked() const {
        if (!impl_) throw Error("use of an undefined tensor");
        return *impl_;
    }
    std::shared_ptr<TensorImpl> impl_;
};

// Two tensors returned together, as torch.return_types (max and min over a dim, sort, topk, max_pool2d_with_indices).
struct ValuesIndices {
    Tensor values;
    Tensor indices;
};

// Makes a tensor over fresh (uninitialised) storage: the one place storage is allocated for a new tensor.
Tensor make_tensor(const Shape& shape, DType dtype, Device device, MemoryFormat format = MemoryFormat::Contiguous);
// A new view of `base`'s storage with the given geometry; no autograd (ops/view.cpp adds it).
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);

}  // namespace nabla
