// tests/core/test_edge_cases.cpp — the corners of Tensor against PyTorch 1.13: 0-dim and empty tensors through
// views, broadcasting and reductions; factories at their edges; negative dims; type promotion (with the 0-dim rule);
// conversions, item and printing. Expected values were taken from torch 1.13 by hand (the comment shows the call).
#include <cmath>
#include <limits>

#include "support/support.h"

namespace {
Tensor i64(const std::vector<int64_t>& values, const Shape& shape = {}) {
    return from_vector(values, shape.empty() ? Shape{static_cast<int64_t>(values.size())} : shape);
}
}  // namespace

// --- factories ---

TEST_CASE("edge: linspace with 0 and 1 steps, arange with negative and fractional steps", "[core][edge]") {
    REQUIRE_THAT(linspace(0, 10, 1), ClosesTo(t64({0})));  // torch.linspace(0, 10, 1) == [0.]
    REQUIRE(linspace(0, 10, 0).shape() == Shape{0});
    REQUIRE_THAT(linspace(10, 0, 3), ClosesTo(t64({10, 5, 0})));
    REQUIRE_THROWS_AS(linspace(0, 1, -1), ValueError);
    REQUIRE_THAT(arange(5, 0, -1), ClosesTo(t64({5, 4, 3, 2, 1})));
    REQUIRE_THAT(arange(5, 0, -1.5, {.dtype = kFloat32}), ClosesTo(t64({5, 3.5, 2, 0.5})));
    REQUIRE(arange(0, 0).numel() == 0);
    REQUIRE(arange(3, 3, -1).numel() == 0);
    REQUIRE_THROWS_WITH(arange(0, 5, -1), Catch::Contains("inconsistent"));
    REQUIRE_THROWS_AS(arange(0, 5, 0), ValueError);
    REQUIRE_THROWS_AS(arange(0, std::numeric_limits<double>::infinity()), ValueError);
    REQUIRE_THROWS_AS(arange(0, std::nan("")), ValueError);
    // An integer range truncates its bounds and step first: torch.arange(-2.5, 2, 1, dtype=int64) == [-2, -1, 0, 1]
    REQUIRE_THAT(arange(-2.5, 2, 1), ClosesTo(i64({-2, -1, 0, 1})));
    REQUIRE_THAT(arange(0.5, 3.7, 1.2), ClosesTo(i64({0, 1, 2})));
    REQUIRE_THROWS_WITH(arange(0, 5, 0.5), Catch::Contains("nonzero"));  // the int64 step 0.5 is 0
    REQUIRE_THAT(arange(0, 1, 0.3, {.dtype = kFloat32}), ClosesTo(t64({0, 0.3, 0.6, 0.9})));
    REQUIRE_THROWS_AS(randperm(-1), ValueError);
    REQUIRE_THROWS_AS(zeros({2, -1}), ValueError);
}

// --- 0-dim tensors ---

TEST_CASE("edge: a 0-dim tensor has no dim to index, slice or size", "[core][edge]") {
    Tensor s = scalar_tensor(2.0);
    REQUIRE_THROWS_AS(s.size(0), IndexError);  // Dimension specified as 0 but tensor has no dimensions
    REQUIRE_THROWS_AS(s.stride(-1), IndexError);
    REQUIRE_THROWS_AS(s.select(0, 0), IndexError);  // select() cannot be applied to a 0-dim tensor
    REQUIRE_THROWS_AS(s.narrow(0, 0, 1), IndexError);
    REQUIRE_THROWS_AS(s.slice(0, 0, 1), IndexError);
    REQUIRE(s.transpose(0, -1).dim() == 0);  // allowed, as torch
    REQUIRE(s.t().dim() == 0);
    REQUIRE(s.squeeze(0).dim() == 0);
    REQUIRE(s.squeeze(-1).dim() == 0);
    REQUIRE_THROWS_AS(s.squeeze(1), IndexError);
    REQUIRE(s.unsqueeze(-1).shape() == Shape{1});
    REQUIRE_THROWS_AS(s.unsqueeze(1), IndexError);
    REQUIRE(s.flatten().shape() == Shape{1});
    REQUIRE(s.flatten(0, -1).shape() == Shape{1});
    REQUIRE_THROWS_AS(s.flatten(1), IndexError);
    REQUIRE(s.view({1, 1}).shape() == Shape{1, 1});
    REQUIRE(s.view({1, 1}).view({}).dim() == 0);
    REQUIRE(s.expand({2, 3}).shape() == Shape{2, 3});
    REQUIRE(s.permute({}).dim() == 0);
}

