// nn/data/data.h — data loading in one include (torch.utils.data + torchvision.io / transforms / utils):
// image files (image.h), Dataset and DataLoader (dataset.h, collate.h, dataloader.h), finding files on disk
// (folder.h), transforms (transforms.h) and pictures (draw.h, plot.h). Everything is in namespace nabla::data.
#pragma once
#include "nn/data/collate.h"
#include "nn/data/dataloader.h"
#include "nn/data/dataset.h"
#include "nn/data/draw.h"
#include "nn/data/folder.h"
#include "nn/data/image.h"
#include "nn/data/plot.h"
#include "nn/data/transforms.h"
