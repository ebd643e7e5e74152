// nn/data/transforms.h — the image transforms for training (torchvision.transforms.functional, and ultralytics'
// letterbox / augment_hsv), with the same geometry applicable to a mask, keypoints and boxes. One include for all:
// functional.h (tensor conversion, normalize, resize, crops, flips), affine.h (affine, rotate), color.h (HSV) and
// letterbox.h.
//
// Images are float [C, H, W] (most functions also take [N, C, H, W], and masks of any dtype [H, W] / [1, H, W] for
// the geometric ones, which then use nearest sampling). Random transforms are split into drawing the parameters
// from a Generator and applying them, so that image, mask and points share one draw:
//   CropBox box = random_crop_box(H, W, {256, 256}, gen);
//   image = crop(image, box); mask = crop(mask, box); points = crop_points(points, box);
//
// Coordinates of points [..., 2] (x, y) and boxes [..., 4] (x1, y1, x2, y2) are continuous pixel coordinates, as
// torchvision's boxes: pixel (row i, column j) covers [j, j+1) x [i, i+1), so its centre is (j + 0.5, i + 0.5) and
// the image spans [0, W] x [0, H]. In these coordinates a horizontal flip maps x to W - x (PFLD's 1 - x on
// normalised landmarks), and resizing by a factor scales coordinates by the same factor. Landmarks given as pixel
// indices (centres at integers) convert by adding 0.5.
#pragma once
#include "nn/data/affine.h"
#include "nn/data/color.h"
#include "nn/data/functional.h"
#include "nn/data/letterbox.h"
