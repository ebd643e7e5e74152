// apps/resume_args.h — `nabla train MODEL --resume RUN` continues the run with the options it was started with: the
// options its checkpoint's config recorded (data, sizes, learning rate, epochs, --set ...) are added to the command
// line unless the user gives them again, so a resumed run trains on what the first one trained on.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace nabla::apps {

// `args` is the command line without the program name, in the order typed. When it is `train MODEL ... --resume R`
// and R's checkpoint (resume_path) carries a "config" metadata entry, returns `args` with `--key value` appended for
// each config key that names an option of that train command (key "img_size" names --img-size) and that `args` does not
// give: a true boolean as the bare flag, an array as one --key per element; empty strings, empty arrays, false flags
// and --weights (resume restores the weights itself) are left out. Otherwise, or when the checkpoint cannot be read
// (the trainer then reports it), returns `args` as given. `added`, if given, receives what was appended.
std::vector<std::string> with_run_options(const CLI::App& app, std::vector<std::string> args,
                                          std::vector<std::string>* added = nullptr);

}  // namespace nabla::apps
