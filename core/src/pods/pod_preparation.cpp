#include "pods/pod_preparation.h"

#include <chrono>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "kube/kubeconfig.h"
#include "plugins/image_name.h"
#include "pods/json_access.h"
#include "pods/pod_layout.h"
#include "units/package_unit.h"

namespace systemk::pods {
namespace {

namespace json = boost::json;

std::string kube_base64(const std::string &bytes) { return kube::base64_encode(bytes); }

json::object pod_reference(const json::object &pod) {
    const auto &meta = as_object(pod.at("metadata"), "metadata");
    return {{"namespace", optional_string(meta, "namespace", "metadata").value_or("default")},
            {"name", optional_string(meta, "name", "metadata").value_or("")},
            {"uid", optional_string(meta, "uid", "metadata").value_or("")}};
}

void read_package_unit(const std::string &path, const std::string &field, units::ResolvedImage &resolved) {
    std::ifstream in(path);
    if (!in) throw SpecError(field, "package unit " + path + " cannot be read", "ErrImagePull");
    std::stringstream text;
    text << in.rdbuf();
    try {
        const auto unit = units::parse_unit(text.str());
        resolved.default_command = units::exec_start_of_package_unit(unit);
        resolved.writable_directives = units::writable_directives_of_package_unit(unit);
        resolved.package_settings = units::settings_of_package_unit(unit);
    } catch (const std::exception &e) {
        throw SpecError(field, "package unit " + path + " cannot be parsed: " + e.what(), "ErrImagePull");
    }
}

// "uptimed 1:0.4.6-3+b1", or the image when the result names no package.
std::string what_was_pulled(const json::object &result, const std::string &image) {
    const auto package = optional_string(result, "package", "result").value_or("");
    if (package.empty()) return "image \"" + image + "\"";
    const auto version = optional_string(result, "version", "result").value_or("");
    return "package " + package + (version.empty() ? "" : " " + version);
}

std::string seconds_text(std::chrono::steady_clock::duration d) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + "s";
}

}  // namespace

