// nn/summary.cpp — summary(): records every module call through a forward hook, then prints the table.
#include "nn/summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "autograd/grad_mode.h"
#include "ops/factory.h"

namespace nabla::nn {
namespace {

struct Row {
    std::string name;  // "path (Type)"
    int depth;
    Shape output;
    int64_t params = -1, macs = -1;  // -1: not a leaf
};

struct Recorder : ForwardHook {
    std::vector<Row> rows;
    std::vector<size_t> open;  // indices of rows whose call has not returned
    const Module* root = nullptr;

    void enter(Module& m, const std::vector<Tensor>&) override {
        if (&m == root) return;
        const std::string path = m.path();
        const int depth = static_cast<int>(std::count(path.begin(), path.end(), '.'));
        rows.push_back({fmt::format("{} ({})", path.empty() ? "?" : path, m.type_name()), depth, {}});
        open.push_back(rows.size() - 1);
    }
    void exit(Module& m, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) override {
        if (&m == root || open.empty()) return;
        Row& row = rows[open.back()];
        open.pop_back();
        if (!outputs.empty() && outputs[0].defined()) row.output = outputs[0].shape();
        if (m.named_children().empty()) {
            row.params = m.num_parameters();
            row.macs = inputs.empty() || !inputs[0].defined() ? 0 : m.macs(inputs[0].shape(), row.output);
        } else {  // a container: only the parameters it registered itself (its children have their own rows)
            int64_t own = 0;
            for (const auto& [name, p] : m.named_parameters(false)) own += p.numel();
            if (own > 0) row.params = own;
        }
    }
};

}  // namespace

std::string with_commas(int64_t n) {
    std::string digits = std::to_string(n < 0 ? -n : n), out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return n < 0 ? "-" + out : out;
}

std::string si_suffix(double n) {
    const char* units[] = {"", "K", "M", "G", "T"};
    int u = 0;
    while (std::abs(n) >= 1000 && u < 4) n /= 1000, ++u;
    return u == 0 ? fmt::format("{:.0f}", n) : fmt::format("{:.2f}{}", n, units[u]);
}

std::string summary(Module& model, const Shape& input_shape) {
    auto recorder = std::make_shared<Recorder>();
    recorder->root = &model;
    const bool was_training = model.is_training();
    model.eval();
    const int handle = add_forward_hook(recorder);
    try {
        autograd::NoGradGuard no_grad;
        model.call_outputs(zeros(input_shape));
    } catch (...) {
        remove_forward_hook(handle);
        model.train(was_training);
        throw;
    }
    remove_forward_hook(handle);
    model.train(was_training);

    size_t name_width = 12;
    for (const auto& r : recorder->rows) name_width = std::max(name_width, r.name.size() + 2 * r.depth);
    std::string out =
        fmt::format("{:<{}}  {:<22}{:>14}{:>12}\n", "Layer (type)", name_width, "Output shape", "Params", "MACs");
    int64_t macs = 0;
    for (const auto& r : recorder->rows) {
        const std::string name = std::string(2 * static_cast<size_t>(r.depth), ' ') + r.name;
        out += fmt::format("{:<{}}  {:<22}{:>14}{:>12}\n", name, name_width, shape_str(r.output),
                           r.params < 0 ? "-" : with_commas(r.params),
                           r.macs < 0 ? "-" : si_suffix(static_cast<double>(r.macs)));
        macs += std::max<int64_t>(r.macs, 0);
    }
    out += fmt::format("Total params: {} (trainable {})   MACs: {}   Input {}\n", with_commas(model.num_parameters()),
                       with_commas(model.num_parameters(true)), si_suffix(static_cast<double>(macs)),
                       shape_str(input_shape));
    return out;
}

}  // namespace nabla::nn
