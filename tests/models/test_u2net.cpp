// tests/models/test_u2net.cpp — models/u2net: parameter counts and state-dict keys of the public U²-Net, a narrow
// U²-Net's seven outputs and every gradient against PyTorch (tests/fixtures/make_models.py; odd input sizes, so
// ceil-mode pooling and non-integer upsampling are exercised), and U2NETP learning on a few generated pairs.
#include <unistd.h>

#include <filesystem>

#include "apps/segmentation_data.h"
#include "models/u2net/u2net.h"
#include "nn/data/dataloader.h"
#include "nn/optim/adam.h"
#include "support/support.h"

using namespace nabla::models;

namespace {

std::shared_ptr<U2NET> mini() {
    std::vector<U2NET::Widths> w{{3, 4, 6}};
    for (int i = 0; i < 5; ++i) w.push_back({6, 4, 6});
    for (int i = 0; i < 5; ++i) w.push_back({12, 4, 6});
    return std::make_shared<U2NET>("U2NET", 3, 1, w);
}

}  // namespace

TEST_CASE("U2NET and U2NETP: the public model's parameter counts and state-dict keys", "[u2net]") {
    manual_seed(0);
    U2NETP small;
    REQUIRE(small.num_parameters() == 1131181);
    require_keys_match(small.state_dict(), "models/u2netp_keys");
    U2NET full;
    REQUIRE(full.num_parameters() == 44009869);
    require_keys_match(full.state_dict(), "models/u2net_keys");
    REQUIRE(full.state_dict().count("stage1.rebnconvin.conv_s1.weight"));
    REQUIRE(full.state_dict().count("stage5d.rebnconv1d.bn_s1.num_batches_tracked"));
}

TEST_CASE("U2NET: outputs d0..d6 and every gradient equal PyTorch's, train and eval", "[u2net]") {
    auto model = mini();
    model->load_state_dict(load_fixture("models/u2net_mini_weights"));
    const TensorMap io = load_fixture("models/u2net_mini_io");
    const Tensor x = io.at("input");  // [2, 3, 36, 30]
    {
        NoGradGuard no_grad;
        model->eval();
        const auto out = model->forward_outputs(x);
        REQUIRE(out.size() == 7);
        for (size_t k = 0; k < 7; ++k) {
            INFO("eval d" << k);
            REQUIRE(out[k].shape() == Shape{2, 1, 36, 30});
            REQUIRE_THAT(out[k], ClosesTo(io.at(fmt::format("eval.out{}", k)), 1e-4, 1e-3));
        }
    }
    // Training mode in float64: the conv biases in front of BatchNorm get an exactly-zero gradient, which float32
    // would bury in rounding noise.
    model->train();
    model->to(kFloat64);
    const auto out = model->forward_outputs(x.to(kFloat64));
    Tensor total = out[0].sum();
    for (size_t k = 0; k < 7; ++k) {
        INFO("train d" << k);
        REQUIRE_THAT(out[k], ClosesTo(io.at(fmt::format("train.out{}", k)), 1e-9, 1e-7));
        if (k > 0) total = total + out[k].sum();
    }
    total.backward();
    const int64_t checked = require_grads_match(*model, io, 1e-8, 1e-6);
    REQUIRE(checked == 112 * 4 + 7 * 2);  // 112 REBNCONVs x (conv w, b, bn w, b) + 7 side/fusion convs x (w, b)
}

TEST_CASE("U2NETP learns: the summed BCE of the seven outputs falls on generated pairs", "[u2net][train]") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / fmt::format("nabla_test_u2net_{}", ::getpid());
    apps::generate_ellipse_pairs(dir.string(), 8, 48, 11);
    auto dataset = std::make_shared<apps::SegmentationDataset>(apps::find_segmentation_pairs(dir.string()),
                                                               apps::SegmentationTransform{48, 40, true});
    data::DataLoader loader(dataset, {.batch_size = 4, .shuffle = true, .drop_last = true, .seed = 1});
    manual_seed(0);
    U2NETP model;
    optim::Adam adam(model.parameters(), {.lr = 1e-3});
    std::vector<double> losses;
    for (int epoch = 0; epoch < 15; ++epoch) {
        for (auto& b : loader) {
            adam.zero_grad();
            const auto out = model.forward_outputs(b[0]);
            Tensor loss = binary_cross_entropy_with_logits(out[0], b[1]);
            for (size_t k = 1; k < out.size(); ++k) loss = loss + binary_cross_entropy_with_logits(out[k], b[1]);
            loss.backward();
            adam.step();
            losses.push_back(loss.item<double>());
        }
    }
    fs::remove_all(dir);
    const double first = (losses[0] + losses[1]) / 2, last = (losses[losses.size() - 2] + losses.back()) / 2;
    INFO("loss " << first << " -> " << last);
    REQUIRE(losses.size() == 30);
    REQUIRE(last < 0.5 * first);
}
