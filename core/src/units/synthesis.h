#pragma once
// Pod + resolved images + prepared volumes -> one systemd service unit per container.
#include <boost/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "pods/node_context.h"
#include "pods/object_lookup.h"
#include "units/package_unit.h"
#include "units/systemd_quoting.h"
#include "units/unit_file.h"

namespace systemk::units {

inline constexpr std::string_view kMetadataSection = "X-Kubernetes";

// What an image resolver said about one container's image.
struct ResolvedImage {
    std::string resolver;                  // plugin name
    std::string package;                   // empty for images that are not packages
    std::string version;
    bool installed_by_systemk = false;
    std::string package_unit;              // e.g. "nginx.service"
    std::vector<ExecWord> default_command; // from the package unit or the resolver
    // From the package's own unit: StateDirectory=, RuntimeDirectory=, ReadWritePaths=, ...
    // (key, raw value), so that a packaged daemon can still write where its packager said.
    std::vector<std::pair<std::string, std::string>> writable_directives;
    // The package's own data directories (/var/spool/x), writable when systemk installed it.
    std::vector<std::string> data_directories;
    // The rest of the package unit a pod keeps (Type=, User=, Environment=, ...), vetted.
    PackageUnitSettings package_settings;
};

struct PreparedVolume {
    std::string path;
    bool read_only = false;
};

// A volumeMount with subPath: the agent resolves `sub_path` beneath `volume_path` without
// following symlinks out of the volume and bind-mounts the result on `pinned_path` right before
// the container starts (pods::pin_subpath); the unit bind-mounts `pinned_path`.
struct SubPathMount {
    std::string volume_path;
    std::string sub_path;
    std::string pinned_path;
    std::string field;  // e.g. spec.containers[0].volumeMounts[1].subPath, for errors
};

struct PodUnit {
    std::string name;       // systemk.<ns>.<pod>.<container>.service
    std::string container;
    bool init = false;
    UnitFile unit;
    std::vector<std::string> warnings;  // for Events
    // Secret-derived variables: written to `env_file` (0600 root, tmpfs) by
    // pods::write_env_file before the unit starts, never into the unit file.
    std::string env_file;
    std::vector<std::pair<std::string, std::string>> secret_env;
    std::vector<SubPathMount> subpaths;
};

struct PodInputs {
    const boost::json::object *pod = nullptr;
    const pods::NodeContext *node = nullptr;
    const pods::ObjectLookup *objects = nullptr;
    std::map<std::string, ResolvedImage> images;     // by container name
    std::map<std::string, PreparedVolume> volumes;   // by volume name
};

// Init containers first, in order, then app containers. Throws pods::SpecError naming the field.
std::vector<PodUnit> synthesize_pod_units(const PodInputs &in);

// The [X-Kubernetes] values of a unit we wrote, decoded (key -> value).
std::map<std::string, std::string> read_pod_metadata(const UnitFile &unit);

}  // namespace systemk::units
