// apps/resume_args.cpp — with_run_options (apps/resume_args.h).
#include "apps/resume_args.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "apps/models.h"
#include "apps/train_loop.h"

namespace nabla::apps {

namespace {

// The value after `--resume` (or of `--resume=R`); empty when the option is absent.
std::string resume_value(const std::vector<std::string>& args) {
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--resume" && i + 1 < args.size()) return args[i + 1];
        if (args[i].starts_with("--resume=")) return args[i].substr(9);
    }
    return {};
}

// The run's config, or an empty object when the checkpoint is missing, unreadable or has none.
nlohmann::json config_of_checkpoint(const std::string& resume) {
    try {
        return config_of_weights(resume_path(resume));
    } catch (const std::exception&) {
        return nlohmann::json::object();  // the trainer's own load names the file and the fault
    }
}

// A JSON scalar as the command line spells it ("0.003", "224", "data/x"); nlohmann's dump quotes strings.
std::string as_argument(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

std::vector<std::string> with_run_options(const CLI::App& app, std::vector<std::string> args,
                                          std::vector<std::string>* added) {
    if (args.size() < 2 || args[0] != "train") return args;
    const std::string resume = resume_value(args);
    if (resume.empty()) return args;
    const CLI::App* cmd = nullptr;
    try {
        cmd = app.get_subcommand("train")->get_subcommand(args[1]);
    } catch (const CLI::OptionNotFound&) {
        return args;  // an unknown model: CLI11 names it
    }
    const nlohmann::json config = config_of_checkpoint(resume);

    std::set<const CLI::Option*> given;  // the options typed, whatever name or spelling (--x v, --x=v)
    for (const std::string& a : args)
        if (a.starts_with("-"))
            if (const CLI::Option* opt = cmd->get_option_no_throw(a.substr(0, a.find('=')))) given.insert(opt);

    std::vector<std::string> extra;
    for (const auto& [key, value] : config.items()) {
        std::string name = "--" + key;
        std::replace(name.begin() + 2, name.end(), '_', '-');
        const CLI::Option* opt = cmd->get_option_no_throw(name);
        if (opt == nullptr || given.contains(opt) || name == "--weights" || name == "--resume") continue;
        if (value.is_boolean()) {
            if (value.get<bool>()) extra.push_back(name);
        } else if (value.is_array()) {
            for (const auto& element : value) extra.insert(extra.end(), {name, as_argument(element)});
        } else if (!value.is_null() && !(value.is_string() && value.get<std::string>().empty())) {
            extra.insert(extra.end(), {name, as_argument(value)});
        }
    }
    args.insert(args.end(), extra.begin(), extra.end());
    if (added != nullptr) *added = extra;
    return args;
}

}  // namespace nabla::apps
