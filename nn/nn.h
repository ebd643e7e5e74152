// nn/nn.h — all of nabla::nn in one include (torch.nn): Module, the layers, init, the losses, safetensors.
//   #include "nn/nn.h"
//   auto net = std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{
//       std::make_shared<nn::Conv2d>(3, 16, 3, nn::Conv2dArgs{.padding = 1}),
//       std::make_shared<nn::BatchNorm2d>(16), std::make_shared<nn::ReLU>()});
#pragma once
#include "nn/activation.h"
#include "nn/anomaly.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/fusion.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/loss.h"
#include "nn/module.h"
#include "nn/normalization.h"
#include "nn/pooling.h"
#include "nn/safetensors.h"
#include "nn/upsampling.h"
