// nn/prune.cpp — the channel graph read off the tape, network slimming's plan, the pruned state dict and the L1
// subgradient (nn/prune.h; docs/slimming.md).
#include "nn/prune.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <unordered_map>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "nn/normalization.h"
#include "ops/ops.h"

namespace nabla::nn {
namespace {

using autograd::Node;
using Layout = std::optional<ChannelLayout>;  // nullopt: the channels cannot be followed (not a 4-D map, ...)

std::string strip_suffix(const std::string& name, const std::string& suffix) {
    return name.ends_with(suffix) ? name.substr(0, name.size() - suffix.size()) : name;
}

int64_t width(const ChannelLayout& l) {
    int64_t c = 0;
    for (const auto& s : l) c += s.end - s.begin;
    return c;
}

// Ops that keep every channel where it was and the value of a constant channel constant: pooling, resizing, copies.
bool keeps_channels(const std::string& op) {
    static const std::set<std::string> ops{"max_pool2d",  "avg_pool2d", "adaptive_avg_pool2d",
                                           "interpolate", "clone",      "to"};
    return ops.contains(op);
}
// Elementwise functions of one input: they keep the channels and change each value.
bool is_activation(const std::string& op) {
    static const std::set<std::string> ops{"relu", "relu6",      "silu",     "sigmoid", "hardswish", "hardsigmoid",
                                           "tanh", "leaky_relu", "softplus", "abs",     "neg",       "exp"};
    return ops.contains(op);
}
bool is_batch_norm(const std::string& op) {
    return op == "batch_norm" || op == "batch_norm_relu" || op == "batch_norm_silu";
}
bool is_elementwise_binary(const std::string& op) { return op == "add" || op == "sub" || op == "mul" || op == "div"; }

// The op a recorded activation name stands for, to apply to the constants removed channels carry; null for one the
// pruner cannot evaluate (an unknown slope, "?").
using Activation = Tensor (*)(const Tensor&);
Activation activation_of(const std::string& op) {
    static const std::map<std::string, Activation> ops{{"relu", [](const Tensor& t) { return relu(t); }},
                                                       {"relu6", [](const Tensor& t) { return relu6(t); }},
                                                       {"silu", [](const Tensor& t) { return silu(t); }},
                                                       {"sigmoid", [](const Tensor& t) { return sigmoid(t); }},
                                                       {"hardswish", [](const Tensor& t) { return hardswish(t); }},
                                                       {"hardsigmoid", [](const Tensor& t) { return hardsigmoid(t); }},
                                                       {"tanh", [](const Tensor& t) { return nabla::tanh(t); }}};
    const auto it = ops.find(op);
    return it == ops.end() ? nullptr : it->second;
}

std::vector<double> to_doubles(const Tensor& t) {
    const Tensor c = t.detach().to(kCPU).to(kFloat64).contiguous();
    const double* p = c.data_ptr<double>();
    return {p, p + c.numel()};
}

struct UnionFind {
    std::vector<int64_t> parent;
    int64_t add() {
        parent.push_back(static_cast<int64_t>(parent.size()));
        return parent.back();
    }
    int64_t find(int64_t i) {
        while (parent[i] != i) i = parent[i] = parent[parent[i]];
        return i;
    }
    void unite(int64_t a, int64_t b) { parent[find(a)] = find(b); }
};

// Reads the tape in forward order and builds the graph (ChannelGraph's sources and members, plus the ties and pins
// that become groups in finish()).
class Tracer {
public:
    explicit Tracer(Module& model) {
        for (const auto& [name, p] : model.named_parameters()) param_names_[p.impl()] = name;
    }

