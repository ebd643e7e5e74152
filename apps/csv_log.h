// apps/csv_log.h — the per-epoch metrics table of a run (ultralytics' results.csv): one row per epoch, columns
// fixed by the first row, appended to on resume, and re-read to draw the curves; and write_text_file for the run's
// other text files (args.json).
#pragma once
#include <map>
#include <string>
#include <vector>

namespace nabla::apps {

// Writes `text` to `path` through a temporary file renamed over it, so the file is whole or untouched; a failed write
// (a full disk) is an Error naming the file, never a silently empty file.
void write_text_file(const std::string& path, const std::string& text);

class CsvLog {
public:
    explicit CsvLog(std::string path) : path_(std::move(path)) {}

    // Appends a row. The first row of a new file writes the header (column order: as given); later rows must have
    // the same columns (a missing value is written empty, an unknown column is an error naming it).
    void append(const std::vector<std::pair<std::string, double>>& row);
    // Drops rows whose `column` is >= `value` (resuming from a checkpoint older than the last rows written).
    void truncate_from(const std::string& column, double value);

    struct Table {
        std::vector<std::string> columns;
        std::vector<std::vector<double>> rows;                      // NaN where a cell is empty
        std::vector<double> column(const std::string& name) const;  // empty if no such column
    };
    Table read() const;  // an empty table if the file does not exist; an error naming the file if it is malformed
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace nabla::apps
