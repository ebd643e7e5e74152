// nn/data/plot.cpp — plot_curves and plot_csv (see plot.h): nice tick ranges, the frame layout, and the drawing of
// grid, axes, labels, curves, legend and title on a Canvas.
#include "nn/data/plot.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "nn/data/canvas.h"
#include "nn/data/image.h"

namespace nabla::data {
namespace {

const Color kWhite{1, 1, 1}, kBlack{0, 0, 0}, kGrid{0.88, 0.88, 0.88}, kLegendBorder{0.7, 0.7, 0.7};
constexpr int64_t kTick = 4;  // tick mark length

Color series_color(size_t i) {  // matplotlib's tab10
    static const char* const kTab10[10] = {"1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd",
                                           "8c564b", "e377c2", "7f7f7f", "bcbd22", "17becf"};
    return hex_color(kTab10[i % 10]);
}

double x_at(const Series& s, size_t i) { return s.x.empty() ? static_cast<double>(i) : s.x[i]; }

void check_series(const std::vector<Series>& series, const char* fn) {
    for (const Series& s : series)
        NB_CHECK_VALUE(s.x.empty() || s.x.size() == s.y.size(), fn, ": series '", s.name, "' has ", s.x.size(),
                       " x values but ", s.y.size(), " y values");
}

// [lo, hi] widened to whole steps of 1, 2 or 5 times a power of ten, about 5 steps in all.
void nice_range(double lo, double hi, double& out_lo, double& out_hi, double& step) {
    if (!(lo <= hi)) lo = 0, hi = 1;                                  // no finite data
    if (hi - lo <= 1e-12 * std::max({std::abs(lo), std::abs(hi)})) {  // a flat curve: 10% of its value either side
        const double d = lo != 0 ? std::abs(lo) * 0.1 : 0.5;          // (a constant lr of 0.003: 0.0027 to 0.0033)
        lo -= d, hi += d;
    }
    const double raw = (hi - lo) / 5.0, mag = std::pow(10.0, std::floor(std::log10(raw))), norm = raw / mag;
    step = (norm <= 1.0 ? 1.0 : norm <= 2.0 ? 2.0 : norm <= 5.0 ? 5.0 : 10.0) * mag;
    out_lo = std::floor(lo / step + 1e-9) * step;
    out_hi = std::ceil(hi / step - 1e-9) * step;
}

int exponent_of(double v) { return static_cast<int>(std::floor(std::log10(std::abs(v)) + 1e-9)); }

// "1.50e-04" -> "1.5e-04", "1.00e+08" -> "1e+08"
std::string strip_mantissa_zeros(std::string s) {
    const size_t e = s.find('e'), dot = s.find('.');
    if (e == std::string::npos || dot == std::string::npos || dot > e) return s;
    size_t end = e;
    while (end > dot + 1 && s[end - 1] == '0') --end;
    if (end == dot + 1) --end;
    return s.substr(0, end) + s.substr(e);
}

// The labels of ticks `values` spaced `step` apart, with the digits the step needs: fixed decimals ("0.25", "1500",
// "0.0026") or, on an axis that reaches below 1e-4 with a step under 1e-3, or reaches 1e7, scientific for all
// ("9.5e-05", "1e-04", "1.5e+08").
std::vector<std::string> tick_labels(const std::vector<double>& values, double step) {
    const int step_exponent = static_cast<int>(std::floor(std::log10(step) + 1e-9));
    bool scientific = false;
    for (double v : values)
        if (std::abs(v) >= step * 1e-6 && ((step_exponent < -3 && std::abs(v) < 1e-4) || std::abs(v) >= 1e7))
            scientific = true;
    std::vector<std::string> labels;
    for (double v : values) {
        if (std::abs(v) < step * 1e-6) v = 0;  // no "-0"
        if (scientific && v != 0)
            labels.push_back(
                strip_mantissa_zeros(fmt::format("{:.{}e}", v, std::max(0, exponent_of(v) - step_exponent))));
        else if (step_exponent < -3 && v != 0)  // significant digits: 0.0026, not 0.00260
            labels.push_back(fmt::format("{:.{}g}", v, std::max(1, exponent_of(v) - step_exponent + 1)));
        else
            labels.push_back(fmt::format("{:.{}f}", v, scientific ? 0 : std::max(0, -step_exponent)));
    }
    return labels;
}

std::vector<double> ticks(double lo, double hi, double step) {
    std::vector<double> t;
    for (int64_t k = 0; lo + static_cast<double>(k) * step <= hi + step * 1e-9; ++k)
        t.push_back(lo + static_cast<double>(k) * step);
    return t;
}

struct Mapper {
    PlotFrame f;
    double px(double x) const { return f.left + (x - f.x_min) / (f.x_max - f.x_min) * (f.right - f.left); }
    double py(double y) const { return f.bottom - (y - f.y_min) / (f.y_max - f.y_min) * (f.bottom - f.top); }
};

// Draws one plot into the width x height region of the canvas at (ox, oy).
void draw_plot(Canvas& canvas, int64_t ox, int64_t oy, int64_t width, int64_t height, const std::string& title,
               const std::vector<Series>& series) {
    PlotFrame f = plot_frame(series, width, height, !title.empty());
    f.left += ox, f.right += ox, f.top += oy, f.bottom += oy;
    const Mapper m{f};
    canvas.fill_rect(ox, oy, ox + width, oy + height, kWhite);

    // grid, ticks and their labels
    const std::vector<double> xs = ticks(f.x_min, f.x_max, f.x_step), ys = ticks(f.y_min, f.y_max, f.y_step);
    for (size_t i = 0; i < xs.size(); ++i) {
        const int64_t x = static_cast<int64_t>(std::floor(m.px(xs[i])));
        canvas.fill_rect(x, f.top, x + 1, f.bottom, kGrid);
        canvas.fill_rect(x, f.bottom, x + 1, f.bottom + kTick + 1, kBlack);
        canvas.text(x - text_size(f.x_labels[i]).w / 2, f.bottom + kTick + 3, f.x_labels[i], kBlack, 1);
    }
    for (size_t i = 0; i < ys.size(); ++i) {
        const int64_t y = static_cast<int64_t>(std::floor(m.py(ys[i])));
        canvas.fill_rect(f.left, y, f.right, y + 1, kGrid);
        canvas.fill_rect(f.left - kTick, y, f.left, y + 1, kBlack);
        canvas.text(f.left - kTick - 3 - text_size(f.y_labels[i]).w, y - 3, f.y_labels[i], kBlack, 1);
    }
    canvas.rect(f.left, f.top, f.right, f.bottom, kBlack, 1);

    // the curves: consecutive finite points joined; a finite point with no finite neighbour as a dot
    for (size_t s = 0; s < series.size(); ++s) {
        const Series& se = series[s];
        const Color c = series_color(s);
        auto finite = [&](size_t i) { return i < se.y.size() && std::isfinite(x_at(se, i)) && std::isfinite(se.y[i]); };
        for (size_t i = 0; i < se.y.size(); ++i) {
            if (!finite(i)) continue;
            const double x0 = m.px(x_at(se, i)), y0 = m.py(se.y[i]);
            if (finite(i + 1))
                canvas.line(x0, y0, m.px(x_at(se, i + 1)), m.py(se.y[i + 1]), c, 2.0);
            else if (i == 0 || !finite(i - 1))
                canvas.line(x0, y0, x0, y0, c, 4.0);
        }
    }

    // legend (top right, inside the axes) and title
    size_t longest = 0, named = 0;
    for (const Series& s : series) longest = std::max(longest, s.name.size()), named += !s.name.empty();
    if (named > 0) {
        const int64_t w = 8 + 20 + 6 + static_cast<int64_t>(longest) * 6 + 6,
                      h = static_cast<int64_t>(series.size()) * 12 + 6;
        const int64_t x0 = f.right - 8 - w, y0 = f.top + 8;
        canvas.fill_rect(x0, y0, x0 + w, y0 + h, kWhite);
        canvas.rect(x0, y0, x0 + w - 1, y0 + h - 1, kLegendBorder, 1);
        for (size_t s = 0; s < series.size(); ++s) {
            const int64_t y = y0 + 4 + static_cast<int64_t>(s) * 12;
            canvas.line(x0 + 8, y + 4, x0 + 28, y + 4, series_color(s), 2.0);
            canvas.text(x0 + 34, y, series[s].name, kBlack, 1);
        }
    }
    if (!title.empty()) {
        const int64_t scale = text_size(title, 2).w <= width - 10 ? 2 : 1;
        const Int2 size = text_size(title, scale);
        canvas.text(ox + (width - size.w) / 2, oy + (scale == 2 ? 8 : 12), title, kBlack, scale);
    }
}

std::vector<std::string> split_csv_line(const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
        const size_t a = cell.find_first_not_of(" \t\r"), b = cell.find_last_not_of(" \t\r");
        cells.push_back(a == std::string::npos ? "" : cell.substr(a, b - a + 1));
    }
    if (!line.empty() && line.back() == ',') cells.push_back("");
    return cells;
}

}  // namespace