    void run(const std::vector<Tensor>& outputs) {
        std::vector<Node*> nodes;
        std::set<Node*> seen;
        std::vector<Node*> stack;
        for (const auto& y : outputs)
            if (y.defined() && y.grad_fn()) stack.push_back(y.grad_fn().get());
        while (!stack.empty()) {
            Node* n = stack.back();
            stack.pop_back();
            if (!seen.insert(n).second) continue;
            nodes.push_back(n);
            for (const auto& e : n->inputs)
                if (e.node) stack.push_back(e.node.get());
        }
        std::sort(nodes.begin(), nodes.end(), [](Node* a, Node* b) { return a->sequence_nr < b->sequence_nr; });
        for (Node* n : nodes) layouts_[n] = visit(*n);
        for (const auto& y : outputs)
            if (y.defined()) pin(layout_of(y), "a network output");
    }

    ChannelGraph finish(bool prune_residual) {
        ChannelGraph g;
        g.prune_residual = prune_residual;
        g.sources = sources_;
        g.members = members_;
        std::map<int64_t, int64_t> group_of_root;
        g.group_of.resize(sources_.size());
        for (size_t s = 0; s < sources_.size(); ++s) {
            const int64_t root = uf_.find(static_cast<int64_t>(s));
            auto [it, inserted] = group_of_root.emplace(root, static_cast<int64_t>(g.groups.size()));
            if (inserted) g.groups.push_back({.channels = sources_[s].channels});
            g.group_of[s] = it->second;
            g.groups[it->second].sources.push_back(static_cast<int64_t>(s));
        }
        for (const auto& [s, why] : pins_) {
            ChannelGroup& grp = g.groups[g.group_of[s]];
            if (!grp.fixed) grp.fixed = true, grp.why = why;
        }
        for (const auto& m : members_) {
            if (m.kind != ChannelMember::Kind::Norm) continue;
            std::set<int64_t> groups;
            for (const auto& seg : m.layout)
                if (seg.source >= 0) groups.insert(g.group_of[seg.source]);
            for (int64_t gi : groups) g.groups[gi].norms.push_back(m.path);
        }
        mark_residual(g);
        return g;
    }

private:
    std::unordered_map<const TensorImpl*, std::string> param_names_;
    std::unordered_map<const Node*, Layout> layouts_;
    std::unordered_map<const Node*, int64_t> conv_source_;  // a conv node -> the source it started
    std::vector<ChannelSource> sources_;
    std::vector<ChannelMember> members_;
    std::vector<std::pair<int64_t, std::string>> pins_;
    UnionFind uf_;

    std::string param_name(const autograd::Edge& e) const {
        if (!e.leaf) return "";
        const auto it = param_names_.find(e.leaf.get());
        return it == param_names_.end() ? "" : it->second;
    }

    // The channels of a node's input: those of the node that made it; a tensor from outside (the input, a
    // constant, a parameter) brings outside channels.
    Layout layout_of(const Node& n, size_t i) const {
        const Shape& s = n.input_shapes[i];
        const auto& e = n.inputs[i];
        if (e.node) {
            const auto it = layouts_.find(e.node.get());
            return it == layouts_.end() ? std::nullopt : it->second;
        }
        if (s.size() != 4) return std::nullopt;
        return ChannelLayout{{.source = -1, .begin = 0, .end = s[1]}};
    }
    Layout layout_of(const Tensor& y) const {
        if (!y.grad_fn()) return std::nullopt;
        const auto it = layouts_.find(y.grad_fn().get());
        return it == layouts_.end() ? std::nullopt : it->second;
    }

    void pin(const Layout& l, const std::string& why) {
        if (!l) return;
        for (const auto& seg : *l)
            if (seg.source >= 0) pins_.emplace_back(seg.source, why);
    }
    void pin_inputs(const Node& n, const std::string& why) {
        for (size_t i = 0; i < n.inputs.size(); ++i) pin(layout_of(n, i), why);
    }

    static Layout with_op(Layout l, const std::string& op) {
        if (l)
            for (auto& seg : *l) seg.ops.push_back(op);
        return l;
    }

