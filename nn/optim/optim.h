// nn/optim/optim.h — everything of nabla::optim in one include (torch.optim, torch.optim.lr_scheduler,
// torch.nn.utils.clip_grad, and ultralytics' ModelEMA).
#pragma once
#include "nn/optim/adam.h"
#include "nn/optim/clip_grad.h"
#include "nn/optim/ema.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/optimizer.h"
#include "nn/optim/sgd.h"
