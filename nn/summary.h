// nn/summary.h — a table of a model's layers for one input shape (torchinfo.summary / Keras model.summary()).
//
//   fmt::print("{}", nn::summary(model, {1, 3, 320, 320}));
//   Layer (type)                           Output shape            Params        MACs
//   stage1 (RSU7)                          [1, 64, 320, 320]            -           -
//     stage1.rebnconvin (REBNCONV)         [1, 64, 320, 320]            -           -
//       stage1.rebnconvin.conv_s1 (Conv2d) [1, 64, 320, 320]        1,792   176.95M
//   ...
//   Total params: 1,131,181 (trainable 1,131,181)   MACs: 9.72G   Input [1, 3, 320, 320]
//
// It runs one forward in eval mode without gradients on zeros of the given shape, and lists every module call in
// call order, indented by depth. Parameters and MACs are counted where they are registered (a container shows only
// its own), so the columns add up to the totals. MACs come from each layer's Module::macs().
#pragma once
#include <string>

#include "nn/module.h"

namespace nabla::nn {

std::string summary(Module& model, const Shape& input_shape);

// 1234567 -> "1,234,567"; 9.72e9 -> "9.72G" (the two number formats of the table).
std::string with_commas(int64_t n);
std::string si_suffix(double n);

}  // namespace nabla::nn
