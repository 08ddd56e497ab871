#include "cli/options.h"

namespace systemk::cli {

Options::Options(const std::vector<OptionSpec> &specs, const std::vector<std::string> &args) {
    auto find = [&](const std::string &name) -> const OptionSpec * {
        for (const auto &s : specs) {
            if (s.name == name) return &s;
            for (const auto &a : s.aliases)
                if (a == name) return &s;
        }
        return nullptr;
    };
    for (size_t i = 0; i < args.size(); ++i) {
        const auto &arg = args[i];
        if (arg == "--") {
            positional_.insert(positional_.end(), args.begin() + static_cast<long>(i) + 1, args.end());
            break;
        }
        if (arg.size() < 2 || arg[0] != '-' || arg == "-") {
            positional_.push_back(arg);
            continue;
        }
        std::string name = arg, value;
        bool inline_value = false;
        if (const auto eq = arg.find('='); eq != std::string::npos && arg.starts_with("--")) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            inline_value = true;
        }
        const auto *spec = find(name);
        if (!spec) throw UsageError("unknown option " + name);
        if (!spec->takes_value) {
            if (inline_value) {
                if (value == "false" || value == "0") continue;
                if (value != "true" && value != "1") throw UsageError(name + " takes no value");
            }
            flags_.insert(spec->name);
            continue;
        }
        if (!inline_value) {
            if (i + 1 >= args.size()) throw UsageError(name + " needs a value");
            value = args[++i];
        }
        values_[spec->name].push_back(value);
    }
}

std::optional<std::string> Options::get(const std::string &name) const {
    const auto it = values_.find(name);
    if (it == values_.end() || it->second.empty()) return std::nullopt;
    return it->second.back();
}

std::string Options::get_or(const std::string &name, const std::string &fallback) const {
    return get(name).value_or(fallback);
}

std::vector<std::string> Options::all(const std::string &name) const {
    const auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
}

bool Options::flag(const std::string &name) const { return flags_.contains(name); }

std::string format_help(const std::vector<OptionSpec> &specs) {
    std::string out;
    for (const auto &s : specs) {
        std::string left = "  " + s.name;
        for (const auto &a : s.aliases) left += ", " + a;
        if (s.takes_value) left += " VALUE";
        if (left.size() < 34) left.resize(34, ' ');
        else left += "\n" + std::string(34, ' ');
        out += left + s.help + "\n";
    }
    return out;
}

}  // namespace systemk::cli
