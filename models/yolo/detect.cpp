// models/yolo/detect.cpp — Detect: the per-level output convolutions, the raw maps and their eval decoding, and the
// build steps on the anchors and biases (docs/yolo.md §4, §5).
#include "models/yolo/detect.h"

#include <fmt/format.h>

#include <cmath>

#include "core/trace/trace.h"
#include "ops/ops.h"

namespace nabla::models {
namespace {

Tensor anchors_tensor(const std::vector<std::vector<double>>& anchors) {
    NB_CHECK_VALUE(!anchors.empty() && !anchors[0].empty() && anchors[0].size() % 2 == 0,
                   "Detect: anchors must be (w, h) pairs for at least one level, got ", anchors.size(), " levels",
                   anchors.empty() ? "" : fmt::format(", the first with {} numbers", anchors[0].size()));
    std::vector<float> flat;
    for (size_t i = 0; i < anchors.size(); ++i) {
        NB_CHECK_VALUE(anchors[i].size() == anchors[0].size(),
                       "Detect: every level needs as many anchors, level 0 has ", anchors[0].size() / 2, " and level ",
                       i, " has ", anchors[i].size(), " numbers");
        for (double a : anchors[i]) flat.push_back(static_cast<float>(a));  // torch.tensor(anchors).float()
    }
    return from_vector(flat, {static_cast<int64_t>(anchors.size()), static_cast<int64_t>(anchors[0].size() / 2), 2});
}

}  // namespace

Detect::Detect(int64_t nc_, const std::vector<std::vector<double>>& anchors_, const std::vector<int64_t>& ch_)
    : nn::Module("Detect"),
      nc(nc_),
      no(nc_ + 5),
      nl(static_cast<int64_t>(anchors_.size())),
      na(anchors_.empty() ? 0 : static_cast<int64_t>(anchors_[0].size() / 2)),
      ch(ch_) {
    NB_CHECK_VALUE(nc >= 1, "Detect: needs at least one class, got nc = ", nc);
    Tensor a = anchors_tensor(anchors_);
    NB_CHECK_VALUE(static_cast<int64_t>(ch.size()) == nl, "Detect: ", nl, " levels of anchors but ", ch.size(),
                   " input maps (", fmt::format("{}", ch), ")");
    anchors = register_buffer("anchors", a);
    m = register_module("m", std::make_shared<nn::ModuleList>());
    for (int64_t c : ch) m->push_back(std::make_shared<nn::Conv2d>(c, no * na, 1));
}

std::vector<Tensor> Detect::forward(const std::vector<Tensor>& xs) {
    NB_CHECK(static_cast<int64_t>(xs.size()) == nl, "Detect: expects ", nl, " maps, got ", xs.size());
    std::vector<Tensor> raw, z;
    for (int64_t i = 0; i < nl; ++i) {
        const Tensor& x = xs[static_cast<size_t>(i)];
        NB_CHECK(x.dim() == 4 && x.size(1) == ch[static_cast<size_t>(i)], "Detect: level ", i, " expects a map [B, ",
                 ch[static_cast<size_t>(i)], ", H, W], got ", shape_str(x.shape()));
        const Tensor y = (*(*m)[i])(x);  // [B, na * no, H, W]
        const int64_t bs = y.size(0), ny = y.size(2), nx = y.size(3);
        raw.push_back(y.view({bs, na, no, ny, nx}).permute({0, 1, 3, 4, 2}).contiguous());
        if (!is_training()) z.push_back(decode(raw.back(), i));
    }
    if (is_training()) return raw;
    std::vector<Tensor> out{cat(z, 1)};
    out.insert(out.end(), raw.begin(), raw.end());
    return out;
}

std::vector<Tensor> Detect::operator()(const std::vector<Tensor>& xs) {
    trace::ModuleScope trace_scope([this] {
        std::string p = path();
        return p.empty() ? type_name() : p;
    });
    nn::CallScope scope(*this, xs);
    return scope.finish(forward(xs));
}

Tensor Detect::decode(const Tensor& p, int64_t i) const {
    NB_CHECK_VALUE(static_cast<int64_t>(stride.size()) == nl,
                   "Detect: decoding needs the strides of the levels (set by YOLOv5's build; a Detect built alone "
                   "needs `stride` set), have ",
                   stride.size(), " for ", nl, " levels");
    NB_CHECK(p.dim() == 5 && p.size(1) == na && p.size(4) == no, "Detect: decode expects a raw map [B, ", na,
             ", H, W, ", no, "], got ", shape_str(p.shape()));
    const int64_t bs = p.size(0), ny = p.size(2), nx = p.size(3);
    const double s = stride[static_cast<size_t>(i)];
    const TensorOptions o{.dtype = p.dtype(), .device = p.device()};
    // grid[..., 0] = column, grid[..., 1] = row; the anchors back in pixels, [1, na, 1, 1, 2]
    const Tensor grid = cat({arange(nx, o).view({1, 1, 1, nx, 1}).expand({1, 1, ny, nx, 1}),
                             arange(ny, o).view({1, 1, ny, 1, 1}).expand({1, 1, ny, nx, 1})},
                            4);
    const Tensor anchor_grid = (anchors.select(0, i).to(p.dtype()).to(p.device()) * s).view({1, na, 1, 1, 2});
    const Tensor y = sigmoid(p);
    const Tensor xy = (y.narrow(4, 0, 2) * 2.0 - 0.5 + grid) * s;
    const Tensor wh = (y.narrow(4, 2, 2) * 2.0).pow(2.0) * anchor_grid;
    return cat({xy, wh, y.narrow(4, 4, no - 4)}, 4).view({bs, -1, no});
}

void Detect::to_grid_units() {
    NB_CHECK_VALUE(static_cast<int64_t>(stride.size()) == nl, "Detect: to_grid_units needs ", nl, " strides, have ",
                   stride.size());
    autograd::NoGradGuard no_grad;
    for (int64_t i = 0; i < nl; ++i) anchors.select(0, i).div_(stride[static_cast<size_t>(i)]);
}

void Detect::check_anchor_order() {
    NB_CHECK_VALUE(static_cast<int64_t>(stride.size()) == nl, "Detect: check_anchor_order needs ", nl,
                   " strides, have ", stride.size());
    autograd::NoGradGuard no_grad;
    // ultralytics compares the area of the very first anchor with the very last one's.
    const Tensor area = (anchors.select(2, 0) * anchors.select(2, 1)).reshape({-1});
    const double da = area.select(0, area.numel() - 1).item<double>() - area.select(0, 0).item<double>();
    const double ds = stride.back() - stride.front();
    auto sign = [](double v) { return (v > 0) - (v < 0); };
    if (sign(da) != sign(ds)) anchors.copy_(flip(anchors.clone(), {0}));
}

void Detect::initialize_biases() {
    NB_CHECK_VALUE(static_cast<int64_t>(stride.size()) == nl, "Detect: initialize_biases needs ", nl, " strides, have ",
                   stride.size());
    autograd::NoGradGuard no_grad;
    for (int64_t i = 0; i < nl; ++i) {
        const double s = stride[static_cast<size_t>(i)];
        const Tensor b = m->at<nn::Conv2d>(i)->bias.view({na, no});
        b.narrow(1, 4, 1).add_(std::log(8.0 / ((640.0 / s) * (640.0 / s))));  // objectness: 8 objects per 640 image
        b.narrow(1, 5, nc).add_(std::log(0.6 / (static_cast<double>(nc) - 0.99)));  // classes
    }
}

}  // namespace nabla::models