    Layout visit(const Node& n) {
        const std::string& op = n.name;
        const bool map4d = n.output_shape.size() == 4;
        if (op == "conv2d") return visit_conv(n);
        if (is_batch_norm(op) && map4d) return visit_batch_norm(n);
        if (n.inputs.size() == 1 && map4d && n.input_shapes[0].size() == 4 &&
            n.input_shapes[0][1] == n.output_shape[1]) {
            if (keeps_channels(op)) return layout_of(n, 0);
            if (is_activation(op)) return with_op(layout_of(n, 0), op);
        }
        if (op == "cat" && map4d) return visit_cat(n);
        if (is_elementwise_binary(op) && map4d && n.inputs.size() == 2) return visit_binary(n);
        pin_inputs(n, "read by " + op);
        return std::nullopt;
    }

    Layout visit_conv(const Node& n) {
        const std::string weight = n.inputs.size() >= 2 ? param_name(n.inputs[1]) : "";
        const Shape& x = n.input_shapes[0];
        const Shape& w = n.input_shapes[1];
        const Layout in = layout_of(n, 0);
        if (weight.empty() || x.size() != 4 || w.size() != 4 || !in) {
            pin(in, "read by a conv2d whose weight is not a parameter");
            return std::nullopt;
        }
        const std::string conv = strip_suffix(weight, ".weight");
        const int64_t groups = x[1] / w[1], out = w[0];
        if (groups == 1) {
            const auto s = static_cast<int64_t>(sources_.size());
            sources_.push_back({.conv = conv, .channels = out, .input = *in});
            uf_.add();
            conv_source_[&n] = s;
            return ChannelLayout{{.source = s, .begin = 0, .end = out}};
        }
        if (groups == x[1] && out == x[1]) {  // depthwise: channel c from channel c
            members_.push_back({.kind = ChannelMember::Kind::Depthwise, .path = conv, .layout = *in});
            return with_op(in, "?");
        }
        pin(in, fmt::format("read by {} (groups={})", conv, groups));
        const auto s = static_cast<int64_t>(sources_.size());
        sources_.push_back({.conv = conv, .channels = out, .input = {{.source = -1, .begin = 0, .end = x[1]}}});
        uf_.add();
        pins_.emplace_back(s, fmt::format("made by {} (groups={})", conv, groups));
        return ChannelLayout{{.source = s, .begin = 0, .end = out}};
    }

    Layout visit_batch_norm(const Node& n) {
        const std::string weight = n.inputs.size() >= 2 ? param_name(n.inputs[1]) : "";
        Layout l = layout_of(n, 0);
        if (weight.empty() || !l) {
            pin(l, "read by a batch_norm without an affine weight parameter");
            return std::nullopt;
        }
        const std::string path = strip_suffix(weight, ".weight");
        members_.push_back({.kind = ChannelMember::Kind::Norm, .path = path, .layout = *l});
        if (n.inputs[0].node) {
            const auto it = conv_source_.find(n.inputs[0].node.get());
            if (it != conv_source_.end() && sources_[it->second].norm.empty()) sources_[it->second].norm = path;
        }
        for (auto& seg : *l) {
            seg.norm = path;
            seg.ops.clear();
            if (n.name == "batch_norm_relu") seg.ops.push_back("relu");
            if (n.name == "batch_norm_silu") seg.ops.push_back("silu");
        }
        return l;
    }

    Layout visit_cat(const Node& n) {
        int64_t c = 0;
        bool channels = true;
        for (const auto& s : n.input_shapes) {
            if (s.size() != 4)
                channels = false;
            else
                c += s[1];
        }
        ChannelLayout out;
        if (channels && c == n.output_shape[1]) {
            for (size_t i = 0; i < n.inputs.size(); ++i) {
                const Layout l = layout_of(n, i);
                if (!l) {
                    pin_inputs(n, "concatenated with a map the pruner cannot follow");
                    return std::nullopt;
                }
                out.insert(out.end(), l->begin(), l->end());
            }
            return out;
        }
        pin_inputs(n, "concatenated along another dimension than the channels");
        return std::nullopt;
    }