PlotFrame plot_frame(const std::vector<Series>& series, int64_t width, int64_t height, bool with_title) {
    check_series(series, "plot_frame");
    double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
    for (const Series& s : series)
        for (size_t i = 0; i < s.y.size(); ++i) {
            const double x = x_at(s, i), y = s.y[i];
            if (!std::isfinite(x) || !std::isfinite(y)) continue;
            x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x), y_lo = std::min(y_lo, y), y_hi = std::max(y_hi, y);
        }
    PlotFrame f;
    nice_range(x_lo, x_hi, f.x_min, f.x_max, f.x_step);
    nice_range(y_lo, y_hi, f.y_min, f.y_max, f.y_step);
    f.x_labels = tick_labels(ticks(f.x_min, f.x_max, f.x_step), f.x_step);
    f.y_labels = tick_labels(ticks(f.y_min, f.y_max, f.y_step), f.y_step);
    int64_t label_w = 0;
    for (const std::string& label : f.y_labels) label_w = std::max(label_w, text_size(label).w);
    f.left = 10 + label_w + kTick + 3;
    f.top = with_title ? 34 : 12;
    f.right = width - 16;
    f.bottom = height - (kTick + 3 + 8 + 8);
    NB_CHECK_VALUE(f.right - f.left >= 20 && f.bottom - f.top >= 20, "plot_curves: a plot of ", width, "x", height,
                   " pixels is too small for its axes and labels");
    return f;
}

