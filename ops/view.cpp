// ops/view.cpp — views (view, reshape, permute, transpose, narrow, select, slice, expand, squeeze, unsqueeze,
// flatten) and the explicit copies (contiguous, clone, to, item), each with its backward.
// A view shares storage and only changes shape/strides/offset. Backward rules:
//   view/reshape: reshape back   permute: inverse permutation   expand: sum_to   narrow/select/slice: scatter into
//   zeros of the input's shape   to(dtype): convert back   contiguous/clone: identity
// A little over an op file's length because it holds every view method of Tensor in one place.
#include "autograd/node.h"
#include "backends/backend.h"
#include "ops/elementwise.h"
#include "ops/factory.h"
#include "ops/matmul.h"
#include "ops/reduce.h"

namespace nabla {

using autograd::Grads;
using autograd::NeedsGrad;

namespace {

// Strides for viewing `t` as `shape` without a copy, or empty when the memory layout does not allow it
// (PyTorch's computeStride: dims are merged into contiguous chunks and split again).
Shape view_strides(const Tensor& t, const Shape& shape) {
    if (t.numel() == 0 || t.is_contiguous()) return contiguous_strides(shape);
    const Shape &old_shape = t.shape(), &old_strides = t.strides();
    Shape strides(shape.size());
    int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
    int64_t chunk_base_stride = old_strides.back();
    int64_t tensor_numel = 1, view_numel = 1;
    for (int64_t d = static_cast<int64_t>(old_shape.size()) - 1; d >= 0; --d) {
        tensor_numel *= old_shape[d];
        if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
                strides[view_d] = view_numel * chunk_base_stride;
                view_numel *= shape[view_d];
                --view_d;
            }
            if (view_numel != tensor_numel) return {};
            if (d > 0) {
                chunk_base_stride = old_strides[d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    if (view_d != -1) return {};
    return strides;
}

// Resolves one -1 in a requested shape.
Shape infer_shape(const char* op, const Shape& requested, int64_t numel, const Shape& from) {
    Shape s = requested;
    int64_t known = 1, infer = -1;
    for (size_t i = 0; i < s.size(); ++i) {
        NB_CHECK(s[i] >= -1, op, ": invalid shape dimension ", s[i], " in ", requested);
        if (s[i] == -1) {
            NB_CHECK(infer < 0, op, ": only one dimension can be inferred in ", requested);
            infer = static_cast<int64_t>(i);
        } else {
            known *= s[i];
        }
    }
    if (infer >= 0) {
        NB_CHECK(known != 0 && numel % known == 0, op, ": shape ", requested, " is invalid for input ", from);
        s[infer] = numel / known;
    }
    NB_CHECK(numel_of(s) == numel, op, ": shape ", requested, " is invalid for input ", from, " of ", numel,
             " elements");
    return s;
}

// wrap_dim for the views that need an existing dim: a 0-dim tensor has nothing to slice or select (as torch).
int64_t sliceable_dim(const Tensor& t, int64_t d, const char* op) {
    if (t.dim() == 0) throw IndexError(detail::concat(op, ": cannot be applied to a 0-dim tensor"));
    return wrap_dim(d, t.dim(), op);
}

Tensor record_view(const char* name, const Tensor& x, Tensor y, autograd::BackwardFn fn) {
    autograd::record(name, {x}, y, std::move(fn));
    return y;
}

}  // namespace

Tensor Tensor::view(const Shape& requested) const {
    Shape s = infer_shape("view", requested, numel(), shape());
    Shape st = view_strides(*this, s);
    NB_CHECK(!st.empty() || s.empty(), "view: size ", requested, " is not compatible with input ", shape(), " strides ",
             strides(), " (at least one dimension spans two contiguous chunks); use reshape()");
    Shape in = shape();
    return record_view("view", *this, make_view(*this, s, st, offset()),
                       [in](const Tensor& gy, const NeedsGrad&) { return Grads{gy.reshape(in)}; });
}

Tensor Tensor::reshape(const Shape& requested) const {
    Shape s = infer_shape("reshape", requested, numel(), shape());
    if (!view_strides(*this, s).empty() || s.empty()) return view(s);
    return contiguous().view(s);
}

Tensor Tensor::permute(const Shape& dims) const {
    NB_CHECK(static_cast<int64_t>(dims.size()) == dim(), "permute: ", dims.size(), " dims given for a tensor ",
             shape());
    Shape s(dims.size()), st(dims.size()), inverse(dims.size());
    std::vector<bool> used(dims.size(), false);
    for (size_t i = 0; i < dims.size(); ++i) {
        int64_t d = wrap_dim(dims[i], dim(), "permute");
        NB_CHECK(!used[d], "permute: repeated dim ", d, " in ", dims);
        used[d] = true;
        s[i] = shape()[d];
        st[i] = strides()[d];
        inverse[d] = static_cast<int64_t>(i);
    }
    return record_view("permute", *this, make_view(*this, s, st, offset()),
                       [inverse](const Tensor& gy, const NeedsGrad&) { return Grads{gy.permute(inverse)}; });
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
    if (dim() == 0) {  // dims 0 and -1 name the tensor itself
        wrap_dim(d0, 0, "transpose");
        wrap_dim(d1, 0, "transpose");
        return *this;
    }
    Shape dims(dim());
    for (int64_t i = 0; i < dim(); ++i) dims[i] = i;
    std::swap(dims[wrap_dim(d0, dim(), "transpose")], dims[wrap_dim(d1, dim(), "transpose")]);
    return permute(dims);
}

Tensor Tensor::t() const {
    NB_CHECK(dim() <= 2, "t: expects a tensor with <= 2 dims, got ", shape());
    return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
    d = sliceable_dim(*this, d, "slice");
    NB_CHECK_VALUE(step > 0, "slice: step must be positive, got ", step);
    const int64_t n = shape()[d];
    if (start < 0) start += n;
    if (end < 0) end += n;
    start = std::clamp<int64_t>(start, 0, n);
    end = std::clamp<int64_t>(end, start, n);
    Shape s = shape(), st = strides();
    s[d] = (end - start + step - 1) / step;
    st[d] *= step;
    Shape in = shape();
    return record_view("slice", *this, make_view(*this, s, st, offset() + start * strides()[d]),
                       [in, d, start, end, step](const Tensor& gy, const NeedsGrad&) {
                           Tensor gx = zeros(in, gy.options());
                           gx.slice(d, start, end, step).copy_(gy);
                           return Grads{gx};
                       });
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
    d = sliceable_dim(*this, d, "narrow");
    const int64_t n = shape()[d];
    if (start < 0) start += n;
    NB_CHECK(start >= 0 && length >= 0 && start + length <= n, "narrow: start ", start, " + length ", length,
             " exceeds dimension ", d, " of size ", n, " in ", shape());
    return slice(d, start, start + length);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
    d = sliceable_dim(*this, d, "select");
    const int64_t n = shape()[d];
    if (index < -n || index >= n)
        throw IndexError(detail::concat("select: index ", index, " out of range for dimension ", d, " of size ", n));
    if (index < 0) index += n;
    return narrow(d, index, 1).squeeze(d);
}

Tensor Tensor::expand(const Shape& target) const {
    NB_CHECK(static_cast<int64_t>(target.size()) >= dim(), "expand: the shape ", target,
             " has fewer dims than the tensor ", shape());
    const int64_t lead = static_cast<int64_t>(target.size()) - dim();
    Shape s(target.size()), st(target.size());
    for (int64_t i = 0; i < static_cast<int64_t>(target.size()); ++i) {
        if (i < lead) {
            NB_CHECK(target[i] >= 0, "expand: -1 is not allowed for a new leading dim in ", target);
            s[i] = target[i];
            st[i] = 0;
            continue;
        }
        const int64_t have = shape()[i - lead];
        const int64_t want = target[i] == -1 ? have : target[i];
        NB_CHECK(want >= 0, "expand: the expanded size ", target[i], " is invalid (target ", target, ")");
        NB_CHECK(have == want || have == 1, "expand: the expanded size ", want, " must match the existing size ", have,
                 " at dim ", i, " (tensor ", shape(), ", target ", target, ")");
        s[i] = want;
        st[i] = have == want ? strides()[i - lead] : 0;
    }
    if (s == shape()) return *this;
    Shape in = shape();
    return record_view("expand", *this, make_view(*this, s, st, offset()),
                       [in](const Tensor& gy, const NeedsGrad&) { return Grads{sum_to(gy, in)}; });
}

Tensor Tensor::squeeze() const {
    Tensor r = *this;
    for (int64_t d = dim() - 1; d >= 0; --d) r = r.squeeze(d);
    return r;
}

Tensor Tensor::squeeze(int64_t d) const {
    d = wrap_dim(d, dim(), "squeeze");
    if (dim() == 0) return *this;
    if (shape()[d] != 1) return *this;
    Shape s = shape(), st = strides();
    s.erase(s.begin() + d);
    st.erase(st.begin() + d);
    return record_view("squeeze", *this, make_view(*this, s, st, offset()),
                       [d](const Tensor& gy, const NeedsGrad&) { return Grads{gy.unsqueeze(d)}; });
}

Tensor Tensor::unsqueeze(int64_t d) const {
    d = wrap_dim(d, dim() + 1, "unsqueeze");
    Shape s = shape(), st = strides();
    const int64_t stride = d < dim() ? shape()[d] * strides()[d] : 1;
    s.insert(s.begin() + d, 1);
    st.insert(st.begin() + d, stride);
    return record_view("unsqueeze", *this, make_view(*this, s, st, offset()),
                       [d](const Tensor& gy, const NeedsGrad&) { return Grads{gy.squeeze(d)}; });
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
    start = wrap_dim(start, dim(), "flatten");
    end = wrap_dim(end, dim(), "flatten");
    if (dim() == 0) return reshape({1});
    NB_CHECK(start <= end, "flatten: start_dim ", start, " comes after end_dim ", end);
    Shape s(shape().begin(), shape().begin() + start);
    int64_t m = 1;
    for (int64_t i = start; i <= end; ++i) m *= shape()[i];
    s.push_back(m);
    s.insert(s.end(), shape().begin() + end + 1, shape().end());
    return reshape(s);
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::contiguous(MemoryFormat format) const {
    if (format == MemoryFormat::ChannelsLast)
        NB_CHECK(dim() == 4, "contiguous: channels_last needs a 4-D tensor [N, C, H, W], got ", shape());
    return is_contiguous(format) ? *this : clone(format);
}

Tensor Tensor::clone(MemoryFormat format) const {
    if (format == MemoryFormat::ChannelsLast)
        NB_CHECK(dim() == 4, "clone: channels_last needs a 4-D tensor [N, C, H, W], got ", shape());
    Tensor y = make_tensor(shape(), dtype(), device(), format);
    backend_for(*this).copy_(y, *this);
    return record_view("clone", *this, y, [](const Tensor& gy, const NeedsGrad&) { return Grads{gy}; });
}

Tensor Tensor::to(DType dt) const {
    if (dt == dtype()) return *this;
    Tensor y = make_tensor(shape(), dt, device());
    backend_for(*this).copy_(y, *this);
    if (!is_floating(dt)) return y;  // integers carry no gradient
    DType back = dtype();
    return record_view("to", *this, y, [back](const Tensor& gy, const NeedsGrad&) { return Grads{gy.to(back)}; });
}

Tensor Tensor::to(Device dev) const {
    if (dev == device()) return *this;
    Tensor y = make_tensor(shape(), dtype(), dev);
    Tensor src = contiguous();
    backend_for(dev.is_cpu() ? device() : dev).copy_(y, src);
    Device back = device();
    return record_view("to", *this, y, [back](const Tensor& gy, const NeedsGrad&) { return Grads{gy.to(back)}; });
}

Tensor Tensor::pin_memory() const {
    if (is_pinned()) return *this;
    NB_CHECK(device().is_cpu(), "pin_memory: only host tensors can be pinned, got one on ", device().str());
    Allocator* pinned = pinned_allocator();
    if (!pinned) throw NotImplementedError("pin_memory: no GPU is present (page-locked memory is for copies to a GPU)");
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = std::make_shared<Storage>(static_cast<size_t>(numel()) * element_size(dtype()), *pinned);
    impl->shape = shape();
    impl->strides = contiguous_strides(shape());
    impl->dtype = dtype();
    Tensor y(std::move(impl));
    backend_for(kCPU).copy_(y, *this);
    return record_view("pin_memory", *this, y, [](const Tensor& gy, const NeedsGrad&) { return Grads{gy}; });
}

bool Tensor::is_pinned() const { return defined() && storage() && storage()->is_pinned(); }

// --- the value of a one-element tensor, copied to the host first if needed ---
template <class T>
T Tensor::item() const {
    NB_CHECK(numel() == 1, "item: a tensor with ", numel(), " elements cannot be converted to a scalar (shape ",
             shape(), ")");
    const Tensor host = device().is_cpu() ? *this : to(kCPU);
    return dispatch_all(host.dtype(), [&]<class S>() { return convert_element<T>(*host.data_ptr<S>()); });
}
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template int64_t Tensor::item<int64_t>() const;
template uint8_t Tensor::item<uint8_t>() const;
template bool Tensor::item<bool>() const;
template int Tensor::item<int>() const;

// --- math methods, forwarding to ops/ ---
Tensor Tensor::sum() const { return nabla::sum(*this); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return nabla::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return nabla::mean(*this); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return nabla::mean(*this, dims, keepdim); }
Tensor Tensor::abs() const { return nabla::abs(*this); }
Tensor Tensor::exp() const { return nabla::exp(*this); }
Tensor Tensor::log() const { return nabla::log(*this); }
Tensor Tensor::sqrt() const { return nabla::sqrt(*this); }
Tensor Tensor::pow(double e) const { return nabla::pow(*this, e); }
Tensor Tensor::matmul(const Tensor& other) const { return nabla::matmul(*this, other); }

}  // namespace nabla