    // add/sub/mul/div: an input with the output's channels ties its channels to the other such input's; an input
    // broadcast over the channels (one channel, a scalar) changes the values only.
    Layout visit_binary(const Node& n) {
        std::vector<ChannelLayout> full;
        for (size_t i = 0; i < 2; ++i) {
            const Shape& s = n.input_shapes[i];
            const bool broadcast =
                s.size() < 3 || (s.size() == 4 && s[1] == 1 && n.output_shape[1] != 1) || (s.size() == 3 && s[0] == 1);
            const Layout l = layout_of(n, i);
            if (broadcast) {
                pin(l, "broadcast over the channels by " + n.name);
                continue;
            }
            if (!l || s.size() != 4 || s[1] != n.output_shape[1]) {
                pin_inputs(n, "combined by " + n.name + " with a map the pruner cannot follow");
                return std::nullopt;
            }
            full.push_back(*l);
        }
        if (full.size() == 2 && !tie(full[0], full[1])) {
            pin_inputs(n, "combined by " + n.name + " with channels in another order");
            return std::nullopt;
        }
        if (full.empty()) return std::nullopt;
        return with_op(full[0], "?");
    }

    // Unites the sources channel by channel; false when the two layouts do not line up source to source.
    bool tie(const ChannelLayout& a, const ChannelLayout& b) {
        if (a.size() != b.size()) return false;
        for (size_t i = 0; i < a.size(); ++i) {
            const auto &x = a[i], &y = b[i];
            if (x.end - x.begin != y.end - y.begin || x.begin != y.begin) return false;
            if ((x.source < 0) != (y.source < 0)) return false;
            if (x.source >= 0 && sources_[x.source].channels != sources_[y.source].channels) return false;
        }
        for (size_t i = 0; i < a.size(); ++i)
            if (a[i].source >= 0) uf_.unite(a[i].source, b[i].source);
        return true;
    }

