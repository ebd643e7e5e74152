// ops/ops.h — the tensor library in one include: core, autograd, backends and every op.
#pragma once
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "backends/backend.h"
#include "core/factory.h"
#include "core/format.h"
#include "core/generator.h"
#include "core/tensor.h"
#include "ops/activation.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "ops/reduce.h"