TEST_CASE("edge: reductions of a 0-dim tensor over dim 0 or -1", "[core][edge]") {
    Tensor s = scalar_tensor(2.0, {.dtype = kFloat64});
    REQUIRE(sum(s, {0}).dim() == 0);  // torch: s.sum(0) == tensor(2.)
    REQUIRE(sum(s, {-1}).item<double>() == 2.0);
    REQUIRE(sum(s, {0}, true).dim() == 0);
    REQUIRE(amax(s, {0}).item<double>() == 2.0);
    REQUIRE(mean(s, {-1}).item<double>() == 2.0);
    REQUIRE(std::isnan(var(s, {0}).item<double>()));  // one element, Bessel's correction
    REQUIRE_THROWS_AS(sum(s, {1}), IndexError);
    auto [v, i] = max(s, 0);
    REQUIRE(v.item<double>() == 2.0);
    REQUIRE(i.item<int64_t>() == 0);
}

// --- empty tensors ---

TEST_CASE("edge: empty tensors through views, broadcasting and reductions", "[core][edge]") {
    Tensor e = zeros({0, 3});
    REQUIRE(e.view({3, 0}).shape() == Shape{3, 0});
    REQUIRE(e.reshape({-1}).shape() == Shape{0});
    REQUIRE(e.t().reshape({0}).numel() == 0);
    REQUIRE_THROWS_AS(e.view({-1, 0}), ShapeError);  // the -1 could be anything
    REQUIRE(e.transpose(0, 1).contiguous().shape() == Shape{3, 0});
    REQUIRE(e.slice(1, 1, 3).shape() == Shape{0, 2});
    REQUIRE(e.narrow(0, 0, 0).shape() == Shape{0, 3});
    REQUIRE(e.unsqueeze(0).squeeze().shape() == Shape{0, 3});
    REQUIRE(e.flatten().shape() == Shape{0});
    REQUIRE((e + ones({3})).shape() == Shape{0, 3});
    REQUIRE((e + ones({1, 1})).shape() == Shape{0, 3});
    REQUIRE(ones({1}).expand({0}).numel() == 0);
    REQUIRE_THROWS_AS(e + ones({2, 3}), ShapeError);

    REQUIRE(e.sum().item<double>() == 0.0);        // torch: tensor(0.)
    REQUIRE(std::isnan(e.mean().item<double>()));  // torch: tensor(nan)
    REQUIRE_THAT(e.mean({0}), ClosesTo(t64({NAN, NAN, NAN})));
    REQUIRE_THAT(e.sum({0}), ClosesTo(t64({0, 0, 0})));
    REQUIRE(e.sum({1}).shape() == Shape{0});
    REQUIRE(amax(e, {1}).shape() == Shape{0});  // reducing a non-empty dim of an empty tensor is fine
    REQUIRE(amin(e, {1}, true).shape() == Shape{0, 1});
    REQUIRE(max(e, 1).values.shape() == Shape{0});
    REQUIRE_THROWS_WITH(amax(e, {0}), Catch::Contains("empty"));
    REQUIRE_THROWS_WITH(max(e), Catch::Contains("empty"));
    REQUIRE_THROWS_AS(max(e, 0), ShapeError);
    REQUIRE(sum(zeros({0}, {.dtype = kBool})).dtype() == kInt64);
    REQUIRE(var(zeros({0})).item<double>() != var(zeros({0})).item<double>());  // nan
}

// --- views ---

