#include "pods/pod_preparation.h"

#include <fstream>
#include <sstream>

#include "pods/json_access.h"
#include "units/package_unit.h"

namespace systemk::pods {
namespace {

namespace json = boost::json;

json::object pod_reference(const json::object &pod) {
    const auto &meta = as_object(pod.at("metadata"), "metadata");
    return {{"namespace", optional_string(meta, "namespace", "metadata").value_or("default")},
            {"name", optional_string(meta, "name", "metadata").value_or("")},
            {"uid", optional_string(meta, "uid", "metadata").value_or("")}};
}

std::vector<units::ExecWord> command_from_unit_file(const std::string &path, const std::string &field) {
    std::ifstream in(path);
    if (!in) throw SpecError(field, "package unit " + path + " cannot be read", "ErrImagePull");
    std::stringstream text;
    text << in.rdbuf();
    try {
        return units::exec_start_of_package_unit(units::parse_unit(text.str()));
    } catch (const std::exception &e) {
        throw SpecError(field, "package unit " + path + " cannot be parsed: " + e.what(), "ErrImagePull");
    }
}

}  // namespace

std::map<std::string, units::ResolvedImage> resolve_images(const json::object &pod,
                                                           const plugins::PluginRegistry &plugins, bool dry_run) {
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
            const auto *resolver = plugins.resolver_for(image);
            if (!resolver) throw SpecError(field, "no image resolver plugin accepts '" + image + "'", "InvalidImageName");
            json::object request{{"image", image}, {"dryRun", dry_run}, {"pod", pod_reference(pod)}, {"container", container}};
            json::value result;
            try {
                result = resolver->resolve(request);
            } catch (const plugins::PluginCallError &e) {
                throw SpecError(field, e.what(), "ErrImagePull");
            }
            const auto &r = result.as_object();
            units::ResolvedImage resolved;
            resolved.resolver = resolver->name();
            resolved.package = optional_string(r, "package", "result").value_or("");
            resolved.version = optional_string(r, "version", "result").value_or("");
            resolved.installed_by_systemk = optional_bool(r, "installed", "result").value_or(false);
            if (const auto *unit = optional_object(r, "unit", "result")) {
                resolved.package_unit = optional_string(*unit, "name", "unit").value_or("");
                if (const auto unit_path = optional_string(*unit, "path", "unit"))
                    resolved.default_command = command_from_unit_file(*unit_path, field);
            }
            if (resolved.default_command.empty())
                if (const auto *exec = optional_array(r, "execStart", "result"))
                    for (const auto &w : *exec)
                        resolved.default_command.push_back({as_string(w, field), units::WordOrigin::PodSpec});
            out[name] = std::move(resolved);
        }
    }
    return out;
}

std::string volume_directory(const NodeContext &node, const std::string &pod_uid, const std::string &name) {
    return node.state_dir + "/pods/" + pod_uid + "/volumes/" + name;
}

std::map<std::string, units::PreparedVolume> prepare_volumes(const json::object &pod,
                                                             const plugins::PluginRegistry &plugins,
                                                             const NodeContext &node, bool dry_run) {
    std::map<std::string, units::PreparedVolume> out;
    const auto &spec = as_object(pod.at("spec"), "spec");
    const auto *list = optional_array(spec, "volumes", "spec");
    if (!list) return out;
    const auto ref = pod_reference(pod);
    const std::string uid = ref.at("uid").as_string().empty() ? std::string(ref.at("name").as_string())
                                                              : std::string(ref.at("uid").as_string());
    for (size_t i = 0; i < list->size(); ++i) {
        const auto path = index_path("spec.volumes", i);
        const auto &volume = as_object((*list)[i], path);
        const auto name = required_string(volume, "name", path);
        std::string type;
        for (const auto &kv : volume)
            if (kv.key() != "name") type = std::string(kv.key());
        if (type.empty()) throw SpecError(path, "volume '" + name + "' has no source");
        const auto *handler = plugins.volume_handler_for(type);
        if (!handler) throw SpecError(join_path(path, type), "volume type '" + type + "' is not supported by any plugin");
        json::object request{{"pod", ref}, {"volume", volume}, {"type", type},
                             {"directory", volume_directory(node, uid, name)}, {"uid", -1}, {"gid", -1},
                             {"dryRun", dry_run}};
        try {
            const auto result = handler->prepare(request).as_object();
            units::PreparedVolume prepared;
            prepared.path = required_string(result, "path", "result");
            prepared.read_only = optional_bool(result, "readOnly", "result").value_or(false);
            out[name] = prepared;
        } catch (const plugins::PluginCallError &e) {
            throw SpecError(path, "volume '" + name + "': " + e.what());
        }
    }
    return out;
}

}  // namespace systemk::pods
