// models/yolo/loss.cpp — YOLOv5 v6.0's ComputeLoss (docs/yolo_loss.md): build_targets on the host in the targets'
// dtype (its arithmetic is that of the reference, rounding included), the per-level terms with differentiable ops.
#include "models/yolo/loss.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <string>

#include "ops/ops.h"

namespace nabla::models {

namespace {

std::string shapes_of(const std::vector<Tensor>& p) {
    std::string s;
    for (const Tensor& t : p) s += (s.empty() ? "" : ", ") + (t.defined() ? shape_str(t.shape()) : "undefined");
    return "[" + s + "]";
}

// The shapes both entry points need: nl maps [B, na, ny, nx, no], the same B, na and no (5 + nc when nc > 0),
// targets [n, 6] and anchors [nl, na, 2], all floating point.
void check_inputs(const char* fn, const std::vector<Tensor>& p, const Tensor& targets, const Tensor& anchors,
                  int64_t nc) {
    const auto fail = [&](const char* what) {
        return detail::concat(fn, ": ", what, "; got preds ", shapes_of(p), ", targets ",
                              targets.defined() ? shape_str(targets.shape()) : "undefined", ", anchors ",
                              anchors.defined() ? shape_str(anchors.shape()) : "undefined",
                              nc > 0 ? detail::concat(", nc ", nc) : "");
    };
    NB_CHECK(anchors.defined() && anchors.dim() == 3 && anchors.size(2) == 2 && anchors.size(1) > 0,
             fail("expects anchors [nl, na, 2]"));
    const int64_t nl = anchors.size(0), na = anchors.size(1);
    NB_CHECK(static_cast<int64_t>(p.size()) == nl && nl > 0, fail("expects one map per level of the anchors"));
    const int64_t no = nc > 0 ? 5 + nc : (p[0].defined() && p[0].dim() == 5 ? p[0].size(4) : -1);
    for (const Tensor& t : p)
        NB_CHECK(t.defined() && t.dim() == 5 && t.size(0) == p[0].size(0) && t.size(1) == na && t.size(2) > 0 &&
                     t.size(3) > 0 && t.size(4) == no && no >= 5,
                 fail("expects every map [B, na, ny, nx, 5 + nc] with the same B and the na of the anchors"));
    NB_CHECK(targets.defined() && targets.dim() == 2 && targets.size(1) == 6,
             fail("expects targets [n, 6] (image, class, x, y, w, h)"));
    for (const Tensor* t : {&targets, &anchors, &p[0]})
        if (!is_floating(t->dtype()))
            throw TypeError(detail::concat(fn, ": expects floating point preds, targets and anchors, got ",
                                           dtype_name(t->dtype())));
    for (const Tensor& t : p)
        if (t.dtype() != p[0].dtype())
            throw TypeError(detail::concat(fn, ": maps of different dtypes ", dtype_name(p[0].dtype()), " and ",
                                           dtype_name(t.dtype())));
}

template <class T>
std::vector<T> host_values(const Tensor& t) {
    const Tensor c = t.detach().to(kCPU).to(dtype_of<T>()).contiguous();
    const T* v = c.data_ptr<T>();
    return std::vector<T>(v, v + c.numel());
}

// x % 1 as torch.remainder (the sign of the divisor).
template <class T>
T remainder1(T x) {
    T r = std::fmod(x, T(1));
    if (r != 0 && r < 0) r += T(1);
    return r;
}

// One target matched to one anchor of a level, in grid units, with the neighbour cells it also trains.
template <class T>
struct Match {
    int64_t b, cls, a;
    T gx, gy, w, h;
    std::array<bool, 5> fires;  // centre, left, up, right, down
};

template <class T>
std::vector<Match<T>> match_anchors(const std::vector<T>& tg, const T* anc, int64_t na, int64_t nx, int64_t ny,
                                    T anchor_t) {
    const T g = 0.5, fx = static_cast<T>(nx), fy = static_cast<T>(ny);
    const int64_t nt = static_cast<int64_t>(tg.size()) / 6;
    std::vector<Match<T>> out;
    for (int64_t a = 0; a < na; ++a)
        for (int64_t i = 0; i < nt; ++i) {
            const T* t = tg.data() + 6 * i;
            const T w = t[4] * fx, h = t[5] * fy;
            const T rw = w / anc[2 * a], rh = h / anc[2 * a + 1];
            if (!(std::max({rw, T(1) / rw, rh, T(1) / rh}) < anchor_t)) continue;
            const T gx = t[2] * fx, gy = t[3] * fy, ix = fx - gx, iy = fy - gy;
            Match<T> m{static_cast<int64_t>(t[0]), static_cast<int64_t>(t[1]), a, gx, gy, w, h, {}};
            m.fires = {true, remainder1(gx) < g && gx > 1, remainder1(gy) < g && gy > 1, remainder1(ix) < g && ix > 1,
                       remainder1(iy) < g && iy > 1};
            out.push_back(m);
        }
    return out;
}

template <class T>
YoloLevelTargets level_targets(const std::vector<T>& tg, const T* anc, int64_t na, int64_t nx, int64_t ny, T anchor_t,
                               Device device) {
    const T g = 0.5;
    const T off[5][2] = {{0, 0}, {g, 0}, {0, g}, {-g, 0}, {0, -g}};
    const std::vector<Match<T>> matches = match_anchors(tg, anc, na, nx, ny, anchor_t);
    std::vector<int64_t> cls, b, a, gj, gi;
    std::vector<T> box, anch;
    for (int k = 0; k < 5; ++k)
        for (const Match<T>& m : matches) {
            if (!m.fires[k]) continue;
            const int64_t i = std::clamp(static_cast<int64_t>(m.gx - off[k][0]), int64_t{0}, nx - 1);
            const int64_t j = std::clamp(static_cast<int64_t>(m.gy - off[k][1]), int64_t{0}, ny - 1);
            cls.push_back(m.cls), b.push_back(m.b), a.push_back(m.a), gj.push_back(j), gi.push_back(i);
            box.insert(box.end(), {m.gx - static_cast<T>(i), m.gy - static_cast<T>(j), m.w, m.h});
            anch.insert(anch.end(), {anc[2 * m.a], anc[2 * m.a + 1]});
        }
    const int64_t n = static_cast<int64_t>(b.size());
    const auto ints = [&](const std::vector<int64_t>& v) { return from_vector(v, {n}).to(device); };
    return {.tcls = ints(cls),
            .tbox = from_vector(box, {n, 4}).to(device),
            .b = ints(b),
            .a = ints(a),
            .gj = ints(gj),
            .gi = ints(gi),
            .anch = from_vector(anch, {n, 2}).to(device)};
}

template <class T>
std::vector<YoloLevelTargets> build_targets_as(const std::vector<Tensor>& p, const Tensor& targets,
                                               const Tensor& anchors, double anchor_t) {
    const std::vector<T> tg = host_values<T>(targets), anc = host_values<T>(anchors);
    const int64_t na = anchors.size(1);
    std::vector<YoloLevelTargets> out;
    for (size_t i = 0; i < p.size(); ++i)
        out.push_back(level_targets<T>(tg, anc.data() + 2 * na * static_cast<int64_t>(i), na, p[i].size(3),
                                       p[i].size(2), static_cast<T>(anchor_t), p[i].device()));
    return out;
}

// BCEWithLogitsLoss(pos_weight) with the mean, or ultralytics' FocalLoss around it (alpha 0.25) when fl_gamma > 0.
Tensor bce_loss(const Tensor& logits, const Tensor& target, double pos_weight, double fl_gamma) {
    const Tensor pw = full({1}, pos_weight, logits.options());
    if (fl_gamma <= 0) return binary_cross_entropy_with_logits(logits, target, Tensor(), pw);
    const Tensor loss = binary_cross_entropy_with_logits(logits, target, Tensor(), pw, Reduction::None);
    const Tensor prob = sigmoid(logits);
    const Tensor p_t = target * prob + (1.0 - target) * (1.0 - prob);
    const Tensor alpha_factor = target * 0.25 + (1.0 - target) * (1.0 - 0.25);
    return mean(loss * (alpha_factor * pow(1.0 - p_t, fl_gamma)));
}

// CIoU of the predicted boxes at the target cells: xy = 2 sigmoid - 0.5, wh = (2 sigmoid)^2 * anchor.
Tensor prediction_iou(const Tensor& ps, const YoloLevelTargets& lt) {
    const Tensor pxy = sigmoid(ps.slice(1, 0, 2)) * 2.0 - 0.5;
    const Tensor pwh = pow(sigmoid(ps.slice(1, 2, 4)) * 2.0, 2.0) * lt.anch.to(ps.dtype());
    return bbox_iou(cat({pxy, pwh}, 1), lt.tbox.to(ps.dtype()), false, IoUKind::CIoU);
}

Tensor objectness_zeros(const Tensor& pi) {
    return zeros({pi.size(0), pi.size(1), pi.size(2), pi.size(3)}, pi.options());
}

// tobj[b, a, gj, gi] = (1 - gr) + gr * clamp(iou, 0), detached; the last write to a cell wins.
Tensor objectness_target(const Tensor& pi, const YoloLevelTargets& lt, const Tensor& iou, const YoloLossOptions& o) {
    Tensor score = clamp(iou.detach(), 0.0, std::nullopt);
    std::vector<Tensor> at = {lt.b, lt.a, lt.gj, lt.gi};
    if (o.sort_obj_iou) {
        const ValuesIndices sorted = sort(score);
        score = sorted.values;
        for (Tensor& t : at) t = index_select(t, 0, sorted.indices);
    }
    return index_put(objectness_zeros(pi), at, score * o.gr + (1.0 - o.gr));
}

// BCE of the class logits against one-hot targets cp = 1 - eps/2 at the class, cn = eps/2 elsewhere.
Tensor class_loss(const Tensor& ps, const Tensor& tcls, int64_t nc, const YoloLossOptions& o) {
    const double cp = 1.0 - 0.5 * o.label_smoothing, cn = 0.5 * o.label_smoothing;
    const Tensor onehot =
        eq(arange(static_cast<double>(nc), {.dtype = kInt64, .device = ps.device()}).unsqueeze(0), tcls.unsqueeze(1));
    const Tensor t = where(onehot, full({}, cp, ps.options()), cn);
    return bce_loss(ps.slice(1, 5, 5 + nc), t, o.cls_pw, o.fl_gamma);
}

// Image indices in [0, B) and, when nc > 0, classes in [0, nc).
void check_target_values(const char* fn, const Tensor& targets, int64_t batch, int64_t nc) {
    const std::vector<double> tg = host_values<double>(targets);
    for (size_t i = 0; i < tg.size(); i += 6) {
        NB_CHECK_VALUE(tg[i] >= 0 && static_cast<int64_t>(tg[i]) < batch, fn, ": target ", i / 6, " has image index ",
                       tg[i], " outside the batch of ", batch);
        NB_CHECK_VALUE(nc <= 0 || (tg[i + 1] >= 0 && static_cast<int64_t>(tg[i + 1]) < nc), fn, ": target ", i / 6,
                       " has class ", tg[i + 1], " outside [0, ", nc, ")");
    }
}

}  // namespace

std::vector<double> default_balance(int64_t nl) {
    if (nl == 3) return {4.0, 1.0, 0.4};
    NB_CHECK_VALUE(nl >= 1 && nl <= 5, "default_balance: no default balance for ", nl,
                   " levels (1 to 5); give YoloLossOptions::balance");
    const std::vector<double> five = {4.0, 1.0, 0.25, 0.06, 0.02};
    return {five.begin(), five.begin() + nl};
}

YoloLossOptions scale_loss_gains(YoloLossOptions options, int64_t nc, int64_t img_size, int64_t nl) {
    NB_CHECK_VALUE(nc > 0 && img_size > 0 && nl > 0, "scale_loss_gains: expects positive nc, img_size and nl, got ", nc,
                   ", ", img_size, ", ", nl);
    const double levels = static_cast<double>(nl);
    options.box *= 3.0 / levels;
    options.cls *= static_cast<double>(nc) / 80.0 * 3.0 / levels;
    options.obj *= std::pow(static_cast<double>(img_size) / 640.0, 2) * 3.0 / levels;
    return options;
}

std::vector<YoloLevelTargets> build_targets(const std::vector<Tensor>& p, const Tensor& targets, const Tensor& anchors,
                                            double anchor_t) {
    check_inputs("build_targets", p, targets, anchors, 0);
    check_target_values("build_targets", targets, p[0].size(0), 0);
    if (targets.dtype() == kFloat64) return build_targets_as<double>(p, targets, anchors, anchor_t);
    return build_targets_as<float>(p, targets, anchors, anchor_t);
}

Tensor bbox_iou(const Tensor& box1, const Tensor& box2, bool x1y1x2y2, IoUKind kind, double eps) {
    NB_CHECK(box1.dim() == 2 && box1.size(1) == 4 && box1.shape() == box2.shape(),
             "bbox_iou: expects paired boxes [n, 4] and [n, 4], got ", box1.shape(), " and ", box2.shape());
    struct Corners {
        Tensor x1, y1, x2, y2;
    };
    const auto corners = [&](const Tensor& b) {
        const Tensor x = b.select(1, 0), y = b.select(1, 1), w = b.select(1, 2), h = b.select(1, 3);
        if (x1y1x2y2) return Corners{x, y, w, h};
        return Corners{x - w / 2.0, y - h / 2.0, x + w / 2.0, y + h / 2.0};
    };
    const Corners a = corners(box1), b = corners(box2);
    const auto positive = [](const Tensor& t) { return clamp(t, 0.0, std::nullopt); };
    const Tensor inter =
        positive(minimum(a.x2, b.x2) - maximum(a.x1, b.x1)) * positive(minimum(a.y2, b.y2) - maximum(a.y1, b.y1));
    const Tensor w1 = a.x2 - a.x1, h1 = a.y2 - a.y1 + eps;
    const Tensor w2 = b.x2 - b.x1, h2 = b.y2 - b.y1 + eps;
    const Tensor union_ = w1 * h1 + w2 * h2 - inter + eps;
    const Tensor iou = inter / union_;
    if (kind == IoUKind::IoU) return iou;
    const Tensor cw = maximum(a.x2, b.x2) - minimum(a.x1, b.x1);  // the enclosing box
    const Tensor ch = maximum(a.y2, b.y2) - minimum(a.y1, b.y1);
    if (kind == IoUKind::GIoU) {
        const Tensor c_area = cw * ch + eps;
        return iou - (c_area - union_) / c_area;
    }
    const Tensor c2 = pow(cw, 2.0) + pow(ch, 2.0) + eps;  // squared diagonal
    const Tensor rho2 = (pow(b.x1 + b.x2 - a.x1 - a.x2, 2.0) + pow(b.y1 + b.y2 - a.y1 - a.y2, 2.0)) / 4.0;
    if (kind == IoUKind::DIoU) return iou - rho2 / c2;
    const double k = 4.0 / (std::numbers::pi * std::numbers::pi);
    const Tensor v = pow(atan(w2 / h2) - atan(w1 / h1), 2.0) * k;
    Tensor alpha;
    {
        NoGradGuard no_grad;
        alpha = v / (v - iou + (1.0 + eps));
    }
    return iou - (rho2 / c2 + v * alpha);
}

YoloLoss yolo_loss(const std::vector<Tensor>& preds, const Tensor& targets, const Tensor& anchors, int64_t nc,
                   const YoloLossOptions& o) {
    NB_CHECK_VALUE(nc >= 1, "yolo_loss: nc must be positive, got ", nc);
    check_inputs("yolo_loss", preds, targets, anchors, nc);
    check_target_values("yolo_loss", targets, preds[0].size(0), nc);
    const int64_t nl = static_cast<int64_t>(preds.size());
    std::vector<double> balance = o.balance.empty() ? default_balance(nl) : o.balance;
    NB_CHECK_VALUE(static_cast<int64_t>(balance.size()) == nl, "yolo_loss: balance has ", balance.size(),
                   " values for ", nl, " levels");
    NB_CHECK_VALUE(!o.autobalance || (o.ssi >= 0 && o.ssi < nl), "yolo_loss: ssi ", o.ssi, " is not a level of ", nl);
    const std::vector<YoloLevelTargets> levels = build_targets(preds, targets, anchors, o.anchor_t);
    Tensor lbox = zeros({}, preds[0].options()), lobj = lbox, lcls = lbox;
    for (int64_t i = 0; i < nl; ++i) {
        const Tensor& pi = preds[i];
        const YoloLevelTargets& lt = levels[i];
        Tensor tobj;  // the objectness target [B, na, ny, nx]
        if (lt.b.size(0) > 0) {
            const Tensor ps = index(pi, {lt.b, lt.a, lt.gj, lt.gi});  // [n, 5 + nc]
            const Tensor iou = prediction_iou(ps, lt);
            lbox = lbox + mean(1.0 - iou);
            tobj = objectness_target(pi, lt, iou, o);
            if (nc > 1) lcls = lcls + class_loss(ps, lt.tcls, nc, o);
        } else {
            tobj = objectness_zeros(pi);
        }
        const Tensor obji = bce_loss(pi.select(4, 4), tobj, o.obj_pw, o.fl_gamma);
        lobj = lobj + obji * balance[i];
        if (o.autobalance) balance[i] = balance[i] * 0.9999 + 0.0001 / obji.item<double>();
    }
    if (o.autobalance) {
        const double ref = balance[o.ssi];
        for (double& x : balance) x /= ref;
    }
    lbox = lbox * o.box;
    lobj = lobj * o.obj;
    lcls = lcls * o.cls;
    const Tensor sum = lbox + lobj + lcls;
    return {.total = sum * static_cast<double>(preds[0].size(0)),
            .items = stack({lbox, lobj, lcls, sum}).detach(),
            .balance = balance};
}

}  // namespace nabla::models