TEST_CASE("edge: views with negative dims, starts and indices", "[core][edge]") {
    Tensor x = arange(10.0);
    REQUIRE_THAT(x.slice(0, -3, -1), ClosesTo(i64({7, 8})));      // x[-3:-1]
    REQUIRE_THAT(x.slice(0, -100, 3), ClosesTo(i64({0, 1, 2})));  // x[-100:3]
    REQUIRE(x.slice(0, 5, 2).numel() == 0);                       // x[5:2]
    REQUIRE_THAT(x.slice(0, 2, 9, 3), ClosesTo(i64({2, 5, 8})));  // x[2:9:3]
    REQUIRE_THAT(x.slice(-1, 1, 100, 4), ClosesTo(i64({1, 5, 9})));
    REQUIRE_THROWS_AS(x.slice(0, 0, 5, 0), ValueError);
    REQUIRE_THAT(x.narrow(0, -3, 2), ClosesTo(i64({7, 8})));
    REQUIRE(x.narrow(0, 10, 0).numel() == 0);
    REQUIRE_THROWS(x.narrow(0, -11, 1));
    REQUIRE_THROWS(x.narrow(0, 8, 3));
    REQUIRE(x.select(0, -1).item<int64_t>() == 9);
    REQUIRE_THROWS_AS(x.select(0, 10), IndexError);
    REQUIRE_THROWS_AS(x.select(0, -11), IndexError);

    Tensor y = arange(24.0).view({2, 3, 4});
    REQUIRE(y.permute({-1, 0, -2}).shape() == Shape{4, 2, 3});
    REQUIRE(y.transpose(-1, -3).shape() == Shape{4, 3, 2});
    REQUIRE(y.unsqueeze(-1).shape() == Shape{2, 3, 4, 1});
    REQUIRE(y.unsqueeze(-4).shape() == Shape{1, 2, 3, 4});
    REQUIRE(y.unsqueeze(-1).strides() == Shape{12, 4, 1, 1});
    REQUIRE(y.flatten(-2, -1).shape() == Shape{2, 12});
    REQUIRE(y.select(-2, -1).shape() == Shape{2, 4});
    REQUIRE_THAT(y.select(-2, -1).select(0, 1), ClosesTo(i64({20, 21, 22, 23})));
    REQUIRE(y.sum({-1, 0}).shape() == Shape{3});
    REQUIRE_THROWS_AS(y.sum({2, -1}), ShapeError);  // the same dim twice
    REQUIRE_THROWS_AS(y.permute({0, 0, 1}), ShapeError);
}

TEST_CASE("edge: view of non-contiguous tensors follows computeStride; reshape copies when it must", "[core][edge]") {
    Tensor x = arange(24.0).view({2, 3, 4});
    Tensor p = x.permute({1, 0, 2});  // [3, 2, 4], strides [4, 12, 1]: the last dim is contiguous
    Tensor v = p.view({3, 2, 2, 2});  // splitting a dim inside a contiguous chunk is a view
    REQUIRE(v.storage() == x.storage());
    REQUIRE(v.strides() == Shape{4, 12, 2, 1});
    REQUIRE_THROWS_AS(p.view({6, 4}), ShapeError);  // merging dims 0 and 1 is not
    REQUIRE(p.reshape({6, 4}).storage() != x.storage());
    REQUIRE_THAT(p.reshape({6, 4}).select(0, 1), ClosesTo(i64({12, 13, 14, 15})));
    Tensor s = x.slice(2, 0, 4, 2);  // [2, 3, 2] strides [12, 4, 2]
    REQUIRE(s.view({6, 2}).strides() == Shape{4, 2});
    REQUIRE(s.view({6, 2}).storage() == x.storage());
    Tensor e = ones({3, 1}).expand({3, 4});  // stride 0 dims merge only with themselves
    REQUIRE(e.view({3, 2, 2}).strides() == Shape{1, 0, 0});
    REQUIRE_THROWS_AS(e.view({12}), ShapeError);
    REQUIRE(e.reshape({12}).is_contiguous());
    Tensor u = s.unsqueeze(1);  // [2, 1, 3, 2] strides [12, 12, 4, 2]: size-1 dims never stop a view
    REQUIRE(u.view({6, 2}).strides() == Shape{4, 2});
    Tensor w = x.transpose(0, 1).unsqueeze(0);                      // [1, 3, 2, 4] strides [12, 4, 12, 1]
    REQUIRE(w.view({3, 2, 4, 1}).strides() == Shape{4, 12, 1, 1});  // torch's strides, size-1 dims included
    REQUIRE_THROWS_AS(x.view({-2, -12}), ShapeError);               // torch: invalid shape dimension -2
    REQUIRE_THROWS_AS(x.view({5, -1}), ShapeError);
    REQUIRE_THROWS_AS(x.view({-1, -1}), ShapeError);
}

