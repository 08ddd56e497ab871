#include "units/sandbox_profile.h"

#include <algorithm>
#include <set>

#include "pods/json_access.h"
#include "pods/spec_error.h"

namespace systemk::units {
namespace {

namespace json = boost::json;
using pods::SpecError;

const std::set<std::string> &all_capabilities() {
    static const std::set<std::string> names = {
        "CAP_AUDIT_CONTROL", "CAP_AUDIT_READ", "CAP_AUDIT_WRITE", "CAP_BLOCK_SUSPEND", "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
        "CAP_FSETID", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_KILL", "CAP_LEASE", "CAP_LINUX_IMMUTABLE",
        "CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE", "CAP_MKNOD", "CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_RAW", "CAP_PERFMON", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
        "CAP_SETUID", "CAP_SYSLOG", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_CHROOT", "CAP_SYS_MODULE",
        "CAP_SYS_NICE", "CAP_SYS_PACCT", "CAP_SYS_PTRACE", "CAP_SYS_RAWIO", "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_WAKE_ALARM"};
    return names;
}

// "NET_ADMIN" or "CAP_NET_ADMIN" (any case) -> "CAP_NET_ADMIN"; "ALL" -> "ALL"; a name Linux
// does not know is an error: systemd would silently ignore it, so a misspelt drop would drop
// nothing.
std::string capability_name(const json::value &v, const std::string &path) {
    auto name = pods::as_string(v, path);
    if (name.size() > 64) throw SpecError(path, "is not a capability name");
    for (auto &ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (name == "ALL" || name == "CAP_ALL") return "ALL";
    if (!name.starts_with("CAP_")) name = "CAP_" + name;
    if (!all_capabilities().contains(name)) throw SpecError(path, "'" + name + "' is not a Linux capability");
    return name;
}

const json::object *security_context(const json::object &o, const std::string &path) {
    return pods::optional_object(o, "securityContext", path);
}

std::string join(const std::vector<std::string> &v) {
    std::string out;
    for (const auto &x : v) out += (out.empty() ? "" : " ") + x;
    return out;
}

struct Capabilities {
    std::vector<std::string> bounding;  // sorted
    std::vector<std::string> added;     // as listed in capabilities.add ("ALL" expanded)
};

// containerd's rule: start from the default set, drop (ALL empties it), then add (ALL is every
// capability). What is added is always in the resulting set.
Capabilities capability_set(const json::object *sc, const std::string &scpath) {
    std::set<std::string> caps(default_capabilities().begin(), default_capabilities().end());
    Capabilities out;
    const auto *spec = sc ? pods::optional_object(*sc, "capabilities", scpath) : nullptr;
    if (spec) {
        const auto cpath = scpath + ".capabilities";
        if (const auto *drop = pods::optional_array(*spec, "drop", cpath))
            for (size_t i = 0; i < drop->size(); ++i) {
                const auto name = capability_name((*drop)[i], pods::index_path(cpath + ".drop", i));
                if (name == "ALL") caps.clear();
                else caps.erase(name);
            }
        if (const auto *add = pods::optional_array(*spec, "add", cpath))
            for (size_t i = 0; i < add->size(); ++i) {
                const auto name = capability_name((*add)[i], pods::index_path(cpath + ".add", i));
                if (name == "ALL") {
                    caps.insert(all_capabilities().begin(), all_capabilities().end());
                    out.added.assign(all_capabilities().begin(), all_capabilities().end());
                    break;
                }
                caps.insert(name);
                out.added.push_back(name);
            }
    }
    out.bounding.assign(caps.begin(), caps.end());
    return out;
}

// "RuntimeDefault" (the default), "Unconfined" or unsupported; the container's setting wins.
std::string seccomp_type(const json::object *container_sc, const std::string &scpath, const json::object *pod_sc) {
    for (const auto &[sc, where] : {std::pair{container_sc, scpath}, std::pair{pod_sc, std::string("spec.securityContext")}}) {
        if (!sc) continue;
        if (const auto *profile = pods::optional_object(*sc, "seccompProfile", where)) {
            const auto type = pods::required_string(*profile, "type", where + ".seccompProfile");
            if (type == "RuntimeDefault" || type == "Unconfined") return type;
            throw SpecError(where + ".seccompProfile.type",
                            type == "Localhost" ? "Localhost profiles are not supported by systemk"
                                                : "unknown seccomp profile type '" + type.substr(0, 64) + "'");
        }
    }
    return "RuntimeDefault";
}

}  // namespace

const std::vector<std::string> &default_capabilities() {
    static const std::vector<std::string> caps = {
        "CAP_AUDIT_WRITE", "CAP_CHOWN",          "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
        "CAP_KILL",        "CAP_MKNOD",          "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP",
        "CAP_SETGID",      "CAP_SETPCAP",        "CAP_SETUID",       "CAP_SYS_CHROOT"};
    return caps;
}

bool is_known_capability(const std::string &name) { return all_capabilities().contains(name); }

SandboxResult add_sandbox(UnitSection &service, const json::object &pod_spec, const json::object &container,
                          const std::string &path) {
    SandboxResult result;
    const auto scpath = path + ".securityContext";
    const auto *sc = security_context(container, path);
    const auto *pod_sc = security_context(pod_spec, "spec");
    const bool privileged = sc && pods::optional_bool(*sc, "privileged", scpath).value_or(false);
    // -1 unset, 0 false, 1 true (a tri-state without std::optional, which GCC 12 misreads).
    int escalation = -1;
    if (sc)
        if (const auto v = pods::optional_bool(*sc, "allowPrivilegeEscalation", scpath)) escalation = *v ? 1 : 0;
    if (privileged && escalation == 0)
        throw SpecError(scpath + ".allowPrivilegeEscalation", "cannot be false for a privileged container");
    // Validate everything even when privileged lifts it, so that a typo is reported either way.
    const auto caps = capability_set(sc, scpath);
    const auto seccomp = seccomp_type(sc, scpath, pod_sc);
    if (privileged) {
        // "This pod is the host": no sandbox, every capability, like a privileged container.
        result.privileged = true;
        result.capabilities.assign(all_capabilities().begin(), all_capabilities().end());
        return result;
    }
    result.capabilities = caps.bounding;
    service.add("CapabilityBoundingSet", join(caps.bounding));
    // Added capabilities reach non-root users too (containerd would give them only to root).
    if (!caps.added.empty()) service.add("AmbientCapabilities", join(caps.added));
    if (escalation != 1) service.add("NoNewPrivileges", "yes");
    // The host is the image: read-only everywhere except the pod's volumes and the package's
    // own StateDirectory=/RuntimeDirectory=... (systemd keeps those writable; never its
    // ReadWritePaths=).
    static const std::pair<const char *, const char *> kFixed[] = {
        {"ProtectSystem", "strict"},       {"ProtectHome", "yes"},     {"PrivateTmp", "yes"},
        {"PrivateDevices", "yes"},         {"ProtectKernelTunables", "yes"}, {"ProtectKernelModules", "yes"},
        {"ProtectKernelLogs", "yes"},      {"ProtectControlGroups", "yes"},  {"ProtectClock", "yes"},
        {"ProtectHostname", "yes"}};
    for (const auto &[key, value] : kFixed) service.add(key, value);
    const bool host_pid = pods::optional_bool(pod_spec, "hostPID", "spec").value_or(false);
    service.add("ProtectProc", host_pid ? "default" : "invisible");
    if (!pods::optional_bool(pod_spec, "hostIPC", "spec").value_or(false)) service.add("PrivateIPC", "yes");
    static const std::pair<const char *, const char *> kRestrictions[] = {
        {"RestrictSUIDSGID", "yes"},   {"LockPersonality", "yes"}, {"RestrictRealtime", "yes"},
        {"RestrictNamespaces", "yes"}, {"RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6 AF_NETLINK"},
        {"SystemCallArchitectures", "native"}};
    for (const auto &[key, value] : kRestrictions) service.add(key, value);
    if (seccomp != "Unconfined") {
        service.add("SystemCallFilter", "@system-service");
        service.add("SystemCallErrorNumber", "EPERM");
    }
    return result;
}

}  // namespace systemk::units
