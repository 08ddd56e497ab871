#include "pods/volume_manager.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "pods/container_files.h"
#include "pods/pod_layout.h"
#include "pods/pod_preparation.h"
#include "pods/spec_error.h"

namespace systemk::pods {
namespace {

namespace json = boost::json;

// What a plugin needs to undo a prepare: the request without content or ownership.
json::object cleanup_request(const json::object &prepare_request) {
    json::object out;
    for (const char *key : {"pod", "volume", "type", "directory"})
        if (const auto *v = prepare_request.if_contains(key)) out[key] = *v;
    return out;
}

// Written whole to a temporary and renamed: a crash leaves the old record or the new one.
void write_record(const std::string &path, const json::object &record) {
    const auto tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
    const auto text = json::serialize(record);
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        throw std::runtime_error("cannot write " + path);
    }
}

std::optional<json::object> read_record(const std::string &path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    try {
        auto v = json::parse(text.str());
        if (v.is_object()) return v.get_object();
    } catch (const std::exception &) {
    }
    spdlog::warn("volume record {} is unreadable: the pod's directories are removed without plugin cleanup", path);
    return std::nullopt;
}

}  // namespace

VolumeManager::VolumeManager(const plugins::PluginRegistry &plugins, NodeContext node)
    : plugins_(plugins), node_(std::move(node)) {}

std::map<std::string, units::PreparedVolume> VolumeManager::prepare(const json::object &pod,
                                                                    const ObjectLookup &objects) const {
    json::object record;
    std::string uid;
    auto observe = [&](const std::string &volume, const json::object &request) {
        if (uid.empty()) {
            const auto &ref = request.at("pod").as_object();
            uid = pod_path_id(std::string(ref.at("uid").as_string()), std::string(ref.at("name").as_string()));
        }
        record[volume] = cleanup_request(request);
        try {
            write_record(volume_record_path(node_, uid), record);
        } catch (const std::runtime_error &e) {
            throw SpecError("spec.volumes", e.what());
        }
    };
    return prepare_volumes(pod, plugins_, node_, false, objects, observe);
}

void VolumeManager::refresh(const json::object &pod, const ObjectLookup &objects) const {
    refresh_live_volumes(pod, plugins_, node_, objects);
}

void VolumeManager::cleanup(const std::string &uid) const {
    std::optional<json::object> record;
    try {
        record = read_record(volume_record_path(node_, uid));
    } catch (const SpecError &) {
        return;  // not a UID we could ever have made directories for
    }
    // The directories first: that unmounts subPath pins and memory volumes before anything is
    // removed, so no removal reaches through a mount into what it shows.
    remove_pod_files(node_, uid);
    if (!record) return;
    for (const auto &[volume, request] : *record) {
        if (!request.is_object()) continue;
        const auto *type = request.get_object().if_contains("type");
        const auto *handler = type && type->is_string() ? plugins_.volume_handler_for(std::string(type->get_string())) : nullptr;
        if (!handler) continue;
        try {
            handler->cleanup(request);
        } catch (const std::exception &e) {
            spdlog::error("pod uid={} volume={} cleanup failed: {}", uid, std::string(volume), e.what());
        }
    }
}

size_t VolumeManager::cleanup_orphans(const std::set<std::string> &known) const {
    size_t n = 0;
    for (const auto &uid : pod_uids_on_disk(node_)) {
        if (known.contains(uid)) continue;
        spdlog::info("pod uid={} is gone: removing its volumes", uid);
        cleanup(uid);
        ++n;
    }
    return n;
}

}  // namespace systemk::pods