TEST_CASE("edge: expand with -1, new leading dims and invalid sizes", "[core][edge]") {
    Tensor x = from_vector<double>({1, 2, 3}, {3, 1});
    REQUIRE(x.expand({-1, 4}).shape() == Shape{3, 4});
    REQUIRE(x.expand({2, -1, 4}).shape() == Shape{2, 3, 4});
    REQUIRE(x.expand({2, -1, 4}).strides() == Shape{0, 1, 0});
    REQUIRE(x.expand({3, 0}).shape() == Shape{3, 0});
    REQUIRE_THROWS_AS(x.expand({-1, 3, 4}), ShapeError);
    REQUIRE_THROWS_AS(x.expand({4, 4}), ShapeError);
    REQUIRE_THROWS_AS(x.expand({3, -2}), ShapeError);  // torch: the expanded size is invalid
    REQUIRE_THROWS_AS(x.expand({4}), ShapeError);
}

// --- type promotion ---

TEST_CASE("edge: promotion of tensors, 0-dim tensors and numbers as torch.result_type", "[core][edge][dtype]") {
    Tensor b = from_vector<uint8_t>({1, 0}).to(kBool);
    Tensor u8 = from_vector<uint8_t>({1, 2});
    Tensor i = i64({1, 2});
    Tensor f = t32({1, 2});
    Tensor d = t64({1, 2});
    REQUIRE((b + b).dtype() == kBool);
    REQUIRE_THAT((b + b), ClosesTo(t64({1, 0})));
    REQUIRE((u8 + i).dtype() == kInt64);
    REQUIRE((i + f).dtype() == kFloat32);
    REQUIRE((f + d).dtype() == kFloat64);
    REQUIRE((i + 2.5).dtype() == kFloat32);  // a non-integral number next to an integer tensor: float32
    REQUIRE((i + 2.0).dtype() == kInt64);    // an integral number keeps the tensor's dtype
    REQUIRE((b + 1.0).dtype() == kInt64);    // torch: tensor([True]) + 1 == tensor([2])
    REQUIRE_THAT(b + 1.0, ClosesTo(t64({2, 1})));
    REQUIRE((f + 1e300).dtype() == kFloat32);
    // A 0-dim tensor does not promote a dimensioned tensor of the same category (torch.result_type).
    Tensor d0 = scalar_tensor(1.0, {.dtype = kFloat64});
    REQUIRE((f + d0).dtype() == kFloat32);
    REQUIRE((d0 + f).dtype() == kFloat32);
    REQUIRE((i + d0).dtype() == kFloat64);  // a higher category does promote
    REQUIRE((u8 + scalar_tensor(1, {.dtype = kInt64})).dtype() == kUInt8);
    REQUIRE((b + scalar_tensor(1, {.dtype = kInt64})).dtype() == kInt64);
    REQUIRE((d0 + scalar_tensor(1.0)).dtype() == kFloat64);  // two 0-dim tensors promote as usual
    REQUIRE(mul(f, d0).dtype() == kFloat32);
    REQUIRE(where(gt(f, 1.0), f, d0).dtype() == kFloat32);
    REQUIRE(maximum(i, scalar_tensor(1.5)).dtype() == kFloat32);
    REQUIRE_THAT(maximum(i, scalar_tensor(1.5)), ClosesTo(t64({1.5, 2})));
    REQUIRE(div(i, i).dtype() == kFloat32);
    REQUIRE(div(f, d0).dtype() == kFloat32);
}

TEST_CASE("edge: comparisons with a number compare in the promoted type", "[core][edge][dtype]") {
    Tensor i = i64({1, 2, 3});
    REQUIRE(eq(i, 2.5).to(kInt64).sum().item<int64_t>() == 0);  // torch: all False (2.5 is not truncated to 2)
    REQUIRE_THAT(lt(i, 2.5), ClosesTo(t64({1, 1, 0})));
    REQUIRE_THAT(ge(i, 2.5), ClosesTo(t64({0, 0, 1})));
    REQUIRE_THAT(eq(i, 2.0), ClosesTo(t64({0, 1, 0})));
    Tensor b = from_vector<uint8_t>({1, 0}).to(kBool);
    REQUIRE_THAT(eq(b, 2.0), ClosesTo(t64({0, 0})));
}

