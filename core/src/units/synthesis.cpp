#include "units/synthesis.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "pods/environment.h"
#include "pods/json_access.h"
#include "pods/pod_layout.h"
#include "units/sandbox_profile.h"
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

// command/args words in ExecStart= syntax: $(VAR) expanded, secret-derived references left to
// systemd as ${VAR} (see expand_references_for_exec).
std::vector<ExecWord> word_list(const json::object &o, std::string_view key, const std::string &path,
                                const std::map<std::string, std::string> &vars, const std::set<std::string> &secret_vars,
                                bool &present) {
    std::vector<ExecWord> out;
    const auto *list = pods::optional_array(o, key, path);
    present = list != nullptr && !list->empty();
    if (!list) return out;
    for (size_t i = 0; i < list->size(); ++i) {
        const auto s = pods::as_string((*list)[i], index_path(join_path(path, key), i));
        bool deferred = false;
        auto text = pods::expand_references_for_exec(s, vars, secret_vars, deferred);
        if (deferred) out.push_back({std::move(text), WordOrigin::PodSpecWithEnvRefs});
        else out.push_back({pods::expand_references(s, vars), WordOrigin::PodSpec});
    }
    return out;
}

// The command/args rules: command+args replace everything; command alone replaces the package's
// executable and keeps its options; args alone keep the package's executable.
std::vector<ExecWord> build_command(const json::object &container, const std::string &path,
                                    const ResolvedImage &image, const std::map<std::string, std::string> &vars,
                                    const std::set<std::string> &secret_vars) {
    bool has_command = false, has_args = false;
    const auto command = word_list(container, "command", path, vars, secret_vars, has_command);
    const auto args = word_list(container, "args", path, vars, secret_vars, has_args);
    const auto &fallback = image.default_command;
    std::vector<ExecWord> argv;
    if (has_command) {
        argv = command;
        if (has_args) {
            argv.insert(argv.end(), args.begin(), args.end());
        } else if (fallback.size() > 1) {
            argv.insert(argv.end(), fallback.begin() + 1, fallback.end());
        }
    } else {
        if (fallback.empty())
            throw SpecError(join_path(path, "command"), "required: image has no service unit to take a command from");
        argv.push_back(fallback[0]);
        if (has_args) {
            argv.insert(argv.end(), args.begin(), args.end());
        } else {
            argv.insert(argv.end(), fallback.begin() + 1, fallback.end());
        }
    }
    return argv;
}

