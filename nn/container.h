// nn/container.h — torch.nn.Sequential and torch.nn.ModuleList: children numbered "0", "1", ... in order, so state-dict
// keys come out as torch's (a ModuleList `m` registered in child "24" of a Sequential gives "24.m.0.weight").
//   auto body = std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{
//       std::make_shared<nn::Conv2d>(3, 16, 3, nn::Conv2dArgs{.padding = 1}), std::make_shared<nn::ReLU>()});
//   Tensor y = (*body)(x);                                     // each child called in turn, through its CallScope
//   auto conv = body->at<nn::Conv2d>(0);                       // typed access; (*body)[-1] is the last child
//   for (const nn::ModulePtr& layer : *list) y = (*layer)(y);  // a ModuleList is iterated by its owner's forward
// Indexing reads the registered child, so a child swapped in with replace_module("3", ...) is the one used.
#pragma once
#include <memory>
#include <vector>

#include "nn/module.h"

namespace nabla::nn {

// What Sequential and ModuleList share: numbered children, push_back, indexing and iteration.
class NumberedModules : public Module {
public:
    template <class M>
    std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
        register_module(std::to_string(size_), module);
        ++size_;
        return module;
    }
    // Child i; a negative i counts from the end, as Python. An IndexError naming the container when out of range.
    ModulePtr operator[](int64_t i) const;
    // Child i as an M (a TypeError naming the container and the child's type when it is not one).
    template <class M>
    std::shared_ptr<M> at(int64_t i) const {
        ModulePtr m = (*this)[i];
        auto typed = std::dynamic_pointer_cast<M>(m);
        if (!typed)
            throw TypeError(
                detail::concat(type_name(), ": child ", i, " is a ", m->type_name(), ", not the type asked for"));
        return typed;
    }
    int64_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    class Iterator {
    public:
        Iterator(const NumberedModules* owner, int64_t i) : owner_(owner), i_(i) {}
        ModulePtr operator*() const { return (*owner_)[i_]; }
        Iterator& operator++() {
            ++i_;
            return *this;
        }
        bool operator==(const Iterator& o) const { return i_ == o.i_; }

    private:
        const NumberedModules* owner_;
        int64_t i_;
    };
    Iterator begin() const { return {this, 0}; }
    Iterator end() const { return {this, size_}; }

protected:
    NumberedModules(std::string type_name, const std::vector<ModulePtr>& modules);

private:
    int64_t size_ = 0;
};

class Sequential : public NumberedModules {
public:
    explicit Sequential(const std::vector<ModulePtr>& modules = {}) : NumberedModules("Sequential", modules) {}
    Tensor forward(const Tensor& x) override;  // x through every child in order; x itself when empty
};

class ModuleList : public NumberedModules {  // holds modules; no forward (calling it throws, as torch)
public:
    explicit ModuleList(const std::vector<ModulePtr>& modules = {}) : NumberedModules("ModuleList", modules) {}
};

}  // namespace nabla::nn