std::map<std::string, units::ResolvedImage> resolve_images(const json::object &pod,
                                                           const plugins::PluginRegistry &plugins, bool dry_run,
                                                           const PullReporter &report) {
    std::map<std::string, units::ResolvedImage> out;
    const auto &spec = as_object(pod.at("spec"), "spec");
    for (const char *key : {"initContainers", "containers"}) {
        const auto *list = optional_array(spec, key, "spec");
        if (!list) continue;
        for (size_t i = 0; i < list->size(); ++i) {
            const auto path = index_path(join_path("spec", key), i);
            const auto &container = as_object((*list)[i], path);
            const auto name = required_string(container, "name", path);
            const auto image = required_string(container, "image", path);
            const auto field = join_path(path, "image");
            if (const auto why = plugins::image_name_problem(image)) throw SpecError(field, *why, "InvalidImageName");
            const auto *resolver = plugins.resolver_for(image);
            if (!resolver) throw SpecError(field, "no image resolver plugin accepts '" + image + "'", "InvalidImageName");
            json::object request{{"image", image}, {"dryRun", dry_run}, {"pod", pod_reference(pod)}, {"container", container}};
            json::value result;
            std::optional<std::chrono::steady_clock::time_point> pull_started;
            if (!dry_run && (report.pulling || report.pulled || report.defer)) {
                // A dry run says whether the real call will download or install: only then is
                // there a pull to report (the kubelet says nothing of images already present).
                try {
                    auto probe = request;
                    probe["dryRun"] = true;
                    const auto planned = resolver->resolve(probe);
                    const auto *present = planned.is_object() ? planned.get_object().if_contains("present") : nullptr;
                    if (present && present->is_bool() && !present->get_bool()) {
                        if (report.defer) throw PullDeferred(image);
                        if (report.pulling)
                            report.pulling(name, "Pulling image \"" + image + "\": installing " +
                                                     what_was_pulled(planned.get_object(), image));
                        pull_started = std::chrono::steady_clock::now();
                    }
                } catch (const plugins::PluginCallError &e) {
                    // Not known here yet (the real call may refresh what it knows and install
                    // it, or say what is wrong), or the resolver is busy with a transaction.
                    if (e.status() == SYSTEMK_ERR_NOT_FOUND || e.status() == SYSTEMK_ERR_TRANSIENT) {
                        if (report.defer) throw PullDeferred(image);
                        if (report.pulling) report.pulling(name, "Pulling image \"" + image + "\"");
                        pull_started = std::chrono::steady_clock::now();
                    }
                }
            }
            try {
                result = resolver->resolve(request);
            } catch (const plugins::PluginCallError &e) {
                throw SpecError(field, e.what(), "ErrImagePull");
            }
            const auto &r = result.as_object();
            if (pull_started && report.pulled)
                report.pulled(name, "Successfully pulled image \"" + image + "\" in " +
                                        seconds_text(std::chrono::steady_clock::now() - *pull_started) + ": " +
                                        what_was_pulled(r, image) + " installed");
            units::ResolvedImage resolved;
            resolved.resolver = resolver->name();
            resolved.package = optional_string(r, "package", "result").value_or("");
            resolved.version = optional_string(r, "version", "result").value_or("");
            resolved.installed_by_systemk = optional_bool(r, "installed", "result").value_or(false);
            if (const auto *unit = optional_object(r, "unit", "result")) {
                resolved.package_unit = optional_string(*unit, "name", "unit").value_or("");
                if (const auto unit_path = optional_string(*unit, "path", "unit"))
                    read_package_unit(*unit_path, field, resolved);
            }
            if (const auto *dirs = optional_array(r, "dataDirectories", "result"))
                for (const auto &d : *dirs) resolved.data_directories.push_back(as_string(d, field));
            if (resolved.default_command.empty())
                if (const auto *exec = optional_array(r, "execStart", "result"))
                    for (const auto &w : *exec)
                        resolved.default_command.push_back({as_string(w, field), units::WordOrigin::PodSpec});
            // A dry run (render) installs nothing, so a package not here yet has no unit to read.
            const auto *present = r.if_contains("present");
            if (dry_run && present && present->is_bool() && !present->get_bool() && resolved.default_command.empty() &&
                !optional_array(container, "command", path))
                throw SpecError(field, what_was_pulled(r, image) + " would be installed; its service unit is known once it is (a dry run installs nothing)",
                                "ErrImagePull");
            out[name] = std::move(resolved);
        }
    }
    return out;
}

