// nn/optim/state_io.cpp — StateIO: scalars and short lists as small tensors of a TensorMap (see state_io.h).
#include "nn/optim/state_io.h"

#include "ops/factory.h"
#include "ops/format.h"

namespace nabla::optim {
namespace {

template <class T>
Tensor vector_tensor(const std::vector<T>& values, bool zero_dim) {
    Tensor t = empty(zero_dim ? Shape{} : Shape{static_cast<int64_t>(values.size())}, {.dtype = dtype_of<T>()});
    std::copy(values.begin(), values.end(), t.data_ptr<T>());
    return t;
}

template <class T>
std::vector<T> tensor_values(const Tensor& t) {
    const Tensor c = t.to(kCPU).to(dtype_of<T>()).contiguous();
    return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

}  // namespace

StateIO StateIO::saver(TensorMap& out, std::string prefix) {
    return StateIO(Mode::save, &out, nullptr, std::move(prefix));
}
StateIO StateIO::checker(const TensorMap& in, std::string prefix) {
    return StateIO(Mode::check, nullptr, &in, std::move(prefix));
}
StateIO StateIO::loader(const TensorMap& in, std::string prefix) {
    return StateIO(Mode::load, nullptr, &in, std::move(prefix));
}

const Tensor* StateIO::find(const std::string& name, int64_t numel) {
    const std::string key = prefix_ + name;
    visited_.insert(key);
    auto it = in_->find(key);
    if (it == in_->end()) {
        problems_.push_back(detail::concat("missing ", key));
        return nullptr;
    }
    const Tensor& t = it->second;
    if (t.dtype() == kBool && numel != 1) {
        problems_.push_back(detail::concat(key, ": a bool tensor where numbers are expected"));
        return nullptr;
    }
    if (numel >= 0 && t.numel() != numel) {
        problems_.push_back(detail::concat(key, ": ", t.shape(), " holds ", t.numel(), " values, expected ", numel));
        return nullptr;
    }
    return &t;
}

void StateIO::field(const std::string& name, double& value) {
    if (mode_ == Mode::save) {
        (*out_)[prefix_ + name] = vector_tensor<double>({value}, true);
    } else if (const Tensor* t = find(name, 1); t && mode_ == Mode::load) {
        value = t->item<double>();
    }
}

void StateIO::field(const std::string& name, int64_t& value) {
    if (mode_ == Mode::save) {
        (*out_)[prefix_ + name] = vector_tensor<int64_t>({value}, true);
    } else if (const Tensor* t = find(name, 1); t && mode_ == Mode::load) {
        value = t->item<int64_t>();
    }
}

void StateIO::field(const std::string& name, bool& value) {
    if (mode_ == Mode::save) {
        Tensor t = empty({}, {.dtype = kBool});
        *t.data_ptr<bool>() = value;
        (*out_)[prefix_ + name] = t;
    } else if (const Tensor* t = find(name, 1); t && mode_ == Mode::load) {
        value = t->item<bool>();
    }
}

void StateIO::field(const std::string& name, std::optional<double>& value) {
    if (mode_ == Mode::save) {
        if (value) field(name, *value);
        return;
    }
    if (!in_->count(prefix_ + name)) {  // absent is allowed
        visited_.insert(prefix_ + name);
        if (mode_ == Mode::load) value.reset();
        return;
    }
    double v = 0;
    field(name, v);
    if (mode_ == Mode::load) value = v;
}

void StateIO::field(const std::string& name, std::vector<double>& values, bool resizable) {
    if (mode_ == Mode::save) {
        (*out_)[prefix_ + name] = vector_tensor(values, false);
    } else if (const Tensor* t = find(name, resizable ? -1 : static_cast<int64_t>(values.size()));
               t && mode_ == Mode::load) {
        values = tensor_values<double>(*t);
    }
}

void StateIO::field(const std::string& name, std::vector<int64_t>& values, bool resizable) {
    if (mode_ == Mode::save) {
        (*out_)[prefix_ + name] = vector_tensor(values, false);
    } else if (const Tensor* t = find(name, resizable ? -1 : static_cast<int64_t>(values.size()));
               t && mode_ == Mode::load) {
        values = tensor_values<int64_t>(*t);
    }
}

std::vector<std::string> unexpected_keys(const TensorMap& in, const std::set<std::string>& visited,
                                         const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& [key, t] : in)
        if (key.compare(0, prefix.size(), prefix) == 0 && !visited.count(key)) out.push_back("unexpected " + key);
    return out;
}

}  // namespace nabla::optim
