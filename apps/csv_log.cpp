// apps/csv_log.cpp — CsvLog: plain comma-separated numbers with a header row.
#include "apps/csv_log.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace nabla::apps {
namespace {

std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    return cells;
}

std::string format_value(double v) {
    if (std::isnan(v)) return "";
    if (v == std::floor(v) && std::abs(v) < 1e15) return fmt::format("{:.0f}", v);
    return fmt::format("{:.6g}", v);
}

void write_table(const std::string& path, const CsvLog::Table& t) {
    std::string text;
    for (size_t c = 0; c < t.columns.size(); ++c) text += fmt::format("{}{}", c ? "," : "", t.columns[c]);
    text += "\n";
    for (const auto& row : t.rows) {
        for (size_t c = 0; c < row.size(); ++c) text += fmt::format("{}{}", c ? "," : "", format_value(row[c]));
        text += "\n";
    }
    write_text_file(path, text);
}

}  // namespace

void write_text_file(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc | std::ios::binary);
        if (!f) throw Error(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
        f << text;
        f.flush();
        if (!f) {
            const std::string why = std::strerror(errno);
            f.close();
            std::error_code ignored;
            std::filesystem::remove(tmp, ignored);
            throw Error(fmt::format("writing {} failed ({}); {} is unchanged", tmp, why, path));
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) throw Error(fmt::format("cannot rename {} over {}: {}", tmp, path, ec.message()));
}

std::vector<double> CsvLog::Table::column(const std::string& name) const {
    for (size_t c = 0; c < columns.size(); ++c) {
        if (columns[c] != name) continue;
        std::vector<double> values;
        for (const auto& row : rows) values.push_back(row[c]);
        return values;
    }
    return {};
}

CsvLog::Table CsvLog::read() const {
    Table t;
    std::ifstream f(path_);
    if (!f) return t;
    std::string line;
    if (!std::getline(f, line)) return t;
    t.columns = split(line);
    int64_t line_no = 1;
    while (std::getline(f, line)) {
        ++line_no;
        if (line.empty()) continue;
        const auto cells = split(line);
        if (cells.size() != t.columns.size())
            throw Error(fmt::format("CsvLog: {} line {} has {} cells, the header has {}", path_, line_no, cells.size(),
                                    t.columns.size()));
        std::vector<double> row;
        for (const auto& cell : cells) {
            if (cell.empty()) {
                row.push_back(NAN);
                continue;
            }
            try {
                row.push_back(std::stod(cell));
            } catch (const std::exception&) {
                throw Error(fmt::format("CsvLog: {} line {}: '{}' is not a number", path_, line_no, cell));
            }
        }
        t.rows.push_back(std::move(row));
    }
    return t;
}

void CsvLog::append(const std::vector<std::pair<std::string, double>>& row) {
    Table t = read();
    if (t.columns.empty())
        for (const auto& [name, v] : row) t.columns.push_back(name);
    std::vector<double> values(t.columns.size(), NAN);
    for (const auto& [name, v] : row) {
        auto it = std::find(t.columns.begin(), t.columns.end(), name);
        if (it == t.columns.end())
            throw Error(
                fmt::format("CsvLog: {} has no column '{}' (its columns are fixed by its header)", path_, name));
        values[static_cast<size_t>(it - t.columns.begin())] = v;
    }
    t.rows.push_back(std::move(values));
    write_table(path_, t);
}

void CsvLog::truncate_from(const std::string& column, double value) {
    Table t = read();
    auto it = std::find(t.columns.begin(), t.columns.end(), column);
    if (it == t.columns.end()) return;
    const size_t c = static_cast<size_t>(it - t.columns.begin());
    std::erase_if(t.rows, [&](const std::vector<double>& row) { return row[c] >= value; });
    write_table(path_, t);
}

}  // namespace nabla::apps