namespace {

json::object encode_data(const ObjectLookup::Data &data) {
    json::object out;
    for (const auto &[k, v] : data) out[k] = kube_base64(v);
    return out;
}

// The data of one configMap/secret source, or nullopt when it is optional and absent.
std::optional<json::object> source_data(const json::object &source, bool secret, const json::object &pod,
                                        const std::string &path, const ObjectLookup &objects) {
    const auto name = optional_string(source, secret ? "secretName" : "name", path)
                          .value_or(optional_string(source, "name", path).value_or(""));
    if (name.empty()) throw SpecError(path, "names no " + std::string(secret ? "secret" : "configMap"));
    const bool optional = optional_bool(source, "optional", path).value_or(false);
    const auto ns = pod_reference(pod).at("namespace").as_string();
    if (!objects.online()) return json::object{};
    const auto data = secret ? objects.secret(std::string(ns), name) : objects.config_map(std::string(ns), name);
    if (!data) {
        if (optional) return std::nullopt;
        throw SpecError(path, std::string(secret ? "secret" : "configMap") + " '" + name + "' not found");
    }
    return encode_data(*data);
}

// A projected serviceAccountToken source as {"data": {"token": ...}, "items": [...]}: a token
// bound to the pod from the TokenRequest API; nullopt offline (`systemk render`).
std::optional<json::object> service_account_token(const json::object &source, const json::object &pod,
                                                  const std::string &path, const ObjectLookup &objects) {
    const auto file = required_string(source, "path", path);
    const auto expiration = optional_int(source, "expirationSeconds", path).value_or(3600);
    // The API server's own limits (ValidateProjectedVolumeSource): at least 10 minutes, below 2^32 s.
    if (expiration < 600 || expiration > 0xffffffffLL)
        throw SpecError(join_path(path, "expirationSeconds"), "must be between 600 and 4294967295 seconds");
    const auto &meta = as_object(pod.at("metadata"), "metadata");
    const auto &spec = as_object(pod.at("spec"), "spec");
    kube::TokenRequestSpec request;
    request.ns = optional_string(meta, "namespace", "metadata").value_or("default");
    request.pod_name = optional_string(meta, "name", "metadata").value_or("");
    request.pod_uid = optional_string(meta, "uid", "metadata").value_or("");
    request.service_account = optional_string(spec, "serviceAccountName", "spec")
                                  .value_or(optional_string(spec, "serviceAccount", "spec").value_or("default"));
    if (request.service_account.empty()) request.service_account = "default";
    // It becomes part of a URL path: a DNS subdomain, as the API server requires.
    if (request.service_account.size() > 253 ||
        request.service_account.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") != std::string::npos)
        throw SpecError("spec.serviceAccountName", "is not a valid service account name");
    request.audience = optional_string(source, "audience", path).value_or("");
    request.expiration_seconds = expiration;
    std::optional<std::string> token;
    try {
        token = objects.service_account_token(request);
    } catch (const std::runtime_error &e) {
        throw SpecError(path, std::string("no service account token: ") + e.what());
    }
    if (!token) return std::nullopt;
    return json::object{{"data", json::object{{"token", kube_base64(*token)}}},
                        {"items", json::array{json::object{{"key", "token"}, {"path", file}}}}};
}

std::string field_value(const json::object &pod, const std::string &field) {
    const auto &meta = as_object(pod.at("metadata"), "metadata");
    if (field == "metadata.name" || field == "metadata.namespace" || field == "metadata.uid")
        return optional_string(meta, field.substr(9), "metadata").value_or("");
    for (const char *m : {"labels", "annotations"}) {
        if (field != std::string("metadata.") + m) continue;
        std::string out;
        if (const auto *map = optional_object(meta, m, "metadata"))
            for (const auto &kv : *map)
                if (kv.value().is_string()) out += std::string(kv.key()) + "=\"" + std::string(kv.value().get_string()) + "\"\n";
        return out;
    }
    throw SpecError(field, "unsupported downwardAPI field");
}

// Resolves what a volume projects into {"data": {...}} or {"sources": [...]} for the plugin.
void add_volume_content(json::object &request, const json::object &volume, const std::string &type,
                        const json::object &pod, const std::string &path, const ObjectLookup &objects) {
    if (type == "configMap" || type == "secret") {
        const auto &source = as_object(volume.at(type), join_path(path, type));
        const auto data = source_data(source, type == "secret", pod, join_path(path, type), objects);
        request["data"] = data ? *data : json::object{};
        request["absent"] = !data.has_value();
    } else if (type == "downwardAPI" || type == "projected") {
        const auto &spec = as_object(volume.at(type), join_path(path, type));
        json::array sources;
        auto downward = [&](const json::object &d, const std::string &dpath) {
            json::object data;
            json::array items;
            if (const auto *list = optional_array(d, "items", dpath))
                for (size_t i = 0; i < list->size(); ++i) {
                    const auto ipath = index_path(join_path(dpath, "items"), i);
                    const auto &item = as_object((*list)[i], ipath);
                    const auto file = required_string(item, "path", ipath);
                    const auto *ref = optional_object(item, "fieldRef", ipath);
                    if (!ref) throw SpecError(ipath, "only fieldRef items are supported");
                    data[file] = kube_base64(field_value(pod, required_string(*ref, "fieldPath", join_path(ipath, "fieldRef"))));
                    json::object it{{"key", file}, {"path", file}};
                    if (const auto *mode = item.if_contains("mode")) it["mode"] = *mode;
                    items.push_back(it);
                }
            return json::object{{"data", data}, {"items", items}};
        };
        if (type == "downwardAPI") {
            auto src = downward(spec, join_path(path, type));
            request["data"] = src["data"];
            request["volume"].as_object()["downwardAPI"].as_object()["items"] = src["items"];
            return;
        }
        if (const auto *list = optional_array(spec, "sources", join_path(path, type)))
            for (size_t i = 0; i < list->size(); ++i) {
                const auto spath = index_path(join_path(join_path(path, type), "sources"), i);
                const auto &src = as_object((*list)[i], spath);
                if (const auto *cm = optional_object(src, "configMap", spath)) {
                    const auto data = source_data(*cm, false, pod, join_path(spath, "configMap"), objects);
                    if (data) sources.push_back(json::object{{"data", *data}, {"items", cm->contains("items") ? cm->at("items") : json::array{}}});
                } else if (const auto *sec = optional_object(src, "secret", spath)) {
                    const auto data = source_data(*sec, true, pod, join_path(spath, "secret"), objects);
                    if (data) sources.push_back(json::object{{"data", *data}, {"items", sec->contains("items") ? sec->at("items") : json::array{}}});
                } else if (const auto *d = optional_object(src, "downwardAPI", spath)) {
                    sources.push_back(downward(*d, join_path(spath, "downwardAPI")));
                } else if (const auto *sat = optional_object(src, "serviceAccountToken", spath)) {
                    if (auto token = service_account_token(*sat, pod, join_path(spath, "serviceAccountToken"), objects))
                        sources.push_back(std::move(*token));
                } else {
                    throw SpecError(spath, "unsupported projected source");
                }
            }
        request["sources"] = sources;
    }
}

struct VolumeOwner {
    int64_t uid = -1, gid = -1;  // -1: root
    bool fs_group = false;       // gid is the pod's fsGroup
};

int64_t checked_id(std::optional<int64_t> id, const std::string &field) {
    if (id && (*id < 0 || *id > 0xfffffffe)) throw SpecError(field, "must be a user or group id (0 to 4294967294)");
    return id.value_or(-1);
}

// The one non-root id the containers mounting `volume` run with (container securityContext,
// else the pod's), or -1 when there is none or several.
int64_t common_container_id(const json::object &spec, const std::string &volume, const char *key,
                            std::optional<int64_t> root_override) {
    std::set<int64_t> ids;
    for (const char *list_key : {"initContainers", "containers"}) {
        const auto *list = optional_array(spec, list_key, "spec");
        if (!list) continue;
        for (size_t i = 0; i < list->size(); ++i) {
            const auto path = index_path(join_path("spec", list_key), i);
            const auto &container = as_object((*list)[i], path);
            bool mounts = false;
            if (const auto *mounts_list = optional_array(container, "volumeMounts", path))
                for (const auto &m : *mounts_list)
                    mounts = mounts || (m.is_object() && m.get_object().contains("name") &&
                                        m.get_object().at("name") == json::value(volume));
            if (!mounts) continue;
            const auto *sc = optional_object(container, "securityContext", path);
            auto id = checked_id(sc ? optional_int(*sc, key, join_path(path, "securityContext")) : std::nullopt,
                                 join_path(join_path(path, "securityContext"), key));
            if (id == 0 && root_override) id = *root_override;
            if (id > 0) ids.insert(id);
        }
    }
    return ids.size() == 1 ? *ids.begin() : -1;
}

// Who owns a volume: the pod's runAsUser (else the one non-root user of the containers mounting
// it, else root) and its fsGroup (else runAsGroup, chosen the same way). emptyDir is not
// world-writable, so this is what lets a container that sets its own runAsUser write there.
VolumeOwner volume_owner(const json::object &spec, const json::object *pod_sc, const std::string &volume,
                         const NodeContext &node) {
    VolumeOwner owner;
    std::optional<int64_t> fs_group, pod_user, pod_group;
    if (pod_sc) {
        pod_user = optional_int(*pod_sc, "runAsUser", "spec.securityContext");
        pod_group = optional_int(*pod_sc, "runAsGroup", "spec.securityContext");
        fs_group = optional_int(*pod_sc, "fsGroup", "spec.securityContext");
    }
    owner.uid = checked_id(pod_user, "spec.securityContext.runAsUser");
    if (owner.uid == 0 && node.override_root_uid) owner.uid = *node.override_root_uid;
    if (!pod_user) owner.uid = common_container_id(spec, volume, "runAsUser", node.override_root_uid);
    owner.fs_group = fs_group.has_value();
    owner.gid = fs_group ? checked_id(fs_group, "spec.securityContext.fsGroup")
                         : checked_id(pod_group, "spec.securityContext.runAsGroup");
    if (!fs_group && !pod_group) owner.gid = common_container_id(spec, volume, "runAsGroup", std::nullopt);
    return owner;
}

}  // namespace

bool is_sensitive_volume_type(const std::string &type) { return type == "secret" || type == "projected"; }

bool is_live_volume_type(const std::string &type) {
    return type == "configMap" || type == "secret" || type == "downwardAPI" || type == "projected";
}

namespace {

std::map<std::string, units::PreparedVolume> prepare_some(const json::object &pod, const plugins::PluginRegistry &plugins,
                                                          const NodeContext &node, bool dry_run,
                                                          const ObjectLookup &objects, bool live_only,
                                                          const VolumeCallObserver &before_call) {
    std::map<std::string, units::PreparedVolume> out;
    std::optional<SpecError> first_error;
    const auto &spec = as_object(pod.at("spec"), "spec");
    const auto *list = optional_array(spec, "volumes", "spec");
    if (!list) return out;
    const auto ref = pod_reference(pod);
    const auto uid = pod_path_id(std::string(ref.at("uid").as_string()), std::string(ref.at("name").as_string()));
    validate_pod_uid(uid);
    const auto *pod_sc = optional_object(spec, "securityContext", "spec");
    if (!dry_run) {
        try {
            make_pod_dirs(node, uid);
        } catch (const std::runtime_error &e) {
            throw SpecError("spec.volumes", e.what());
        }
    }
    for (size_t i = 0; i < list->size(); ++i) {
        const auto path = index_path("spec.volumes", i);
        const auto &volume = as_object((*list)[i], path);
        const auto name = required_string(volume, "name", path);
        validate_path_label(name, join_path(path, "name"));
        std::string type;
        for (const auto &kv : volume)
            if (kv.key() != "name") type = std::string(kv.key());
        if (type.empty()) throw SpecError(path, "volume '" + name + "' has no source");
        if (live_only && !is_live_volume_type(type)) continue;
        const auto *handler = plugins.volume_handler_for(type);
        if (!handler) throw SpecError(join_path(path, type), "volume type '" + type + "' is not supported by any plugin");
        // Secrets and tokens are never written to persistent disk, whatever --runtime-dir says;
        // an emptyDir with medium Memory is memory-backed as the kubelet makes it.
        const auto *empty_dir = type == "emptyDir" ? volume.at(type).if_object() : nullptr;
        const auto *medium = empty_dir ? empty_dir->if_contains("medium") : nullptr;
        const bool sensitive = is_sensitive_volume_type(type) || (medium && medium->is_string() && medium->get_string() == "Memory");
        if (sensitive && !dry_run && !is_on_memory_fs(node.runtime_dir))
            throw SpecError(path, "volume '" + name + "': the runtime directory " + node.runtime_dir +
                                      " is not on tmpfs, and this volume must never be on persistent disk");
        const auto owner = volume_owner(spec, pod_sc, name, node);
        json::object request{{"pod", ref}, {"volume", volume}, {"type", type},
                             {"directory", volume_dir(node, uid, name, sensitive)}, {"uid", owner.uid}, {"gid", owner.gid},
                             {"fsGroup", owner.fs_group}, {"dryRun", dry_run}};
        try {
            add_volume_content(request, volume, type, pod, path, objects);
            if (before_call) before_call(name, request);
            try {
                const auto result = handler->prepare(request).as_object();
                units::PreparedVolume prepared;
                prepared.path = required_string(result, "path", "result");
                prepared.read_only = optional_bool(result, "readOnly", "result").value_or(false);
                out[name] = prepared;
            } catch (const plugins::PluginCallError &e) {
                throw SpecError(path, "volume '" + name + "': " + e.what());
            }
        } catch (const SpecError &e) {
            if (!live_only) throw;
            if (!first_error) first_error = e;
        }
    }
    if (first_error) throw *first_error;
    return out;
}

}  // namespace

std::map<std::string, units::PreparedVolume> prepare_volumes(const json::object &pod,
                                                             const plugins::PluginRegistry &plugins,
                                                             const NodeContext &node, bool dry_run,
                                                             const ObjectLookup &objects,
                                                             const VolumeCallObserver &before_call) {
    return prepare_some(pod, plugins, node, dry_run, objects, false, before_call);
}

void refresh_live_volumes(const json::object &pod, const plugins::PluginRegistry &plugins, const NodeContext &node,
                          const ObjectLookup &objects) {
    prepare_some(pod, plugins, node, false, objects, true, {});
}

}  // namespace systemk::pods