// requests/limits -> cgroup settings, in exact integers. CPU weight follows the kubelet's
// shares formula.
void add_resources(UnitSection &service, const json::object &container, const std::string &path) {
    const auto *resources = pods::optional_object(container, "resources", path);
    if (!resources) return;
    const auto rpath = join_path(path, "resources");
    auto quantity = [&](const char *kind, const char *name, int scale) -> std::optional<int64_t> {
        const auto *section = pods::optional_object(*resources, kind, rpath);
        if (!section) return std::nullopt;
        const auto *v = section->if_contains(name);
        if (!v) return std::nullopt;
        const auto text = v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
        const auto q = pods::parse_quantity_scaled(text, scale);
        if (!q)
            throw SpecError(join_path(join_path(rpath, kind), name),
                            "invalid, negative or too large quantity '" + text.substr(0, 64) + "'");
        return q;
    };
    if (const auto millicpu = quantity("requests", "cpu", 3)) {
        // Clamped before multiplying: the kubelet's maximum is 262144 shares (256 cores).
        const int64_t capped = std::min<int64_t>(*millicpu, 256000);
        const int64_t shares = std::clamp<int64_t>(capped * 1024 / 1000, 2, 262144);
        const int64_t weight = 1 + (shares - 2) * 9999 / 262142;
        service.add("CPUWeight", std::to_string(weight));
    }
    if (const auto millicpu = quantity("limits", "cpu", 3)) {
        // One percent is 10 millicores; systemd wants at least 1 %.
        const int64_t percent = std::max<int64_t>(1, *millicpu / 10 + (*millicpu % 10 != 0 ? 1 : 0));
        service.add("CPUQuota", std::to_string(percent) + "%");
    }
    if (const auto mem = quantity("requests", "memory", 0)) service.add("MemoryLow", std::to_string(*mem));
    if (const auto mem = quantity("limits", "memory", 0)) {
        // A limit below one page would make every start fail with an OOM kill of its own.
        if (*mem < 4096) throw SpecError(join_path(join_path(rpath, "limits"), "memory"), "must be at least 4096 bytes");
        service.add("MemoryMax", std::to_string(*mem));
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
    // systemd refuses 65535 and 4294967295 (the "invalid" ids) and anything beyond 32 bits.
    auto valid_id = [](int64_t id) { return id >= 0 && id < 4294967295LL && id != 65535; };
    if (uid && !valid_id(*uid)) throw SpecError(path + ".securityContext.runAsUser", "is not a valid uid");
    if (gid && !valid_id(*gid)) throw SpecError(path + ".securityContext.runAsGroup", "is not a valid gid");
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
    // systemd 252 refuses a uid or gid the host does not know (status 217/USER, 216/GROUP):
    // say so on the pod instead of crash-looping.
    if (uid && *uid != 0 && node.user_exists && !node.user_exists(*uid))
        throw SpecError(path + ".securityContext.runAsUser",
                        "uid " + std::to_string(*uid) + " does not exist on node " + node.node_name +
                            " (systemd runs units only as users the host knows)");
    if (gid && *gid != 0 && node.group_exists && !node.group_exists(*gid))
        throw SpecError(path + ".securityContext.runAsGroup",
                        "gid " + std::to_string(*gid) + " does not exist on node " + node.node_name);
    if (uid) service.add("User", std::to_string(*uid));
    if (gid) service.add("Group", std::to_string(*gid));
    // supplementalGroups, plus fsGroup as the kubelet adds it: volumes are group-owned by it.
    std::vector<int64_t> groups;
    if (pod_sc) {
        if (const auto *list = pods::optional_array(*pod_sc, "supplementalGroups", "spec.securityContext"))
            for (size_t i = 0; i < list->size(); ++i) {
                const auto &g = (*list)[i];
                if (!g.is_int64() || !valid_id(g.get_int64()))
                    throw SpecError(index_path("spec.securityContext.supplementalGroups", i), "must be a group id");
                groups.push_back(g.get_int64());
            }
        if (const auto fs_group = pods::optional_int(*pod_sc, "fsGroup", "spec.securityContext")) {
            if (!valid_id(*fs_group)) throw SpecError("spec.securityContext.fsGroup", "is not a valid gid");
            if (std::find(groups.begin(), groups.end(), *fs_group) == groups.end()) groups.push_back(*fs_group);
        }
    }
    std::string list;
    for (const auto g : groups) {
        if (node.group_exists && !node.group_exists(g))
            throw SpecError("spec.securityContext", "group " + std::to_string(g) + " does not exist on node " + node.node_name);
        list += (list.empty() ? "" : " ") + std::to_string(g);
    }
    if (!list.empty()) service.add("SupplementalGroups", list);
}

// Secret-derived variables go to a root-only environment file on tmpfs (written by the agent
// before the unit starts); every other variable is an Environment= line. The final value of a
// name decides, so a later plain assignment still overrides an earlier secret one.
void add_environment(PodUnit &out, UnitSection &service, const pods::Environment &env, const std::string &path,
                     const pods::NodeContext &node, const std::string &uid) {
    std::map<std::string, size_t> last;
    for (size_t i = 0; i < env.vars.size(); ++i) last[env.vars[i].first] = i;
    for (size_t i = 0; i < env.vars.size(); ++i) {
        const auto &[name, value] = env.vars[i];
        if (last[name] != i) continue;
        try {
            if (env.sensitive.contains(name)) {
                environment_file_line(name, value);  // validates; the agent writes it later
                out.secret_env.emplace_back(name, value);
            } else {
                service.add("Environment", quote_environment(name, value));
            }
        } catch (const QuotingError &e) {
            throw SpecError(join_path(path, "env"), e.what());
        }
    }
    if (out.secret_env.empty()) return;
    out.env_file = pods::env_file_path(node, uid, out.container);
    service.add("EnvironmentFile", escape_single_path(out.env_file));
}

// systemk's own state, credentials and unit files, the host's password hashes and journal,
// and the way to ask systemd for more: no pod reaches them, even as root with CAP_DAC_OVERRIDE. The pod's own volumes
// under these directories are bind-mounted before this applies.
// The system bus and systemd's private socket too: root on them could start any unit.
// /run/initctl (a FIFO: read-only mounts do not stop writes to it) would let root power off
// the node; udev's control socket reconfigures devices.
std::set<std::string> private_paths_of(const pods::NodeContext &node) {
    std::set<std::string> paths = {node.state_dir, node.runtime_dir, node.unit_dir, "/etc/systemk",
                                   "/run/dbus", "/run/systemd/private", "/run/initctl", "/run/udev/control",
                                   "/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-",
                                   "/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key",
                                   "/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_dsa_key", "/etc/ssl/private",
                                   "/var/log/journal", "/run/log/journal", "/var/log/syslog", "/var/log/auth.log",
                                   "/var/log/messages", "/var/log/daemon.log", "/var/log/kern.log", "/var/log/user.log"};
    paths.insert(node.private_paths.begin(), node.private_paths.end());
    return paths;
}

void add_private_paths(UnitSection &service, const pods::NodeContext &node) {
    std::string value;
    for (const auto &p : private_paths_of(node)) {
        if (p.empty() || p == "/") continue;
        value += (value.empty() ? "-" : " -") + escape_path_in_list(p);
    }
    service.add("InaccessiblePaths", value);
}

// The package unit's StateDirectory=, RuntimeDirectory=, ... so that a packaged daemon can write
// where its packager said. systemd would chown those host directories to the pod's User= and
// remove RuntimeDirectory= when the pod stops, so for a package systemk did not install (the
// host's own daemon may use them) they apply only to a root pod, and runtime directories are
// preserved. ReadWritePaths= (any host path) is never taken over.
void add_package_directories(UnitSection &service, const ResolvedImage &image, bool runs_as_other_user,
                             const std::set<std::string> &private_paths) {
    if (!image.installed_by_systemk && runs_as_other_user) return;
    bool runtime = false;
    for (const auto &[key, value] : image.writable_directives) {
        if (key == "ReadWritePaths") continue;
        service.add(key, value);
        runtime = runtime || key == "RuntimeDirectory";
    }
    if (runtime && !image.installed_by_systemk) service.add("RuntimeDirectoryPreserve", "yes");
    if (!image.installed_by_systemk) return;
    // Absolute, below /var, no "..", and never one of the paths no pod may see.
    for (const auto &dir : image.data_directories) {
        if (!dir.starts_with("/var/") || ("/" + dir + "/").find("/../") != std::string::npos) continue;
        bool is_private = false;
        for (const auto &p : private_paths)
            is_private = is_private || dir == p || dir.starts_with(p + "/") || p.starts_with(dir + "/");
        if (!is_private) service.add("ReadWritePaths", "-" + escape_path_in_list(dir));
    }
}

// systemd skips a line over its limit with a warning and runs the unit without it: refuse
// such a pod instead of starting it without, say, its MemoryMax=.
void check_value_lengths(const UnitFile &unit, const std::string &path) {
    constexpr size_t kMaxLine = 256 * 1024;
    for (const auto &section : unit.sections)
        for (const auto &item : section.items)
            if (item.key.size() + item.value.size() + 1 > kMaxLine)
                throw SpecError(path, item.key + "= would be longer than " + std::to_string(kMaxLine) + " bytes");
}

// A subPath as the API server accepts it: relative, no ".." component, bounded, no NUL.
void validate_sub_path(const std::string &sub, const std::string &field) {
    if (sub.size() > 4096) throw SpecError(field, "must be at most 4096 characters");
    if (sub.find('\0') != std::string::npos) throw SpecError(field, "must not contain a NUL character");
    if (sub.front() == '/') throw SpecError(field, "must be a relative path");
    if (("/" + sub + "/").find("/../") != std::string::npos) throw SpecError(field, "must not contain '..'");
}

// Volume mounts become BindPaths=/BindReadOnlyPaths=. A subPath is not joined onto the volume
// path here (systemd would follow symlinks a container planted in the volume): the unit mounts a
// pinned path the agent binds to the subPath, resolved safely, right before the container starts.
void add_mounts(UnitSection &service, PodUnit &unit, const json::object &container, const std::string &path,
                const PodInputs &in) {
    const auto *mounts = pods::optional_array(container, "volumeMounts", path);
    if (!mounts) return;
    for (size_t i = 0; i < mounts->size(); ++i) {
        const auto mpath = index_path(join_path(path, "volumeMounts"), i);
        const auto &m = pods::as_object((*mounts)[i], mpath);
        const auto name = pods::required_string(m, "name", mpath);
        auto target = pods::required_string(m, "mountPath", mpath);
        const auto it = in.volumes.find(name);
        if (it == in.volumes.end()) throw SpecError(join_path(mpath, "name"), "no volume named '" + name + "' in spec.volumes");
        auto source = it->second.path;
        if (const auto expr = pods::optional_string(m, "subPathExpr", mpath); expr && !expr->empty())
            throw SpecError(join_path(mpath, "subPathExpr"), "is not supported; use subPath");
        if (const auto sub = pods::optional_string(m, "subPath", mpath); sub && !sub->empty()) {
            const auto field = join_path(mpath, "subPath");
            validate_sub_path(*sub, field);
            const auto &meta = pods::as_object(in.pod->at("metadata"), "metadata");
            const auto uid = pods::pod_path_id(pods::optional_string(meta, "uid", "metadata").value_or(""),
                                               pods::optional_string(meta, "name", "metadata").value_or(""));
            pods::validate_path_label(name, join_path(mpath, "name"));
            pods::validate_path_label(unit.container, join_path(path, "name"));
            SubPathMount pin{it->second.path, *sub, pods::subpath_pin_path(*in.node, uid, name, unit.container, i), field};
            source = pin.pinned_path;
            unit.subpaths.push_back(std::move(pin));
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
    // The final value of each name, as the process will see it (a later assignment wins).
    std::map<std::string, std::string> vars;
    for (const auto &[name, value] : env.vars) vars[name] = value;
    const auto argv = build_command(container, path, resolved->second, vars, env.sensitive);

    auto &unit_section = out.unit.section("Unit");
    unit_section.add("Description", escape_text("systemk pod " + ns + "/" + pod_name + " container " + cname));
    // Pods are started by systemk, not at boot: no [Install], no default dependencies on
    // other units beyond the basic ones.

    auto &service = out.unit.section("Service");
    const auto &package = resolved->second.package_settings;
    // The package's Type=, ExecStartPre=, ExecReload=, ... belong to its own command: kept when
    // the pod runs that command (args alone keep it), never for an init container.
    const bool package_command = !init && !pods::optional_array(container, "command", path);
    // Init containers must finish: oneshot makes "start" complete when the process exits.
    service.add("Type", init ? "oneshot" : "exec");
    try {
        service.add("ExecStart", quote_exec(argv));
    } catch (const QuotingError &e) {
        throw SpecError(join_path(path, "command"), e.what());
    }
    if (package_command)
        for (const auto &[key, value] : package.process) {
            // A D-Bus service starts only once it owns its bus name, and the sandbox hides the
            // system bus from every pod: it would hang in "activating" until systemd gives up.
            if (key == "Type" && value == "dbus")
                throw SpecError(join_path(path, "image"),
                                "the package's unit is a D-Bus service (Type=dbus) and pods cannot reach the system "
                                "bus; give the container a command to run it without its unit's Type= and Exec lines");
            service.add(key, value);
        }
    // systemk applies restartPolicy itself, with the kubelet's back-off.
    service.add("Restart", "no");
    // Keeps a finished container's unit (exit code, timestamps) instead of letting systemd
    // garbage-collect it: pod status after exit and after an agent restart depends on it.
    service.add("RemainAfterExit", "yes");
    // The package's environment first, so that the pod's own values win. An EnvironmentFile=
    // would override any Environment= line, so then the pod's values go to its own file, read last.
    bool package_env_file = false;
    for (const auto &[key, value] : package.environment) {
        service.add(key, value);
        package_env_file = package_env_file || key == "EnvironmentFile";
    }
    if (package_env_file) {
        auto env_in_file = env;
        for (const auto &[name, value] : env.vars) env_in_file.sensitive.insert(name);
        add_environment(out, service, env_in_file, path, *in.node, uid);
    } else {
        add_environment(out, service, env, path, *in.node, uid);
    }
    if (const auto wd = pods::optional_string(container, "workingDir", path); wd && !wd->empty()) {
        try {
            service.add("WorkingDirectory", escape_single_path(*wd));
        } catch (const QuotingError &e) {
            throw SpecError(join_path(path, "workingDir"), e.what());
        }
    } else {
        for (const auto &[key, value] : package.working_directory) service.add(key, value);
    }
    add_identity(service, container, path, pods::optional_object(spec, "securityContext", "spec"), *in.node);
    const bool pod_names_user = service.last("User").has_value();
    if (!pod_names_user)
        for (const auto &[key, value] : package.identity) service.add(key, value);
    add_resources(service, container, path);
    // /stats/summary and `kubectl top` read the unit's cgroup: accounted for also where
    // systemd's defaults leave it off (cgroup v1).
    for (const char *accounting : {"CPUAccounting", "MemoryAccounting", "TasksAccounting"}) service.add(accounting, "yes");
    const auto sandbox = add_sandbox(service, spec, container, path);
    if (!sandbox.privileged) {
        // After systemk's own sandbox: these only switch more protection on.
        for (const auto &[key, value] : package.hardening) service.add(key, value);
        add_private_paths(service, *in.node);
        add_package_directories(service, resolved->second, pod_names_user, private_paths_of(*in.node));
    }
    add_mounts(service, out, container, path, in);
    check_value_lengths(out.unit, path);
    service.add("StandardOutput", "journal");
    service.add("StandardError", "journal");
    service.add("SyslogIdentifier", cname);
    // journald's default per-unit limit (10 000 lines in 30 s, scaled up by at most 6 with free
    // disk space) drops a busy container's lines that `kubectl logs` promises. Raised, not lifted
    // (systemd 252 reads LogRateLimitIntervalSec=0 as "not set" anyway): the journal's size
    // limits are shared by the node, and one pod logging without bound would rotate every
    // other pod's lines away sooner.
    service.add("LogRateLimitIntervalSec", "30s");
    service.add("LogRateLimitBurst", "200000");
    // Exact journal matches for `kubectl logs` and for `journalctl SYSTEMK_POD_UID=...`: the
    // unit name alone is shared by every pod that ever had this namespace/name.
    for (const auto &[field, value] : {std::pair<const char *, std::string>{"SYSTEMK_POD_NAMESPACE", ns},
                                       {"SYSTEMK_POD_NAME", pod_name}, {"SYSTEMK_POD_UID", uid},
                                       {"SYSTEMK_CONTAINER_NAME", cname}})
        if (!value.empty()) service.add("LogExtraFields", quote_word(std::string(field) + "=" + value, true, false));
    const auto grace = std::clamp<int64_t>(
        pods::optional_int(spec, "terminationGracePeriodSeconds", "spec").value_or(30), 0, 365LL * 24 * 3600);
    service.add("KillMode", "mixed");
    // 0 would mean "no timeout at all" to systemd; Kubernetes means "kill at once".
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
    put("Privileged", sandbox.privileged ? "yes" : "no");
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