Tensor render_curves(const std::string& title, const std::vector<Series>& series, int64_t width, int64_t height) {
    NB_CHECK_VALUE(width > 0 && height > 0 && width <= 16384 && height <= 16384, "plot_curves: size ", width, "x",
                   height, " is out of range");
    Canvas canvas(height, width, kWhite);
    draw_plot(canvas, 0, 0, width, height, title, series);
    return canvas.image();
}

void plot_curves(const std::string& path, const std::string& title, const std::vector<Series>& series, int64_t width,
                 int64_t height) {
    write_png(path, to_uint8(render_curves(title, series, width, height)));
}

void plot_csv(const std::string& csv_path, const std::string& png_path, int64_t columns, int64_t panel_width,
              int64_t panel_height) {
    NB_CHECK_VALUE(columns >= 1, "plot_csv: columns must be positive, got ", columns);
    std::ifstream in(csv_path);
    if (!in) throw Error(detail::concat("plot_csv: ", csv_path, ": cannot open"));
    std::string line;
    if (!std::getline(in, line)) throw Error(detail::concat("plot_csv: ", csv_path, ": empty file"));
    const std::vector<std::string> header = split_csv_line(line);
    if (header.size() < 2)
        throw Error(
            detail::concat("plot_csv: ", csv_path, ": expected a header of at least two columns, got '", line, "'"));
    std::vector<std::vector<double>> cols(header.size());
    for (int64_t number = 2; std::getline(in, line); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::vector<std::string> cells = split_csv_line(line);
        if (cells.size() != header.size())
            throw Error(detail::concat("plot_csv: ", csv_path, ":", number, ": ", cells.size(),
                                       " cells, but the header has ", header.size()));
        for (size_t k = 0; k < cells.size(); ++k) {
            char* end = nullptr;
            const double v = std::strtod(cells[k].c_str(), &end);
            cols[k].push_back(!cells[k].empty() && end && *end == '\0' ? v : std::nan(""));
        }
    }
    std::vector<size_t> shown;  // the columns that get a panel: not the x column, nor the step and time counters
    for (size_t k = 1; k < header.size(); ++k)
        if (header[k] != "step" && header[k] != "time") shown.push_back(k);
    NB_CHECK_VALUE(!shown.empty(), "plot_csv: ", csv_path, ": no column to plot besides ", header[0]);
    const int64_t panels = static_cast<int64_t>(shown.size()), per_row = std::min(columns, panels);
    const int64_t rows = (panels + per_row - 1) / per_row;
    Canvas canvas(rows * panel_height, per_row * panel_width, kWhite);
    for (int64_t p = 0; p < panels; ++p) {
        const size_t k = shown[static_cast<size_t>(p)];
        draw_plot(canvas, (p % per_row) * panel_width, (p / per_row) * panel_height, panel_width, panel_height,
                  header[k], {{"", cols[0], cols[k]}});
    }
    write_png(png_path, to_uint8(canvas.image()));
}

}  // namespace nabla::data
