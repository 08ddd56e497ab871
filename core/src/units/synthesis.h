#pragma once
// Pod + resolved images + prepared volumes -> one systemd service unit per container.
#include <boost/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "pods/node_context.h"
#include "pods/object_lookup.h"
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
};

struct PreparedVolume {
    std::string path;
    bool read_only = false;
};

struct PodUnit {
    std::string name;       // systemk.<ns>.<pod>.<container>.service
    std::string container;
    bool init = false;
    UnitFile unit;
    std::vector<std::string> warnings;  // for Events
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
