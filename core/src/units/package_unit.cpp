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

namespace systemk::units {
namespace {

bool has_control_character(std::string_view value) {
    for (unsigned char c : value)
        if (c < 0x20 || c == 0x7f) return true;
    return false;
}

// An Exec*= line without the prefixes that lift the sandbox ('+': full privileges, '!' and
// '!!': no user change); '-', '@' and ':' keep their meaning.
std::string without_privileged_prefixes(const std::string &raw) {
    size_t end = 0;
    while (end < raw.size() && std::string_view("-@:+!|").find(raw[end]) != std::string_view::npos) ++end;
    std::string prefix;
    for (size_t i = 0; i < end; ++i)
        if (raw[i] != '+' && raw[i] != '!') prefix += raw[i];
    return prefix + raw.substr(end);
}

bool is_yes(const std::string &value) { return value == "yes" || value == "true" || value == "on" || value == "1"; }

}  // namespace

PackageUnitSettings settings_of_package_unit(const UnitFile &unit) {
    PackageUnitSettings out;
    const auto *service = unit.find("Service");
    if (!service) return out;
    static const std::vector<std::string_view> kProcess = {"Type", "PIDFile", "BusName", "NotifyAccess", "ExecStartPre",
                                                           "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost"};
    static const std::vector<std::string_view> kIdentity = {"User", "Group", "SupplementaryGroups", "DynamicUser"};
    static const std::vector<std::string_view> kHardening = {
        "PrivateTmp", "PrivateDevices", "PrivateNetwork", "PrivateIPC", "PrivateMounts", "ProtectKernelTunables",
        "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock", "ProtectHostname",
        "NoNewPrivileges", "MemoryDenyWriteExecute", "LockPersonality", "RestrictRealtime", "RestrictSUIDSGID",
        "RemoveIPC"};
    auto in = [](const std::vector<std::string_view> &set, const std::string &key) {
        for (auto k : set)
            if (k == key) return true;
        return false;
    };
    for (const auto &item : service->items) {
        const auto &key = item.key;
        if (key.empty()) continue;  // a comment
        if (has_control_character(item.value)) throw QuotingError(key + "= of the package unit holds a control character");
        if (in(kProcess, key)) {
            out.process.emplace_back(key, key.starts_with("Exec") ? without_privileged_prefixes(item.value) : item.value);
        } else if (in(kIdentity, key)) {
            out.identity.emplace_back(key, item.value);
        } else if (key == "Environment" || key == "EnvironmentFile") {
            out.environment.emplace_back(key, item.value);
        } else if (key == "WorkingDirectory") {
            out.working_directory.emplace_back(key, item.value);
        } else if (in(kHardening, key) && is_yes(item.value)) {
            out.hardening.emplace_back(key, "yes");
        }
    }
    return out;
}

}  // namespace systemk::units
