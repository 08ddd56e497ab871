#include "units/package_unit.h"

namespace systemk::units {

std::vector<ExecWord> exec_start_of_package_unit(const UnitFile &unit) {
    const auto *service = unit.find("Service");
    if (!service) return {};
    for (const auto &raw : service->values("ExecStart")) {
        if (raw.empty()) continue;  // an empty assignment resets the list
        auto words = split_words(raw);
        if (words.empty()) continue;
        auto &exe = words[0];
        size_t skip = 0;
        while (skip < exe.size() && std::string_view("-@:+!|").find(exe[skip]) != std::string_view::npos) ++skip;
        const bool argv0_override = exe.substr(0, skip).find('@') != std::string::npos;
        exe.erase(0, skip);
        std::vector<ExecWord> argv;
        for (size_t i = 0; i < words.size(); ++i) {
            if (argv0_override && i == 1) continue;  // "@/bin/x name args": the second word is argv[0]
            argv.push_back({words[i], WordOrigin::Package});
        }
        return argv;
    }
    return {};
}

std::vector<std::pair<std::string, std::string>> writable_directives_of_package_unit(const UnitFile &unit) {
    std::vector<std::pair<std::string, std::string>> out;
    const auto *service = unit.find("Service");
    if (!service) return out;
    for (const char *key : {"StateDirectory", "StateDirectoryMode", "RuntimeDirectory", "RuntimeDirectoryMode",
                            "LogsDirectory", "LogsDirectoryMode", "CacheDirectory", "CacheDirectoryMode",
                            "ConfigurationDirectory", "ConfigurationDirectoryMode", "ReadWritePaths"})
        for (const auto &value : service->values(key)) out.emplace_back(key, value);
    return out;
}

}  // namespace systemk::units
