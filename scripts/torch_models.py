"""scripts/torch_models.py — the PyTorch twins of Nabla's models, with the same state-dict names.

Used by bench/bench_models_torch.py (speed comparison) and tests/fixtures/make_models.py (golden outputs and
gradients for `nabla forward`). Each entry of MODELS builds the model from the same constructor arguments as
`nabla ... --set key=value`, and LOSSES gives the training step's loss as apps/models.cpp defines it.
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBNReLU(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class TinySeg(nn.Module):
    """models/tinyseg/tinyseg.h"""

    def __init__(self, in_channels=3, width=16):
        super().__init__()
        self.enc1 = ConvBNReLU(in_channels, width)
        self.enc2 = ConvBNReLU(width, 2 * width)
        self.dec1 = ConvBNReLU(3 * width, width)
        self.head = nn.Conv2d(width, 1, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2, 2, ceil_mode=True))
        up = F.interpolate(e2, size=e1.shape[2:], mode="bilinear", align_corners=False)
        return [self.head(self.dec1(torch.cat([up, e1], 1)))]


class REBNCONV(nn.Module):
    def __init__(self, cin, cout, d=1):
        super().__init__()
        self.conv_s1 = nn.Conv2d(cin, cout, 3, padding=d, dilation=d)
        self.bn_s1 = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn_s1(self.conv_s1(x)))


def _up(x, like):
    return F.interpolate(x, size=like.shape[2:], mode="bilinear", align_corners=False)


def _pool(x):
    return F.max_pool2d(x, 2, 2, ceil_mode=True)


class RSU(nn.Module):
    """RSU7 .. RSU4 of U-2-Net (docs/u2net.md §1), one class for every height, with the public module names."""

    def __init__(self, height, cin, mid, cout):
        super().__init__()
        self.height = height
        self.rebnconvin = REBNCONV(cin, cout, 1)
        for k in range(1, height + 1):
            setattr(self, f"rebnconv{k}", REBNCONV(cout if k == 1 else mid, mid, 2 if k == height else 1))
        for k in range(height - 1, 0, -1):
            setattr(self, f"rebnconv{k}d", REBNCONV(2 * mid, cout if k == 1 else mid, 1))

    def forward(self, x):
        xin = self.rebnconvin(x)
        skips = [self.rebnconv1(xin)]
        for k in range(2, self.height):
            skips.append(getattr(self, f"rebnconv{k}")(_pool(skips[-1])))
        d = getattr(self, f"rebnconv{self.height}")(skips[-1])
        for k in range(self.height - 1, 0, -1):
            skip = skips[k - 1]
            d = getattr(self, f"rebnconv{k}d")(torch.cat([_up(d, skip), skip], 1))
        return d + xin


class RSU4F(nn.Module):
    def __init__(self, cin, mid, cout):
        super().__init__()
        self.rebnconvin = REBNCONV(cin, cout, 1)
        self.rebnconv1 = REBNCONV(cout, mid, 1)
        self.rebnconv2 = REBNCONV(mid, mid, 2)
        self.rebnconv3 = REBNCONV(mid, mid, 4)
        self.rebnconv4 = REBNCONV(mid, mid, 8)
        self.rebnconv3d = REBNCONV(2 * mid, mid, 4)
        self.rebnconv2d = REBNCONV(2 * mid, mid, 2)
        self.rebnconv1d = REBNCONV(2 * mid, cout, 1)

    def forward(self, x):
        xin = self.rebnconvin(x)
        e1 = self.rebnconv1(xin)
        e2 = self.rebnconv2(e1)
        e3 = self.rebnconv3(e2)
        e4 = self.rebnconv4(e3)
        d3 = self.rebnconv3d(torch.cat([e4, e3], 1))
        d2 = self.rebnconv2d(torch.cat([d3, e2], 1))
        return self.rebnconv1d(torch.cat([d2, e1], 1)) + xin


U2NET_WIDTHS = [(3, 32, 64), (64, 32, 128), (128, 64, 256), (256, 128, 512), (512, 256, 512), (512, 256, 512),
                (1024, 256, 512), (1024, 128, 256), (512, 64, 128), (256, 32, 64), (128, 16, 64)]
U2NETP_WIDTHS = [(3, 16, 64)] + [(64, 16, 64)] * 5 + [(128, 16, 64)] * 5
_HEIGHTS = [7, 6, 5, 4, 0, 0, 0, 4, 5, 6, 7]


class U2NET(nn.Module):
    """U2NET / U2NETP (models/u2net/u2net.h): returns the seven logit maps d0 (fused), d1 .. d6."""

    def __init__(self, widths=U2NET_WIDTHS, out_ch=1):
        super().__init__()
        names = [f"stage{i}" for i in range(1, 7)] + [f"stage{i}d" for i in range(5, 0, -1)]
        for name, h, (cin, mid, cout) in zip(names, _HEIGHTS, widths):
            setattr(self, name, RSU4F(cin, mid, cout) if h == 0 else RSU(h, cin, mid, cout))
        side_in = [widths[10][2], widths[9][2], widths[8][2], widths[7][2], widths[6][2], widths[5][2]]
        for k in range(6):
            setattr(self, f"side{k + 1}", nn.Conv2d(side_in[k], out_ch, 3, padding=1))
        self.outconv = nn.Conv2d(6 * out_ch, out_ch, 1)

    def forward(self, x):
        enc = []
        for i in range(1, 7):
            enc.append(getattr(self, f"stage{i}")(x if i == 1 else _pool(enc[-1])))
        d = enc[5]
        levels = [None] * 5 + [d]
        for i in range(5, 0, -1):
            skip = enc[i - 1]
            d = getattr(self, f"stage{i}d")(torch.cat([_up(d, skip), skip], 1))
            levels[i - 1] = d
        sides = [_up(getattr(self, f"side{k + 1}")(levels[k]), levels[0]) for k in range(6)]
        return [self.outconv(torch.cat(sides, 1))] + sides


class PyramidAttention(nn.Module):
    """models/panet/pyramid_attention.h, written from docs/panet.md §1 in the reference's direct form (per-sample
    conv2d with the normalised key patches as kernels, conv_transpose2d to paste), bicubic with align_corners=True."""

    def __init__(self, level=4, res_scale=1.0, channel=64, reduction=2, ksize=3, softmax_scale=10.0):
        super().__init__()
        self.level, self.res_scale, self.ksize, self.softmax_scale = level, res_scale, ksize, softmax_scale
        self.register_buffer("escape_NaN", torch.FloatTensor([1e-4]))
        self.conv_match_L_base = nn.Sequential(nn.Conv2d(channel, channel // reduction, 1), nn.PReLU())
        self.conv_match = nn.Sequential(nn.Conv2d(channel, channel // reduction, 1), nn.PReLU())
        self.conv_assembly = nn.Sequential(nn.Conv2d(channel, channel, 1), nn.PReLU())

    def forward(self, x):
        k, pad = self.ksize, self.ksize // 2
        keys, values = [], []
        for i in range(self.level):
            s = 1 - i / 10
            xs = x if i == 0 else F.interpolate(x, scale_factor=s, mode="bicubic", align_corners=True,
                                                recompute_scale_factor=True)
            keys.append(F.unfold(self.conv_match(xs), k, padding=pad))
            values.append(F.unfold(self.conv_assembly(xs), k, padding=pad))
        keys, values = torch.cat(keys, 2), torch.cat(values, 2)
        q = self.conv_match_L_base(x)
        out = []
        for i in range(x.shape[0]):
            kp = keys[i].t().reshape(keys.shape[2], -1, k, k)
            kp = kp / torch.max(kp.pow(2).sum(dim=(1, 2, 3), keepdim=True).sqrt(), self.escape_NaN)
            a = F.softmax(F.conv2d(q[i:i + 1], kp, padding=pad) * self.softmax_scale, dim=1)
            vp = values[i].t().reshape(values.shape[2], -1, k, k)
            out.append(F.conv_transpose2d(a, vp, padding=pad) / 4)
        return torch.cat(out, 0) + x * self.res_scale


class ResBlock(nn.Module):
    """models/panet/panet.h: the reference blog's ResBlock, relu(x + model(x))."""

    def __init__(self, c):
        super().__init__()
        self.model = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                                   nn.Conv2d(c, c, 3, 1, 1, padding_mode="reflect", bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return F.relu(x + self.model(x))


class PANet(nn.Module):
    """models/panet/panet.h: the reference blog's Model(64, 24), x2 SR, [-1, 1] in and out."""

    def __init__(self, channels=64, blocks=24, level=4):
        super().__init__()
        c = channels
        self.features = nn.Sequential(nn.Conv2d(3, c, 7, padding=3, padding_mode="reflect", bias=False),
                                      nn.BatchNorm2d(c), nn.ReLU(),
                                      nn.Conv2d(c, c, 3, padding=1, padding_mode="reflect", bias=False),
                                      nn.BatchNorm2d(c), nn.ReLU())
        body = [ResBlock(c) for _ in range(blocks // 2)] + [PyramidAttention(level=level, channel=c)]
        body += [ResBlock(c) for _ in range(blocks - blocks // 2)]
        self.sequential = nn.Sequential(*body)
        self.upSample = nn.Sequential(nn.Conv2d(c, 4 * c, 3, padding=1, padding_mode="reflect"), nn.PixelShuffle(2),
                                      nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, 3, 1), nn.Tanh())

    def forward(self, x):
        return [self.upSample(self.features(x) + self.sequential(self.features(x)))]


def pfld_channels(c, width):
    """models/pfld/pfld.h: max(1, round(c * width)) with halves rounded up."""
    return max(1, int(math.floor(c * width + 0.5)))


def _pfld_conv_bn(inp, oup, kernel, stride, padding=1):
    return nn.Sequential(nn.Conv2d(inp, oup, kernel, stride, padding, bias=False), nn.BatchNorm2d(oup), nn.ReLU())


class InvertedResidual(nn.Module):
    """models/pfld/pfld.h: the MobileNetV2 block of PFLD, conv.0 .. conv.7, residual only when told."""

    def __init__(self, inp, oup, stride, use_res_connect, expand_ratio):
        super().__init__()
        self.use_res_connect = use_res_connect
        m = inp * expand_ratio
        self.conv = nn.Sequential(nn.Conv2d(inp, m, 1, 1, 0, bias=False), nn.BatchNorm2d(m), nn.ReLU(),
                                  nn.Conv2d(m, m, 3, stride, 1, groups=m, bias=False), nn.BatchNorm2d(m), nn.ReLU(),
                                  nn.Conv2d(m, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup))

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class PFLDInference(nn.Module):
    """models/pfld/pfld.h: the PFLD backbone (docs/pfld.md §1), written from the network table; returns (out1,
    landmarks). bn8 is declared and unused, as in the reference."""

    def __init__(self, width=1.0):
        super().__init__()
        c64, c128, c16, c32 = (pfld_channels(c, width) for c in (64, 128, 16, 32))
        self.conv1 = nn.Conv2d(3, c64, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c64)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c64, c64, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c64)
        self.conv3_1 = InvertedResidual(c64, c64, 2, False, 2)
        for k in range(2, 6):
            setattr(self, f"block3_{k}", InvertedResidual(c64, c64, 1, True, 2))
        self.conv4_1 = InvertedResidual(c64, c128, 2, False, 2)
        self.conv5_1 = InvertedResidual(c128, c128, 1, False, 4)
        for k in range(2, 7):
            setattr(self, f"block5_{k}", InvertedResidual(c128, c128, 1, True, 4))
        self.conv6_1 = InvertedResidual(c128, c16, 1, False, 2)
        self.conv7 = _pfld_conv_bn(c16, c32, 3, 2)
        self.conv8 = nn.Conv2d(c32, c128, 7, 1, 0)
        self.bn8 = nn.BatchNorm2d(c128)
        self.avg_pool1 = nn.AvgPool2d(14)
        self.avg_pool2 = nn.AvgPool2d(7)
        self.fc = nn.Linear(c16 + c32 + c128, 196)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = self.conv3_1(x)
        for k in range(2, 6):
            x = getattr(self, f"block3_{k}")(x)
        out1 = x
        x = self.conv5_1(self.conv4_1(out1))
        for k in range(2, 7):
            x = getattr(self, f"block5_{k}")(x)
        x = self.conv6_1(x)
        x1 = self.avg_pool1(x).flatten(1)
        x = self.conv7(x)
        x2 = self.avg_pool2(x).flatten(1)
        x3 = self.relu(self.conv8(x)).flatten(1)
        return out1, self.fc(torch.cat([x1, x2, x3], 1))


class AuxiliaryNet(nn.Module):
    """models/pfld/pfld.h: PFLD's pose head on out1 -> [N, 3]."""

    def __init__(self, width=1.0):
        super().__init__()
        c64, c128, c32 = (pfld_channels(c, width) for c in (64, 128, 32))
        self.conv1 = _pfld_conv_bn(c64, c128, 3, 2)
        self.conv2 = _pfld_conv_bn(c128, c128, 3, 1)
        self.conv3 = _pfld_conv_bn(c128, c32, 3, 2)
        self.conv4 = _pfld_conv_bn(c32, c128, 7, 1)
        self.max_pool1 = nn.MaxPool2d(3)
        self.fc1 = nn.Linear(c128, c32)
        self.fc2 = nn.Linear(c32, 3)

    def forward(self, x):
        x = self.conv4(self.conv3(self.conv2(self.conv1(x))))
        return self.fc2(self.fc1(self.max_pool1(x).flatten(1)))


class PFLD(nn.Module):
    """models/pfld/pfld.h: backbone + auxiliarynet; returns [features, landmarks, angles]."""

    def __init__(self, width=1.0):
        super().__init__()
        self.backbone = PFLDInference(width)
        self.auxiliarynet = AuxiliaryNet(width)

    def forward(self, x):
        features, landmarks = self.backbone(x)
        return [features, landmarks, self.auxiliarynet(features)]


def pfld_loss(attribute_gt, landmark_gt, euler_angle_gt, angle, landmarks, train_batchsize=256):
    """models/pfld/loss.h (docs/pfld.md §2): (weighted, l2). The attribute ratios are constants; they are computed in
    the landmarks' dtype (the reference makes them float32 whatever the input)."""
    weight_angle = torch.sum(1 - torch.cos(angle - euler_angle_gt), dim=1)
    attributes = attribute_gt[:, 1:6].to(landmarks.dtype)
    p = attributes.detach().mean(dim=0)
    ratio = torch.tensor([1.0 / x if x > 0 else float(train_batchsize) for x in p.tolist()], dtype=landmarks.dtype)
    weight_attribute = torch.sum(attributes * ratio, dim=1)
    l2 = torch.sum((landmark_gt - landmarks) * (landmark_gt - landmarks), dim=1)
    return torch.mean(weight_angle * weight_attribute * l2), torch.mean(l2)


def pfld_target(n, gen):
    """The bench target of PFLD packed in one tensor [N, 205]: landmarks in [0, 1] (196), attributes 0/1 (6), Euler
    angles in degrees (3, about N(0, 20))."""
    return torch.cat([torch.rand(n, 196, generator=gen), (torch.rand(n, 6, generator=gen) > 0.5).float(),
                      torch.randn(n, 3, generator=gen) * 20], 1)


def pfld_target_loss(outputs, target):
    return pfld_loss(target[:, 196:202], target[:, :196], target[:, 202:205], outputs[2], outputs[1])[0]


def _u2_loss(outputs, target):
    return sum(F.binary_cross_entropy_with_logits(o, target) for o in outputs)


# ---- YOLOv5 (models/yolo/, docs/yolo.md): ultralytics v6.0's network built from the same model yaml ----

YOLO_CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "yolo", "configs")


def autopad(k, p=None):
    return k // 2 if p is None else p


class Conv(nn.Module):
    """models/yolo/common.h: conv (no bias) -> bn (eps 1e-3, momentum 0.03) -> act (SiLU)."""

    def __init__(self, c1, c2, k=1, s=1, p=None, g=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p), groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c1, c2, shortcut=True, g=1, e=0.5, hidden=None):
        super().__init__()
        c_ = int(c2 * e) if hidden is None else hidden
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_, c2, 3, 1, g=g)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        return x + self.cv2(self.cv1(x)) if self.add else self.cv2(self.cv1(x))