    // Coupled groups, and the groups whose source reads a coupled group and whose every reader writes back into it
    // (the hidden layer of a residual branch).
    static void mark_residual(ChannelGraph& g) {
        for (auto& grp : g.groups) grp.residual = grp.sources.size() > 1;
        std::vector<std::set<int64_t>> readers(g.groups.size());  // group -> the groups its readers write
        for (size_t s = 0; s < g.sources.size(); ++s)
            for (const auto& seg : g.sources[s].input)
                if (seg.source >= 0) readers[g.group_of[seg.source]].insert(g.group_of[s]);
        for (size_t gi = 0; gi < g.groups.size(); ++gi) {
            auto& grp = g.groups[gi];
            if (grp.residual || grp.sources.size() != 1 || readers[gi].size() != 1) continue;
            std::set<int64_t> from;
            for (const auto& seg : g.sources[grp.sources[0]].input)
                from.insert(seg.source >= 0 ? g.group_of[seg.source] : -1);
            const int64_t into = *readers[gi].begin();
            if (from.size() == 1 && *from.begin() == into && into >= 0 && g.groups[into].sources.size() > 1)
                grp.residual = true;
        }
    }
};

// The positions of the kept channels in a layout (what a reader's dim 1, or a member's dim 0, keeps).
std::vector<int64_t> kept_positions(const ChannelGraph& g, const PrunePlan& plan, const ChannelLayout& layout) {
    std::vector<int64_t> out;
    int64_t offset = 0;
    for (const auto& seg : layout) {
        if (seg.source < 0) {
            for (int64_t c = seg.begin; c < seg.end; ++c) out.push_back(offset + c - seg.begin);
        } else {
            for (int64_t c : plan.keep[g.group_of[seg.source]])
                if (c >= seg.begin && c < seg.end) out.push_back(offset + c - seg.begin);
        }
        offset += seg.end - seg.begin;
    }
    return out;
}

Tensor select(const Tensor& t, int64_t dim, const std::vector<int64_t>& index) {
    if (static_cast<int64_t>(index.size()) == t.size(dim)) return t;
    return index_select(t, dim, from_vector(index, {static_cast<int64_t>(index.size())})).contiguous();
}

const Tensor& at(const TensorMap& state, const std::string& key) {
    const auto it = state.find(key);
    NB_CHECK_VALUE(it != state.end(), "prune: the state dict has no '", key, "' (not the traced model's weights?)");
    return it->second;
}

// What the removed channels of a reader's input added to each of its outputs: Σ_c Σ_taps W[o, c] · value(c), with
// value(c) the constant a removed channel carries (act(β) of its last BatchNorm, 0 for a kept one), as a float64
// [out] tensor; undefined when no channel it reads was removed; nullopt when some removed channel's value is unknown
// (no BatchNorm, or an op the pruner cannot evaluate).
std::optional<Tensor> removed_contribution(const ChannelGraph& g, const PrunePlan& plan, const TensorMap& state,
                                           const ChannelSource& reader) {
    const Tensor& w = at(state, reader.conv + ".weight");
    std::vector<double> value(static_cast<size_t>(w.size(1)), 0.0);
    bool any = false;
    int64_t offset = 0;
    for (const auto& seg : reader.input) {
        if (seg.source >= 0) {
            const auto& keep = plan.keep[g.group_of[seg.source]];
            std::vector<bool> kept(static_cast<size_t>(seg.end), false);
            for (int64_t c : keep)
                if (c < seg.end) kept[c] = true;
            Tensor v;  // the segment's constants, act(β), computed when a channel of it is removed
            for (int64_t c = seg.begin; c < seg.end; ++c) {
                if (kept[c]) continue;
                if (!v.defined()) {
                    if (seg.norm.empty()) return std::nullopt;
                    v = at(state, seg.norm + ".bias").detach().to(kFloat64);
                    for (const auto& op : seg.ops) {
                        const Activation f = activation_of(op);
                        if (!f) return std::nullopt;
                        v = f(v);
                    }
                    v = v.contiguous();
                }
                value[offset + c - seg.begin] = v.data_ptr<double>()[c];
                any = true;
            }
        }
        offset += seg.end - seg.begin;
    }
    if (!any) return Tensor();
    return matmul(w.detach().to(kFloat64).sum({2, 3}), from_vector(value, {w.size(1)}));
}

// Divides a group's scores by their mean or maximum ("none": leaves them); an all-zero group stays zero.
void normalize(std::vector<double>& scores, const std::string& normalizer) {
    if (normalizer == "none" || scores.empty()) return;
    const double by = normalizer == "max"
                          ? *std::max_element(scores.begin(), scores.end())
                          : std::accumulate(scores.begin(), scores.end(), 0.0) / static_cast<double>(scores.size());
    if (by > 0)
        for (double& v : scores) v /= by;
}

}  // namespace

bool ChannelGraph::prunable(int64_t group) const {
    const ChannelGroup& g = groups.at(group);
    return !g.fixed && !g.norms.empty() && (prune_residual || !g.residual);
}

std::vector<std::string> ChannelGraph::prunable_norms() const {
    std::vector<std::string> out;
    for (const auto& m : members) {
        if (m.kind != ChannelMember::Kind::Norm) continue;
        bool all = !m.layout.empty();
        for (const auto& seg : m.layout)
            if (seg.source < 0 || !prunable(group_of[seg.source])) all = false;
        if (all && std::find(out.begin(), out.end(), m.path) == out.end()) out.push_back(m.path);
    }
    return out;
}

std::string ChannelGraph::describe() const {
    std::string s =
        fmt::format("{:>5}  {:>8}  {:<9}  {}\n", "group", "channels", "prunable", "sources (norms) / why not");
    for (size_t gi = 0; gi < groups.size(); ++gi) {
        const auto& grp = groups[gi];
        std::vector<std::string> convs;
        for (int64_t src : grp.sources) convs.push_back(sources[src].conv);
        std::string why = grp.fixed                           ? grp.why
                          : grp.norms.empty()                 ? "no BatchNorm"
                          : (grp.residual && !prune_residual) ? "residual"
                                                              : "";
        s += fmt::format("{:>5}  {:>8}  {:<9}  {} ({}){}{}\n", gi, grp.channels,
                         prunable(static_cast<int64_t>(gi)) ? "yes" : "no", fmt::join(convs, ", "),
                         fmt::join(grp.norms, ", "), why.empty() ? "" : " / ", why);
    }
    return s;
}

ChannelGraph trace_channels(Module& model, const Tensor& example, bool prune_residual) {
    struct TraceMode {  // eval mode with the tape on while tracing; the caller's modes back afterwards, also on error
        Module& model;
        const bool training = model.is_training(), grad = autograd::is_grad_enabled();
        explicit TraceMode(Module& m) : model(m) {
            autograd::set_grad_enabled(true);
            model.eval();
        }
        ~TraceMode() {
            model.train(training);
            autograd::set_grad_enabled(grad);
        }
    } mode(model);
    Tracer tracer(model);
    tracer.run(model.call_outputs(example));
    return tracer.finish(prune_residual);
}

PrunePlan plan_slimming(const ChannelGraph& g, const TensorMap& state, const SlimmingOptions& o) {
    NB_CHECK_VALUE(o.percent >= 0 && o.percent < 1, "prune: percent must be in [0, 1), got ", o.percent);
    NB_CHECK_VALUE(o.min_keep >= 1 && o.multiple >= 1, "prune: min_keep and multiple must be >= 1, got ", o.min_keep,
                   " and ", o.multiple);
    NB_CHECK_VALUE(std::find(kNormalizers.begin(), kNormalizers.end(), o.normalizer) != kNormalizers.end(),
                   "prune: normalizer must be none, mean or max, got '", o.normalizer, "'");
    PrunePlan plan;
    std::vector<std::vector<double>> scores(g.groups.size());
    std::vector<double> all;
    std::vector<double> group_max;
    for (size_t gi = 0; gi < g.groups.size(); ++gi) {
        const auto& grp = g.groups[gi];
        if (!g.prunable(static_cast<int64_t>(gi))) continue;
        auto& sc = scores[gi];
        sc.assign(grp.channels, 0.0);
        for (const auto& m : g.members) {
            if (m.kind != ChannelMember::Kind::Norm) continue;
            std::vector<double> gamma;
            int64_t offset = 0;
            for (const auto& seg : m.layout) {
                if (seg.source >= 0 && g.group_of[seg.source] == static_cast<int64_t>(gi)) {
                    if (gamma.empty()) gamma = to_doubles(at(state, m.path + ".weight"));
                    for (int64_t c = seg.begin; c < seg.end; ++c)
                        sc[c] = std::max(sc[c], std::abs(gamma.at(offset + c - seg.begin)));
                }
                offset += seg.end - seg.begin;
            }
        }
        normalize(sc, o.normalizer);
        all.insert(all.end(), sc.begin(), sc.end());
        group_max.push_back(*std::max_element(sc.begin(), sc.end()));
    }
    std::sort(all.begin(), all.end());
    const auto n = static_cast<int64_t>(all.size());
    if (n > 0) {
        plan.threshold = all[std::min<int64_t>(static_cast<int64_t>(static_cast<double>(n) * o.percent), n - 1)];
        const double highest = *std::min_element(group_max.begin(), group_max.end());
        plan.max_percent = static_cast<double>(std::lower_bound(all.begin(), all.end(), highest) - all.begin()) /
                           static_cast<double>(n);
    }
    plan.keep.resize(g.groups.size());
    for (size_t gi = 0; gi < g.groups.size(); ++gi) {
        const int64_t c = g.groups[gi].channels;
        auto& keep = plan.keep[gi];
        if (scores[gi].empty()) {
            keep.resize(c);
            std::iota(keep.begin(), keep.end(), 0);
            continue;
        }
        const auto& sc = scores[gi];
        std::vector<int64_t> order(c);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return sc[a] > sc[b]; });
        int64_t k = 0;
        while (k < c && sc[order[k]] >= plan.threshold) ++k;
        k = std::max(k, std::min(o.min_keep, c));
        k = std::min(c, (k + o.multiple - 1) / o.multiple * o.multiple);
        keep.assign(order.begin(), order.begin() + k);
        std::sort(keep.begin(), keep.end());
        plan.channels_before += c;
        plan.channels_after += k;
    }
    return plan;
}

