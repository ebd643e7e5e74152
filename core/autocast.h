// core/autocast.h — mixed precision as torch.autocast("cpu", dtype=torch.bfloat16) does it: inside an AutocastGuard
// with Precision::BFloat16, convolutions and matrix products (matmul, mm, bmm, linear; and their backward) compute in
// bfloat16 with float32 accumulation, while
// every tensor the user sees stays float32: inputs, outputs, weights (the master copy), gradients. Batch norm,
// softmax, losses and the optimizer are untouched, in float32, as on torch's autocast list.
//   { AutocastGuard amp(Precision::BFloat16); loss = criterion(model(x), y); loss.backward(); }
// The op layer reads the state when it records (ops/conv.cpp, ops/matmul.cpp), so a backward runs in the precision
// its forward ran in, wherever backward() is called. Unlike torch, the activations between ops stay float32: twice the
// memory of bf16 ones, a conversion pass into each convolution, and no rounding of what batch norm and the losses see.
// The cpu backend runs bfloat16 on oneDNN's AVX512-BF16 (or AMX) kernels; the reference backend and CPUs without a
// bfloat16 kernel compute in float32, which the same guard accepts.
#pragma once

namespace nabla {

enum class Precision { Float32, BFloat16 };

Precision autocast_precision();  // of the calling thread; Float32 outside any guard
void set_autocast_precision(Precision p);

class AutocastGuard {
public:
    explicit AutocastGuard(Precision p) : previous_(autocast_precision()) { set_autocast_precision(p); }
    ~AutocastGuard() { set_autocast_precision(previous_); }
    AutocastGuard(const AutocastGuard&) = delete;
    AutocastGuard& operator=(const AutocastGuard&) = delete;

private:
    Precision previous_;
};

// "fp32" or "bf16" (the command line's --precision) as a Precision; a ValueError naming the text otherwise.
Precision parse_precision(const char* text);

}  // namespace nabla