class C3(nn.Module):
    """widths: (cv1, cv2, [(hidden, out) per bottleneck]) to replace ultralytics' c_ = int(c2 * e) everywhere."""

    def __init__(self, c1, c2, n=1, shortcut=True, g=1, e=0.5, widths=None):
        super().__init__()
        c_ = int(c2 * e)
        cv1, cv2, blocks = widths or (c_, c_, [(c_, c_)] * n)
        self.cv1 = Conv(c1, cv1, 1, 1)
        self.cv2 = Conv(c1, cv2, 1, 1)
        m, cin = [], cv1
        for hidden, out in blocks:
            m.append(Bottleneck(cin, out, shortcut, g, e=1.0, hidden=hidden))
            cin = out
        self.m = nn.Sequential(*m)
        self.cv3 = Conv(cin + cv2, c2, 1)

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5, hidden=None):
        super().__init__()
        c_ = c1 // 2 if hidden is None else hidden
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_ * 4, c2, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))


class Concat(nn.Module):
    def __init__(self, dimension=1):
        super().__init__()
        self.d = dimension

    def forward(self, x):
        return torch.cat(x, self.d)


class Detect(nn.Module):
    """models/yolo/detect.h: training -> the raw maps [B, na, H, W, no]; eval -> [decoded [B, N, no]] + raw maps."""

    def __init__(self, nc, anchors, ch):
        super().__init__()
        self.nc, self.no, self.nl, self.na = nc, nc + 5, len(anchors), len(anchors[0]) // 2
        self.stride = None  # a list of floats, set by YOLOv5's probe
        self.register_buffer("anchors", torch.tensor(anchors).float().view(self.nl, -1, 2))
        self.m = nn.ModuleList(nn.Conv2d(c, self.no * self.na, 1) for c in ch)

    def forward(self, xs):
        raw, z = [], []
        for i in range(self.nl):
            x = self.m[i](xs[i])
            bs, _, ny, nx = x.shape
            x = x.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()
            raw.append(x)
            if not self.training:
                yv, xv = torch.meshgrid(torch.arange(ny), torch.arange(nx), indexing="ij")
                grid = torch.stack((xv, yv), 2).view(1, 1, ny, nx, 2).to(x.dtype)
                anchor_grid = (self.anchors[i] * self.stride[i]).view(1, self.na, 1, 1, 2).to(x.dtype)
                y = x.sigmoid()
                xy = (y[..., 0:2] * 2 - 0.5 + grid) * self.stride[i]
                wh = (y[..., 2:4] * 2) ** 2 * anchor_grid
                z.append(torch.cat((xy, wh, y[..., 4:]), -1).view(bs, -1, self.no))
        return raw if self.training else [torch.cat(z, 1)] + raw