TensorMap prune_state_dict(const ChannelGraph& g, const PrunePlan& plan, const TensorMap& state, bool compensate) {
    NB_CHECK_VALUE(plan.keep.size() == g.groups.size(), "prune: the plan has ", plan.keep.size(), " groups, the graph ",
                   g.groups.size());
    TensorMap out = state;
    auto narrow_key = [&](const std::string& key, int64_t dim, const std::vector<int64_t>& index) {
        const auto it = out.find(key);
        if (it != out.end()) it->second = select(it->second, dim, index);
    };
    // compensation first, on the unpruned tensors: what each reader lost, over its own kept outputs, lands after the
    // narrowing in its bias (+) or its BatchNorm's running_mean (-)
    std::vector<std::pair<std::string, Tensor>> shifts;
    if (compensate) {
        for (size_t s = 0; s < g.sources.size(); ++s) {
            const auto& src = g.sources[s];
            const auto delta = removed_contribution(g, plan, state, src);
            if (!delta || !delta->defined()) continue;
            const Tensor kept = select(*delta, 0, plan.keep[g.group_of[s]]);
            if (state.contains(src.conv + ".bias"))
                shifts.emplace_back(src.conv + ".bias", kept);
            else if (!src.norm.empty())
                shifts.emplace_back(src.norm + ".running_mean", -kept);
        }
    }
    for (size_t s = 0; s < g.sources.size(); ++s) {
        const auto& src = g.sources[s];
        const auto& keep = plan.keep[g.group_of[s]];
        const std::string w = src.conv + ".weight";
        NB_CHECK_VALUE(at(state, w).dim() == 4 && at(state, w).size(1) == width(src.input), "prune: ", w, " is ",
                       at(state, w).shape(), ", the traced conv read ", width(src.input), " channels");
        narrow_key(w, 0, keep);
        narrow_key(w, 1, kept_positions(g, plan, src.input));
        narrow_key(src.conv + ".bias", 0, keep);
    }
    for (const auto& m : g.members) {
        const std::vector<int64_t> pos = kept_positions(g, plan, m.layout);
        for (const char* t : {".weight", ".bias", ".running_mean", ".running_var"}) narrow_key(m.path + t, 0, pos);
    }
    for (const auto& [key, d] : shifts) out.at(key) = (out.at(key) + d.to(out.at(key).dtype())).contiguous();
    return out;
}

void add_l1_subgradient(Module& model, const std::vector<std::string>& norms, double sr_gamma, double sr_beta) {
    NoGradGuard no_grad;
    for (const auto& path : norms) {
        auto* bn = dynamic_cast<BatchNorm2d*>(model.find(path));
        NB_CHECK_VALUE(bn, "sparsity: '", path, "' is not a BatchNorm2d of the model");
        NB_CHECK_VALUE(bn->weight.defined() && bn->weight.grad().defined() && bn->bias.grad().defined(),
                       "sparsity: ", path, " has no gradient for its weight and bias (not affine, or not trained?)");
        bn->weight.grad().add_(sign(bn->weight) * sr_gamma);
        bn->bias.grad().add_(sign(bn->bias) * sr_beta);
    }
}

std::vector<double> abs_gammas(const TensorMap& state, const std::vector<std::string>& norms) {
    std::vector<double> out;
    for (const auto& path : norms) {
        const std::vector<double> g = to_doubles(at(state, path + ".weight"));
        for (double v : g) out.push_back(std::abs(v));
    }
    return out;
}

}  // namespace nabla::nn