TEST_CASE("edge: integer and bool arithmetic as PyTorch", "[core][edge][dtype]") {
    Tensor i = i64({2, 3});
    REQUIRE_THAT(pow(i, 2.0), ClosesTo(i64({4, 9})));  // int ** 2 stays int64
    REQUIRE(pow(i, 2.0).dtype() == kInt64);
    REQUIRE(pow(i, 0.5).dtype() == kFloat32);
    REQUIRE_THAT(1.0 / i, ClosesTo(t64({0.5, 1.0 / 3})));
    REQUIRE((1.0 / i).dtype() == kFloat32);
    REQUIRE_THAT(1.0 - i, ClosesTo(i64({-1, -2})));
    REQUIRE((1.0 - i).dtype() == kInt64);
    REQUIRE_THAT(-i, ClosesTo(i64({-2, -3})));
    REQUIRE_THAT(abs(i64({-2, 3})), ClosesTo(i64({2, 3})));
    Tensor b = from_vector<uint8_t>({1, 0}).to(kBool);
    REQUIRE_THROWS_AS(b - b, TypeError);  // torch: use logical_xor
    REQUIRE_THROWS_AS(-b, TypeError);
    REQUIRE_THROWS_AS(add(i, i, 0.5), TypeError);  // a fractional alpha for integers
    REQUIRE_THAT(add(i, i, 2.0), ClosesTo(i64({6, 9})));
    REQUIRE_THAT(sum(i64({int64_t{1} << 53, 1})), ClosesTo(i64({(int64_t{1} << 53) + 1}).view({})));
    REQUIRE(sum(i64({int64_t{1} << 53, 1})).item<int64_t>() == (int64_t{1} << 53) + 1);  // exact, not through double
}

TEST_CASE("edge: in-place ops refuse a result type they cannot hold", "[core][edge][dtype]") {
    Tensor i = i64({1, 2});
    REQUIRE_THROWS_WITH(i.add_(0.5), Catch::Contains("float32") && Catch::Contains("int64"));  // torch: can't cast
    REQUIRE_THROWS_AS(i.div_(2.0), TypeError);
    REQUIRE_THROWS_AS(i.add_(t32({1, 1})), TypeError);
    REQUIRE_THAT(i.add_(2.0), ClosesTo(i64({3, 4})));
    Tensor b = from_vector<uint8_t>({1, 0}).to(kBool);
    REQUIRE_THROWS_AS(b.add_(i), TypeError);
    Tensor f = t32({1, 2});
    REQUIRE(f.add_(t64({1, 1})).dtype() == kFloat32);  // a wider float is fine: torch keeps float32
    REQUIRE_THAT(f, ClosesTo(t64({2, 3})));
    REQUIRE_THAT(f.mul_(i), ClosesTo(t64({6, 12})));
}

// --- conversions, item, printing ---

TEST_CASE("edge: dtype conversions truncate toward zero and wrap into uint8 as PyTorch", "[core][edge][dtype]") {
    Tensor x = t32({-1.7f, 2.7f, -0.5f});
    REQUIRE_THAT(x.to(kInt64), ClosesTo(i64({-1, 2, 0})));
    // torch.tensor([-1.0, 300.0, 2.7, -2.7]).to(torch.uint8) == [255, 44, 2, 254]
    Tensor u = t32({-1.0f, 300.0f, 2.7f, -2.7f}).to(kUInt8);
    REQUIRE_THAT(u, ClosesTo(t64({255, 44, 2, 254})));
    REQUIRE_THAT(with_kernels(Kernels::reference,
                              [] {
                                  return t64({-1.0, 300.0, 2.7, -2.7}).to(kUInt8);
                              }),
                 ClosesTo(t64({255, 44, 2, 254})));
    REQUIRE_THAT(t32({0.5f, 0.0f, NAN}).to(kBool), ClosesTo(t64({1, 0, 1})));
    REQUIRE_THAT(t64({1.25, -3}).to(kFloat32).to(kFloat64), ClosesTo(t64({1.25, -3}), 0, 0));
    REQUIRE_THAT(i64({-3, 7}).to(kFloat64).to(kInt64), ClosesTo(i64({-3, 7}), 0, 0));
    REQUIRE(from_vector<uint8_t>({200}).item<int64_t>() == 200);
    REQUIRE(scalar_tensor(-2.9).item<int64_t>() == -2);
    REQUIRE(scalar_tensor(1.0, {.dtype = kBool}).item<bool>());
    REQUIRE(scalar_tensor(0.25, {.dtype = kFloat64}).item<float>() == 0.25f);
    REQUIRE_THROWS_AS(zeros({0}).item<double>(), ShapeError);
}

