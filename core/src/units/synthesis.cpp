#include "units/synthesis.h"

#include <cmath>
#include <cstdio>
#include <set>

#include "pods/environment.h"
#include "pods/json_access.h"
#include "pods/quantity.h"
#include "pods/variable_expansion.h"
#include "units/unit_name.h"

namespace systemk::units {
namespace {

namespace json = boost::json;
using pods::SpecError;
using pods::index_path;
using pods::join_path;

std::string hash_hex(std::string_view s) {
    uint64_t h = 1469598103934665603ULL;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

std::vector<std::string> string_list(const json::object &o, std::string_view key, const std::string &path,
                                     const std::map<std::string, std::string> &vars, bool &present) {
    std::vector<std::string> out;
    const auto *list = pods::optional_array(o, key, path);
    present = list != nullptr && !list->empty();
    if (!list) return out;
    for (size_t i = 0; i < list->size(); ++i) {
        auto s = pods::as_string((*list)[i], index_path(join_path(path, key), i));
        out.push_back(pods::expand_references(s, vars));
    }
    return out;
}

// The command/args rules: command+args replace everything; command alone replaces the package's
// executable and keeps its options; args alone keep the package's executable.
std::vector<ExecWord> build_command(const json::object &container, const std::string &path,
                                    const ResolvedImage &image, const std::map<std::string, std::string> &vars) {
    bool has_command = false, has_args = false;
    const auto command = string_list(container, "command", path, vars, has_command);
    const auto args = string_list(container, "args", path, vars, has_args);
    const auto &fallback = image.default_command;
    std::vector<ExecWord> argv;
    auto literal = [](const std::string &s) { return ExecWord{s, WordOrigin::PodSpec}; };
    if (has_command) {
        for (const auto &c : command) argv.push_back(literal(c));
        if (has_args) {
            for (const auto &a : args) argv.push_back(literal(a));
        } else if (fallback.size() > 1) {
            argv.insert(argv.end(), fallback.begin() + 1, fallback.end());
        }
    } else {
        if (fallback.empty())
            throw SpecError(join_path(path, "command"), "required: image '" +
                                                            pods::optional_string(container, "image", path).value_or("") +
                                                            "' has no service unit to take a command from");
        argv.push_back(fallback[0]);
        if (has_args) {
            for (const auto &a : args) argv.push_back(literal(a));
        } else {
            argv.insert(argv.end(), fallback.begin() + 1, fallback.end());
        }
    }
    return argv;
}

// requests/limits -> cgroup settings. CPU weight follows the kubelet's shares formula.
void add_resources(UnitSection &service, const json::object &container, const std::string &path) {
    const auto *resources = pods::optional_object(container, "resources", path);
    if (!resources) return;
    const auto rpath = join_path(path, "resources");
    auto quantity = [&](const char *kind, const char *name) -> std::optional<long double> {
        const auto *section = pods::optional_object(*resources, kind, rpath);
        if (!section) return std::nullopt;
        const auto *v = section->if_contains(name);
        if (!v) return std::nullopt;
        const auto text = v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
        const auto q = pods::parse_quantity(text);
        if (!q || *q < 0) throw SpecError(join_path(join_path(rpath, kind), name), "invalid quantity '" + text + "'");
        return q;
    };
    if (const auto cpu = quantity("requests", "cpu")) {
        const long double shares = std::max<long double>(2, std::floor(*cpu * 1024));
        const long long weight = 1 + static_cast<long long>(((std::min<long double>(shares, 262144) - 2) * 9999) / 262142);
        service.add("CPUWeight", std::to_string(weight));
    }
    if (const auto cpu = quantity("limits", "cpu")) {
        const long long percent = std::max<long long>(1, static_cast<long long>(std::ceil(*cpu * 100)));
        service.add("CPUQuota", std::to_string(percent) + "%");
    }
    if (const auto mem = quantity("requests", "memory"))
        service.add("MemoryLow", std::to_string(static_cast<long long>(*mem)));
    if (const auto mem = quantity("limits", "memory")) {
        service.add("MemoryMax", std::to_string(static_cast<long long>(*mem)));
        service.add("MemorySwapMax", "0");
    }
}

std::optional<int64_t> security_int(const json::object *container_sc, const json::object *pod_sc,
                                    std::string_view key, const std::string &path) {
    if (container_sc)
        if (auto v = pods::optional_int(*container_sc, key, path + ".securityContext")) return v;
    if (pod_sc)
        if (auto v = pods::optional_int(*pod_sc, key, "spec.securityContext")) return v;
    return std::nullopt;
}

// "NET_ADMIN" or "CAP_NET_ADMIN" -> "CAP_NET_ADMIN"; anything else is refused.
std::string capability_name(const json::value &v, const std::string &path) {
    auto name = pods::as_string(v, path);
    for (auto &ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (!name.starts_with("CAP_")) name = "CAP_" + name;
    for (char ch : name.substr(4))
        if (!((ch >= 'A' && ch <= 'Z') || ch == '_')) throw SpecError(path, "'" + name + "' is not a capability name");
    return name;
}

// capabilities.drop narrows the bounding set ("ALL" empties it); capabilities.add grants
// ambient capabilities so that non-root users get them too.
void add_capabilities(UnitSection &service, const json::object &sc, const std::string &path) {
    const auto *caps = pods::optional_object(sc, "capabilities", path);
    if (!caps) return;
    const auto cpath = path + ".capabilities";
    std::vector<std::string> add, drop;
    bool drop_all = false;
    if (const auto *list = pods::optional_array(*caps, "add", cpath))
        for (size_t i = 0; i < list->size(); ++i) add.push_back(capability_name((*list)[i], index_path(cpath + ".add", i)));
    if (const auto *list = pods::optional_array(*caps, "drop", cpath))
        for (size_t i = 0; i < list->size(); ++i) {
            const auto name = capability_name((*list)[i], index_path(cpath + ".drop", i));
            if (name == "CAP_ALL") drop_all = true;
            else drop.push_back(name);
        }
    auto join = [](const std::vector<std::string> &v) {
        std::string out;
        for (const auto &x : v) out += (out.empty() ? "" : " ") + x;
        return out;
    };
    if (drop_all) service.add("CapabilityBoundingSet", add.empty() ? "" : join(add));
    else if (!drop.empty()) service.add("CapabilityBoundingSet", "~" + join(drop));
    if (!add.empty()) service.add("AmbientCapabilities", join(add));
}

bool is_valid_user_name(std::string_view name) {
    if (name.empty() || name.size() > 32 || !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
    return true;
}

void add_identity(UnitSection &service, const json::object &container, const std::string &path,
                  const json::object *pod_sc, const pods::NodeContext &node) {
    const auto *sc = pods::optional_object(container, "securityContext", path);
    auto uid = security_int(sc, pod_sc, "runAsUser", path);
    const auto gid = security_int(sc, pod_sc, "runAsGroup", path);
    bool non_root = false;
    if (sc) non_root = pods::optional_bool(*sc, "runAsNonRoot", path + ".securityContext").value_or(false);
    if (!non_root && pod_sc) non_root = pods::optional_bool(*pod_sc, "runAsNonRoot", "spec.securityContext").value_or(false);
    if (uid && *uid == 0 && node.override_root_uid) uid = node.override_root_uid;
    if (uid && *uid < 0) throw SpecError(path + ".securityContext.runAsUser", "must not be negative");
    if (gid && *gid < 0) throw SpecError(path + ".securityContext.runAsGroup", "must not be negative");
    // The original systemk's way to name a user: windowsOptions.runAsUserName. systemd then
    // uses that user's primary group unless runAsGroup says otherwise.
    std::optional<std::string> user_name;
    for (const auto *ctx : {sc, pod_sc}) {
        if (!ctx || user_name) continue;
        if (const auto *win = pods::optional_object(*ctx, "windowsOptions", "securityContext"))
            user_name = pods::optional_string(*win, "runAsUserName", "securityContext.windowsOptions");
    }
    if (user_name && !uid) {
        if (!is_valid_user_name(*user_name))
            throw SpecError(path + ".securityContext.windowsOptions.runAsUserName", "'" + *user_name + "' is not a valid user name");
        service.add("User", *user_name);
    }
    const bool named_non_root = user_name && !uid && *user_name != "root";
    if (non_root && !named_non_root && (!uid || *uid == 0))
        throw SpecError(path + ".securityContext.runAsNonRoot", "container would run as root; set runAsUser");
    if (uid) service.add("User", std::to_string(*uid));
    if (gid) service.add("Group", std::to_string(*gid));
    if (pod_sc)
        if (const auto *groups = pods::optional_array(*pod_sc, "supplementalGroups", "spec.securityContext")) {
            std::string list;
            for (size_t i = 0; i < groups->size(); ++i) {
                const auto &g = (*groups)[i];
                if (!g.is_int64() || g.get_int64() < 0)
                    throw SpecError(index_path("spec.securityContext.supplementalGroups", i), "must be a group id");
                if (!list.empty()) list += ' ';
                list += std::to_string(g.get_int64());
            }
            if (!list.empty()) service.add("SupplementalGroups", list);
        }
    if (sc && pods::optional_bool(*sc, "allowPrivilegeEscalation", path + ".securityContext") == false)
        service.add("NoNewPrivileges", "yes");
    if (sc) add_capabilities(service, *sc, path + ".securityContext");
}

void add_mounts(UnitSection &service, const json::object &container, const std::string &path,
                const std::map<std::string, PreparedVolume> &volumes) {
    const auto *mounts = pods::optional_array(container, "volumeMounts", path);
    if (!mounts) return;
    for (size_t i = 0; i < mounts->size(); ++i) {
        const auto mpath = index_path(join_path(path, "volumeMounts"), i);
        const auto &m = pods::as_object((*mounts)[i], mpath);
        const auto name = pods::required_string(m, "name", mpath);
        auto target = pods::required_string(m, "mountPath", mpath);
        const auto it = volumes.find(name);
        if (it == volumes.end()) throw SpecError(join_path(mpath, "name"), "no volume named '" + name + "' in spec.volumes");
        auto source = it->second.path;
        if (const auto sub = pods::optional_string(m, "subPath", mpath); sub && !sub->empty()) {
            if (sub->front() == '/' || ("/" + *sub + "/").find("/../") != std::string::npos)
                throw SpecError(join_path(mpath, "subPath"), "must be a relative path without '..'");
            source += "/" + *sub;
        }
        if (target.empty() || target.front() != '/' || ("/" + target + "/").find("/../") != std::string::npos)
            throw SpecError(join_path(mpath, "mountPath"), "must be an absolute path without '..'");
        const bool read_only = it->second.read_only || pods::optional_bool(m, "readOnly", mpath).value_or(false);
        try {
            const auto value = escape_path_in_list(source) + ":" + escape_path_in_list(target);
            service.add(read_only ? "BindReadOnlyPaths" : "BindPaths", value);
        } catch (const QuotingError &e) {
            throw SpecError(join_path(mpath, "mountPath"), e.what());
        }
    }
}

PodUnit synthesize_container(const PodInputs &in, const json::object &container, const std::string &path, bool init,
                             size_t index) {
    const auto &pod = *in.pod;
    const auto &meta = pods::as_object(pod.at("metadata"), "metadata");
    const auto &spec = pods::as_object(pod.at("spec"), "spec");
    const auto pod_name = pods::required_string(meta, "name", "metadata");
    const auto ns = pods::optional_string(meta, "namespace", "metadata").value_or("default");
    const auto uid = pods::optional_string(meta, "uid", "metadata").value_or("");
    const auto cname = pods::required_string(container, "name", path);
    const auto image = pods::required_string(container, "image", path);

    PodUnit out;
    out.container = cname;
    out.init = init;
    try {
        out.name = make_unit_name(ns, pod_name, cname);
    } catch (const std::invalid_argument &e) {
        throw SpecError(join_path(path, "name"), e.what());
    }
    const auto resolved = in.images.find(cname);
    if (resolved == in.images.end())
        throw SpecError(join_path(path, "image"), "image '" + image + "' was not resolved", "ErrImagePull");

    auto env = pods::resolve_environment(pod, container, path, *in.node, *in.objects);
    out.warnings = env.warnings;
    std::map<std::string, std::string> vars(env.vars.begin(), env.vars.end());
    const auto argv = build_command(container, path, resolved->second, vars);

    auto &unit_section = out.unit.section("Unit");
    unit_section.add("Description", escape_text("systemk pod " + ns + "/" + pod_name + " container " + cname));
    // Pods are started by systemk, not at boot: no [Install], no default dependencies on
    // other units beyond the basic ones.

    auto &service = out.unit.section("Service");
    // Init containers must finish: oneshot makes "start" complete when the process exits.
    service.add("Type", init ? "oneshot" : "exec");
    try {
        service.add("ExecStart", quote_exec(argv));
    } catch (const QuotingError &e) {
        throw SpecError(join_path(path, "command"), e.what());
    }
    // systemk applies restartPolicy itself, with the kubelet's back-off.
    service.add("Restart", "no");
    // Keeps a finished container's unit (exit code, timestamps) instead of letting systemd
    // garbage-collect it: pod status after exit and after an agent restart depends on it.
    service.add("RemainAfterExit", "yes");
    for (const auto &[name, value] : env.vars) {
        try {
            service.add("Environment", quote_environment(name, value));
        } catch (const QuotingError &e) {
            throw SpecError(join_path(path, "env"), e.what());
        }
    }
    if (const auto wd = pods::optional_string(container, "workingDir", path); wd && !wd->empty()) {
        try {
            service.add("WorkingDirectory", escape_single_path(*wd));
        } catch (const QuotingError &e) {
            throw SpecError(join_path(path, "workingDir"), e.what());
        }
    }
    add_identity(service, container, path, pods::optional_object(spec, "securityContext", "spec"), *in.node);
    add_resources(service, container, path);
    // The host is the image: everything read-only except the pod's volumes and a private /tmp.
    service.add("ReadOnlyPaths", "/");
    service.add("PrivateTmp", "yes");
    add_mounts(service, container, path, in.volumes);
    service.add("StandardOutput", "journal");
    service.add("StandardError", "journal");
    service.add("SyslogIdentifier", cname);
    const auto grace = pods::optional_int(spec, "terminationGracePeriodSeconds", "spec").value_or(30);
    service.add("KillMode", "mixed");
    // At least 1 s: TimeoutStopSec=0 would mean "no timeout at all" (the agent kills sooner).
    service.add("TimeoutStopSec", std::to_string(std::max<int64_t>(grace, 1)) + "s");

    auto &md = out.unit.section(kMetadataSection);
    auto put = [&md](const char *key, const std::string &value) { md.add(key, quote_word(value, false, false)); };
    put("Namespace", ns);
    put("PodName", pod_name);
    put("PodUID", uid);
    put("ContainerName", cname);
    put("ContainerType", init ? "init" : "app");
    put("ContainerIndex", std::to_string(index));
    put("Image", image);
    put("RestartPolicy", pods::optional_string(spec, "restartPolicy", "spec").value_or("Always"));
    put("TerminationGracePeriodSeconds", std::to_string(grace));
    put("NodeName", in.node->node_name);
    put("Resolver", resolved->second.resolver);
    put("Package", resolved->second.package);
    put("PackageVersion", resolved->second.version);
    put("PackageInstalledBySystemk", resolved->second.installed_by_systemk ? "yes" : "no");
    put("ContainerHash", hash_hex(json::serialize(container)));
    return out;
}

}  // namespace

std::vector<PodUnit> synthesize_pod_units(const PodInputs &in) {
    if (!in.pod || !in.node || !in.objects) throw std::invalid_argument("synthesize_pod_units: missing input");
    const auto &pod = *in.pod;
    if (!pods::optional_object(pod, "metadata", "")) throw SpecError("metadata", "required");
    const auto *spec = pods::optional_object(pod, "spec", "");
    if (!spec) throw SpecError("spec", "required");
    std::vector<PodUnit> units;
    std::set<std::string> names;
    for (const bool init : {true, false}) {
        const char *key = init ? "initContainers" : "containers";
        const auto path = join_path("spec", key);
        const auto *list = pods::optional_array(*spec, key, "spec");
        if (!init && (!list || list->empty())) throw SpecError(path, "at least one container is required");
        if (!list) continue;
        for (size_t i = 0; i < list->size(); ++i) {
            const auto cpath = index_path(path, i);
            const auto &container = pods::as_object((*list)[i], cpath);
            auto unit = synthesize_container(in, container, cpath, init, i);
            if (!names.insert(unit.container).second)
                throw SpecError(join_path(cpath, "name"), "duplicate container name '" + unit.container + "'");
            units.push_back(std::move(unit));
        }
    }
    return units;
}

std::map<std::string, std::string> read_pod_metadata(const UnitFile &unit) {
    std::map<std::string, std::string> out;
    const auto *section = unit.find(kMetadataSection);
    if (!section) return out;
    for (const auto &item : section->items) {
        if (item.is_comment()) continue;
        const auto words = split_words(item.value);
        out[item.key] = words.empty() ? std::string() : words.front();
    }
    return out;
}

}  // namespace systemk::units