def _make_divisible(x, divisor=8):
    return math.ceil(x / divisor) * divisor


class YOLOv5(nn.Module):
    """models/yolo/yolo.h: parse_model over a model yaml (a built-in name or a path), nc / multiples replaced when
    given, `channels` = {Conv path (or its .bn): out channels} as YOLOv5Args::channels; then the stride probe,
    anchors to grid units, the Detect bias prior and fresh BatchNorm statistics."""

    def __init__(self, cfg="yolov5s", nc=None, ch=None, depth_multiple=None, width_multiple=None, channels=None):
        super().__init__()
        import yaml  # python3-yaml; only the YOLOv5 twin needs it

        path = cfg if os.path.sep in cfg or cfg.endswith(".yaml") and os.path.exists(cfg) else \
            os.path.join(YOLO_CONFIGS, cfg if cfg.endswith(".yaml") else cfg + ".yaml")
        with open(path) as f:
            d = yaml.safe_load(f)
        self.nc = nc if nc is not None else d["nc"]
        gd = depth_multiple if depth_multiple is not None else d["depth_multiple"]
        gw = width_multiple if width_multiple is not None else d["width_multiple"]
        self.ch = ch if ch is not None else d.get("ch", 3)
        anchors = d["anchors"]
        na = len(anchors[0]) // 2 if isinstance(anchors, list) else anchors
        no = na * (self.nc + 5)
        want = {}
        for k, v in (channels or {}).items():
            want[k[:-3] if k.endswith(".bn") else k] = v
        used = set()

        def width(path, nominal):
            if path in want:
                used.add(path)
                return want[path]
            return nominal

        layers, self.froms, self.save = [], [], set()
        chs, nominal_chs = [], []
        for i, (f, n, m, args) in enumerate(d["backbone"] + d["head"]):
            fs = [f] if isinstance(f, int) else list(f)
            idx = [i + j if j < 0 else j for j in fs]
            cin = [self.ch if j < 0 else chs[j] for j in idx]
            cin_nominal = [self.ch if j < 0 else nominal_chs[j] for j in idx]
            n = max(round(n * gd), 1) if n > 1 else n
            base = f"model.{i}"
            if m == "Conv":
                c2 = args[0] if args[0] == no else _make_divisible(args[0] * gw)
                out = width(base, c2)
                module = Conv(cin[0], out, *args[1:])
            elif m == "C3":
                c2 = _make_divisible(args[0] * gw)
                shortcut = args[1] if len(args) > 1 else True
                g = args[2] if len(args) > 2 else 1
                e = args[3] if len(args) > 3 else 0.5
                c_ = int(c2 * e)
                w1, w2 = width(f"{base}.cv1", c_), width(f"{base}.cv2", c_)
                blocks = [(width(f"{base}.m.{k}.cv1", c_), width(f"{base}.m.{k}.cv2", c_)) for k in range(n)]
                out = width(f"{base}.cv3", c2)
                module = C3(cin[0], out, n, shortcut, g, e, widths=(w1, w2, blocks))
            elif m == "SPPF":
                c2 = _make_divisible(args[0] * gw)
                out = width(f"{base}.cv2", c2)
                module = SPPF(cin[0], out, args[1] if len(args) > 1 else 5,
                              hidden=width(f"{base}.cv1", cin_nominal[0] // 2))
            elif m == "nn.Upsample":
                c2, out = cin_nominal[0], cin[0]
                module = nn.Upsample(*[None if a == "None" else a for a in args])
            elif m == "Concat":
                c2, out = sum(cin_nominal), sum(cin)
                module = Concat(args[0] if args else 1)
            elif m == "Detect":
                c2 = out = 0
                level_anchors = anchors if isinstance(anchors, list) else [list(range(2 * anchors))] * len(fs)
                module = Detect(self.nc, level_anchors, cin)
            else:
                raise ValueError(f"YOLOv5 twin: {path}: unknown module {m}")
            layers.append(module)
            self.froms.append(idx)
            self.save.update(j for j in idx if j >= 0 and j != i - 1)
            chs.append(out)
            nominal_chs.append(c2)
        assert not set(want) - used, f"channels for unknown Convs: {sorted(set(want) - used)}"
        self.model = nn.Sequential(*layers)
        detect = self.model[-1]
        s = 256  # the stride probe: a training-mode forward on zeros
        self.train()
        with torch.no_grad():
            raw = self.forward(torch.zeros(1, self.ch, s, s))
            self.stride = [s / r.shape[-2] for r in raw]
            detect.stride = self.stride
            detect.anchors /= torch.tensor(self.stride).view(-1, 1, 1)
            area = detect.anchors.prod(-1).view(-1)
            if (area[-1] - area[0]).sign() != math.copysign(1, self.stride[-1] - self.stride[0]):
                detect.anchors[:] = detect.anchors.flip(0)
            for conv, st in zip(detect.m, self.stride):
                b = conv.bias.view(detect.na, -1)
                b[:, 4] += math.log(8 / (640 / st) ** 2)
                b[:, 5:] += math.log(0.6 / (detect.nc - 0.99))
        for mod in self.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.reset_running_stats()

    def forward(self, x):
        inp, y = x, []
        for i, (m, idx) in enumerate(zip(self.model, self.froms)):
            xs = [inp if j == -1 else (x if j == i - 1 else y[j]) for j in idx]
            x = m(xs) if isinstance(m, (Concat, Detect)) else m(xs[0])
            y.append(x if i in self.save else None)
        return x


def yolov5_factory(variant):
    """MODELS entry: --set nc=N depth_multiple=D width_multiple=W replace the yaml's values."""

    def make(args):
        return YOLOv5(variant, nc=int(args["nc"]) if "nc" in args else None,
                      depth_multiple=float(args["depth_multiple"]) if "depth_multiple" in args else None,
                      width_multiple=float(args["width_multiple"]) if "width_multiple" in args else None)

    return make


MODELS = {
    "tinyseg": lambda args: TinySeg(3, int(args.get("width", 16))),
    "u2net": lambda args: U2NET(U2NET_WIDTHS),
    "u2netp": lambda args: U2NETP_factory(),
    "u2net_mini": lambda args: U2NET(U2NET_MINI_WIDTHS),
    "panet": lambda args: PANet(int(args.get("channels", 64)), int(args.get("blocks", 24)), int(args.get("level", 4))),
    "pfld": lambda args: PFLD(float(args.get("width", 1.0))),
}
MODELS.update({f"yolov5{v}": yolov5_factory(f"yolov5{v}") for v in "nsmlx"})
# A U²-Net with every stage narrow, for golden tests of the wiring (tests/models/test_u2net.cpp builds the same).
U2NET_MINI_WIDTHS = [(3, 4, 6)] + [(6, 4, 6)] * 5 + [(12, 4, 6)] * 5
IN_CHANNELS = {"tinyseg": 3, "u2net": 3, "u2netp": 3, "panet": 3, "pfld": 3, **{f"yolov5{v}": 3 for v in "nsmlx"}}
# apps/models.cpp: ModelSpec::input_size
INPUT_SIZE = {"tinyseg": 56, "u2net": 288, "u2netp": 288, "panet": 48, "pfld": 112,
              **{f"yolov5{v}": 640 for v in "nsmlx"}}


def U2NETP_factory():
    return U2NET(U2NETP_WIDTHS)


def yolo_target(batch, gen):
    """apps/models.cpp's bench target: 4 boxes per image, [n, 6] (image, class 0..2, cx, cy, w, h normalised)."""
    n = 4 * batch
    image = (torch.arange(n) // 4).float().unsqueeze(1)
    cls = torch.randint(0, 3, (n, 1), generator=gen).float()
    xy = torch.rand(n, 2, generator=gen) * 0.8 + 0.1
    wh = torch.rand(n, 2, generator=gen) * 0.3 + 0.02
    return torch.cat((image, cls, xy, wh), 1)


def _yolo_loss_reference():
    """tests/fixtures/make_yolo_loss.py, imported once (the bench calls the loss every step)."""
    fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
    if fixtures not in sys.path:
        sys.path.insert(0, fixtures)
    import make_yolo_loss
    return make_yolo_loss


def yolo_target_loss(model, outputs, targets):
    """ComputeLoss v6.0 as ultralytics computes it (vectorised), with hyp.scratch's gains scaled for nc, the image
    size and the levels, as train.py. build_targets, the CIoU and the BCE are those of
    tests/fixtures/make_yolo_loss.py, which gives the goldens of models/yolo/loss.h."""
    ref = _yolo_loss_reference()
    det = model.model[-1]
    nl, nc = det.nl, det.nc
    img = outputs[0].shape[2] * det.stride[0]
    gains = dict(box=0.05 * 3 / nl, cls=0.5 * nc / 80 * 3 / nl, obj=1.0 * (img / 640) ** 2 * 3 / nl)
    balance = [4.0, 1.0, 0.4]
    lbox, lobj, lcls = (torch.zeros(1, dtype=outputs[0].dtype) for _ in range(3))
    for i, (pi, lt) in enumerate(zip(outputs, ref.build_targets(outputs, targets, det.anchors, 4.0))):
        b, a, gj, gi = lt["b"], lt["a"], lt["gj"], lt["gi"]
        tobj = torch.zeros_like(pi[..., 0])
        if b.shape[0]:
            ps = pi[b, a, gj, gi]
            pxy = ps[:, :2].sigmoid() * 2 - 0.5
            pwh = (ps[:, 2:4].sigmoid() * 2) ** 2 * lt["anch"]
            iou = ref.bbox_ciou(torch.cat((pxy, pwh), 1), lt["tbox"])
            lbox += (1.0 - iou).mean()
            tobj[b, a, gj, gi] = iou.detach().clamp(0).type(tobj.dtype)
            if nc > 1:
                t = torch.zeros_like(ps[:, 5:])
                t[range(b.shape[0]), lt["tcls"]] = 1.0
                lcls += F.binary_cross_entropy_with_logits(ps[:, 5:], t)
        lobj += F.binary_cross_entropy_with_logits(pi[..., 4], tobj) * balance[i]
    loss = lbox * gains["box"] + lobj * gains["obj"] + lcls * gains["cls"]
    return (loss * outputs[0].shape[0]).sum()


def make_target(name, shape, gen):
    if name.startswith("yolov5"):
        return yolo_target(shape[0], gen)
    if name == "pfld":
        return pfld_target(shape[0], gen)
    if name == "panet":
        return torch.rand(shape[0], 3, 2 * shape[2], 2 * shape[3], generator=gen) * 2 - 1
    if name in ("tinyseg", "u2net", "u2netp"):
        return (torch.rand(shape[0], 1, shape[2], shape[3], generator=gen) > 0.5).float()
    raise KeyError(name)


def loss(name, outputs, target, model=None):
    if name.startswith("yolov5"):
        return yolo_target_loss(model, outputs, target)
    if name == "pfld":
        return pfld_target_loss(outputs, target)
    if name == "panet":
        return F.l1_loss(outputs[0], target)
    if name in ("tinyseg", "u2net", "u2netp"):
        return _u2_loss(outputs, target)
    raise KeyError(name)


def optimizer(name, model):
    if name.startswith("yolov5"):  # hyp.scratch: SGD lr0 0.01, momentum 0.937, Nesterov
        return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.937, nesterov=True)
    if name == "pfld":  # the reference's Adam: lr 1e-4, weight decay 1e-6 (added to the gradient)
        return torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=1e-6)
    if name == "panet":
        return torch.optim.AdamW(model.parameters(), lr=1e-4)
    if name == "tinyseg":
        return torch.optim.Adam(model.parameters(), lr=1e-2)
    if name in ("u2net", "u2netp"):
        return torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
    raise KeyError(name)