TEST_CASE("edge: printing bool, uint8, empty and 0-dim tensors", "[core][edge][format]") {
    REQUIRE(fmt::format("{}", scalar_tensor(1.0, {.dtype = kBool})) == "tensor(True)");  // torch: tensor(True)
    REQUIRE(fmt::format("{}", scalar_tensor(0.0, {.dtype = kBool})) == "tensor(False)");
    REQUIRE(fmt::format("{}", from_vector<uint8_t>({1, 0}).to(kBool)) == "tensor([True, False])");
    REQUIRE(fmt::format("{}", zeros({0}, {.dtype = kBool})) == "tensor([], dtype=bool)");
    REQUIRE(fmt::format("{}", t64({0, 1}) / 0.0) == "tensor([nan, inf], dtype=float64)");  // 0/0 is -nan in C
    REQUIRE(fmt::format("{}", from_vector<uint8_t>({3, 255})) == "tensor([3, 255], dtype=uint8)");
    REQUIRE(fmt::format("{}", scalar_tensor(3, {.dtype = kUInt8})) == "tensor(3, dtype=uint8)");
    REQUIRE(fmt::format("{}", scalar_tensor(2.5)) == "tensor(2.5000)");
    REQUIRE(fmt::format("{}", zeros({0})) == "tensor([])");  // torch prints the size only when it is not (0,)
    REQUIRE(fmt::format("{}", zeros({2, 0})) == "tensor([], size=[2, 0])");
    REQUIRE(fmt::format("{}", zeros({0}, {.dtype = kInt64})) == "tensor([], dtype=int64)");
    REQUIRE(fmt::format("{}", Tensor()) == "tensor(undefined)");
    Tensor w = ones({2}, {.requires_grad = true});
    REQUIRE(fmt::format("{}", w) == "tensor([1.0000, 1.0000], requires_grad=True)");
    REQUIRE(fmt::format("{}", w * 2.0) == "tensor([2.0000, 2.0000], grad_fn=<mul>)");
}

TEST_CASE("edge: from_vector and randperm of one value are 1-D", "[core][edge]") {
    REQUIRE(from_vector<double>({5}).shape() == Shape{1});  // torch.tensor([5.]) has shape [1]
    REQUIRE(from_vector<int64_t>({5}, {1, 1}).shape() == Shape{1, 1});
    REQUIRE(randperm(1).shape() == Shape{1});
    REQUIRE(randperm(0).shape() == Shape{0});
    REQUIRE(from_vector<float>({}).shape() == Shape{0});
}

TEST_CASE("edge: in-place ops on an expanded tensor", "[core][edge]") {
    Tensor x = zeros({1}, {.dtype = kFloat64});
    REQUIRE_THROWS_WITH(x.expand({3}).add_(1.0), Catch::Contains("one memory location"));  // would add 3 times
    REQUIRE_THROWS_WITH(x.expand({3}).copy_(t64({1, 2, 3})), Catch::Contains("one memory location"));
    REQUIRE_THROWS_WITH(x.expand({3}).clamp_(0, 1), Catch::Contains("one memory location"));
    REQUIRE(x.item<double>() == 0.0);
    x.expand({3}).fill_(2.0);  // one value everywhere: allowed, as torch
    REQUIRE(x.item<double>() == 2.0);
    x.expand({1}).add_(1.0);  // a size-1 dim with stride 0 aliases nothing
    REQUIRE(x.item<double>() == 3.0);
}

TEST_CASE("edge: clamp with min above max gives max everywhere, as torch", "[core][edge]") {
    Tensor x = t64({0, 1, 1.5, 5, NAN}).requires_grad_();
    Tensor y = clamp(x, 2.0, 1.0);
    REQUIRE_THAT(y, ClosesTo(t64({1, 1, 1, 1, NAN})));
    y.sum().backward();
    REQUIRE_THAT(x.grad(), ClosesTo(t64({0, 0, 0, 0, 0})));  // torch: no value passes the mask
    Tensor z = t64({0, 1.5, 5});
    z.clamp_(2.0, 1.0);
    REQUIRE_THAT(z, ClosesTo(t64({1, 1, 1})));
}

TEST_CASE("edge: device names", "[core][edge]") {
    REQUIRE(Device::parse("cpu") == kCPU);
    REQUIRE(Device::parse("cuda") == kCUDA);
    REQUIRE(Device::parse("cuda:1") == Device{DeviceType::CUDA, 1});
    REQUIRE_THROWS_AS(Device::parse("cuda:"), ValueError);  // was std::invalid_argument from std::stoi
    REQUIRE_THROWS_AS(Device::parse("cuda:x"), ValueError);
    REQUIRE_THROWS_AS(Device::parse("cuda:-1"), ValueError);
    REQUIRE_THROWS_AS(Device::parse("gpu"), ValueError);
}
