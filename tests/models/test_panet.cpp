// tests/models/test_panet.cpp — models/panet: PyramidAttention against PyTorch (scripts/torch_models.py, written
// from docs/panet.md §1 in the reference's direct form) in value and every gradient, for both of our forms (direct and
// batched GEMM), the reference's state-dict names, and no NaN from all-zero key patches.
#include <cmath>

#include "models/panet/pyramid_attention.h"
#include "support/support.h"

using namespace nabla::models;

namespace {

std::shared_ptr<PyramidAttention> golden_block() {
    auto m = std::make_shared<PyramidAttention>(
        PyramidAttentionArgs{.level = 4, .res_scale = 0.5, .channel = 8, .reduction = 2});
    m->to(kFloat64);
    m->load_state_dict(load_fixture("models/pyramid_attention_weights"));
    return m;
}

}  // namespace

TEST_CASE("PyramidAttention: the reference's state-dict names", "[panet]") {
    PyramidAttention m;
    std::vector<std::string> keys;
    for (const auto& [k, v] : m.state_dict()) keys.push_back(k);
    REQUIRE(keys == std::vector<std::string>{"conv_assembly.0.bias", "conv_assembly.0.weight", "conv_assembly.1.weight",
                                             "conv_match.0.bias", "conv_match.0.weight", "conv_match.1.weight",
                                             "conv_match_L_base.0.bias", "conv_match_L_base.0.weight",
                                             "conv_match_L_base.1.weight", "escape_NaN"});
    REQUIRE(m.state_dict().at("escape_NaN").item<double>() == Approx(1e-4));
    REQUIRE(m.state_dict().at("conv_match.0.weight").shape() == Shape{32, 64, 1, 1});
}

TEST_CASE("PyramidAttention: output and every gradient equal PyTorch's, direct and GEMM forms", "[panet]") {
    const TensorMap io = load_fixture("models/pyramid_attention_io");
    for (auto form : {PyramidAttention::Form::Direct, PyramidAttention::Form::Gemm}) {
        INFO((form == PyramidAttention::Form::Direct ? "direct" : "gemm"));
        auto m = golden_block();
        Tensor x = io.at("input").clone().requires_grad_();
        Tensor y = m->forward(x, form);
        REQUIRE(y.shape() == Shape{2, 8, 11, 9});
        REQUIRE_THAT(y, ClosesTo(io.at("output"), 1e-10, 1e-8));
        (y * io.at("g")).sum().backward();
        REQUIRE_THAT(x.grad(), ClosesTo(io.at("grad.input"), 1e-9, 1e-7));
        int64_t checked = 0;
        for (const auto& [name, p] : m->named_parameters()) {
            INFO(name);
            REQUIRE_THAT(p.grad(), ClosesTo(io.at("grad." + name), 1e-9, 1e-7));
            ++checked;
        }
        REQUIRE(checked == 9);
    }
}

TEST_CASE("PyramidAttention: the two forms agree in float32 on another size, and calls go through the hooks",
          "[panet]") {
    manual_seed(3);
    PyramidAttention m({.level = 3, .channel = 16, .reduction = 4});
    Generator g(7);
    const Tensor x = randn({3, 16, 7, 12}, {}, &g);
    NoGradGuard no_grad;
    const Tensor gemm = m.forward(x, PyramidAttention::Form::Gemm);
    const Tensor direct = m(x);  // the default form
    REQUIRE(m.form == PyramidAttention::Form::Direct);
    REQUIRE_THAT(gemm, ClosesTo(direct, 1e-5, 1e-4));
}

TEST_CASE("PyramidAttention: all-zero key patches give finite gradients (the 1e-4 floor), bad shapes an error",
          "[panet]") {
    PyramidAttention m({.level = 2, .channel = 4, .reduction = 2});
    for (auto& [name, p] : m.named_parameters())
        if (name.ends_with("0.bias")) {
            NoGradGuard no_grad;
            p.zero_();
        }
    Tensor x = zeros({1, 4, 5, 5}).requires_grad_();
    Tensor y = m(x);
    y.sum().backward();
    REQUIRE(all_finite(x.grad()));
    for (const auto& [name, p] : m.named_parameters()) {
        INFO(name);
        REQUIRE(all_finite(p.grad()));
    }
    REQUIRE_THROWS_WITH(m(zeros({1, 3, 5, 5})), Catch::Contains("PyramidAttention") && Catch::Contains("[1, 3, 5, 5]"));
    REQUIRE_THROWS_AS(PyramidAttention({.channel = 10, .reduction = 4}), ValueError);
}

TEST_CASE("PyramidAttention: an input whose score matrix cannot fit in memory is refused with the numbers", "[panet]") {
    // 2000x2000 positions against about 11.8 million patches: some 380 TB of scores, refused before any is allocated.
    PyramidAttention m({.level = 4, .channel = 2, .reduction = 2});
    NoGradGuard no_grad;
    REQUIRE_THROWS_WITH(m(zeros({1, 2, 2000, 2000})),
                        Catch::Contains("PyramidAttention: input [1, 2, 2000, 2000] has 4000000 positions") &&
                            Catch::Contains("patches") && Catch::Contains("GB of memory") && Catch::Contains("tiles"));
}
