// nn/data/plot.h — line plots of training curves as PNG files (what matplotlib does for ultralytics' results.png):
// axes with "nice" ticks (steps of 1, 2 or 5 times a power of ten) and labels with the digits their step needs
// (a flat curve gets 10% of its value either side, so a constant lr of 0.003 reads 0.0026 ... 0.0034), a title, a
// legend and one colour per series (matplotlib's tab10 cycle), drawn with the built-in bitmap font.
//   plot_curves("loss.png", "loss", {{"train", epochs, train_loss}, {"val", epochs, val_loss}});
//   plot_csv("results.csv", "results.png");   // one panel per column against the first column, as results.png
// NaN and infinite values are left out (the line breaks there).
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/data/draw.h"

namespace nabla::data {

struct Series {
    std::string name;
    std::vector<double> x;  // empty: 0, 1, 2, ...
    std::vector<double> y;
};

// Where the axes sit in a plot of width x height pixels and the data range they show: data (x, y) is drawn at
// pixel column left + (x - x_min) / (x_max - x_min) * (right - left), row bottom - (y - y_min) / (y_max - y_min) *
// (bottom - top) (continuous coordinates). The ranges are the data's, widened to whole tick steps.
struct PlotFrame {
    int64_t left = 0, top = 0, right = 0, bottom = 0;
    double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
    double x_step = 1, y_step = 1;  // tick spacing
    // The tick labels, lowest first: as many digits as the step needs ("0.0027", "2.5e-05", "1500").
    std::vector<std::string> x_labels, y_labels;
};
PlotFrame plot_frame(const std::vector<Series>& series, int64_t width, int64_t height, bool with_title = true);

// The plot as a float [3, height, width] image on a white background.
Tensor render_curves(const std::string& title, const std::vector<Series>& series, int64_t width = 800,
                     int64_t height = 500);
// render_curves written to `path` as PNG.
void plot_curves(const std::string& path, const std::string& title, const std::vector<Series>& series,
                 int64_t width = 800, int64_t height = 500);

// Reads a CSV file with a header row (a trainer's per-epoch log) and writes a PNG of one panel per column,
// plotted against the first column (columns named step and time, counters rather than curves, get none), `columns`
// panels per row, each panel_width x panel_height pixels. Cells that are not numbers count as NaN. An Error names the
// file and the line of a malformed row.
void plot_csv(const std::string& csv_path, const std::string& png_path, int64_t columns = 5, int64_t panel_width = 400,
              int64_t panel_height = 300);

}  // namespace nabla::data
