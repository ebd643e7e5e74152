// apps/shapes_synth.h — a synthetic detection data set in the YOLO layout: the bundled default data of
// `nabla train yolov5*` and of the detection-data tests (docs/yolo_data.md §8).
//
// Each picture is a crop of one of the bundled photos (data/photos, see data/photos/LICENSES.md) at one of five
// aspect ratios, with up to max_objects objects composited on it, larger ones first. The classes keep one look each,
// varied in colour, size, aspect and rotation:
//   circle    a shaded ball (an ellipse when stretched) with a highlight
//   square    a rectangle with a dark frame
//   triangle  an upright triangle with a vertical gradient
//   star      a five-pointed star with a dark outline
//   patch     a rectangle of checks or stripes in two colours
//   photo     a print of another photo with a white border
// Objects range from about 12 pixels to most of the picture and overlap: a label is dropped when less than 40% of its
// object stays visible (cut by the border or covered), and a new object is not placed where it would leave a labelled
// one between 5% and 40% visible, so an object without a label is all but covered. Boxes are the exact extent of the
// visible pixels. About 5% of the pictures are backgrounds with an empty label file. Every picture comes from its own
// generator seeded by (seed, split, index), so the same seed writes the same files whatever the thread count.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nabla::apps {

struct ShapesSynthOptions {
    int64_t train = 2000, val = 250;  // pictures per split
    int64_t size = 320;               // the long side of the pictures, pixels
    int64_t classes = 6;              // the first `classes` of shape_class_names()
    int64_t max_objects = 8;          // objects per picture at most
    uint64_t seed = 0;
    std::string photos = "data/photos";  // backgrounds and prints
};

// circle, square, triangle, star, patch, photo: class k of the data set.
const std::vector<std::string>& shape_class_names();

struct ShapesStats {
    int64_t images = 0, boxes = 0, backgrounds = 0, hidden = 0;  // hidden: objects whose label was dropped
};

// Writes dir/images/{train,val}/shapes_NNNNN.jpg, dir/labels/{train,val}/shapes_NNNNN.txt (class cx cy w h,
// normalised) and dir/data.yaml (train, val, nc, names; paths relative to the yaml's folder). Files named shapes_*
// left in those folders by an earlier run are removed first. An Error names a photos folder with no readable photo.
ShapesStats generate_shapes(const std::string& dir, const ShapesSynthOptions& options);

}  // namespace nabla::apps
