#pragma once
// Manifests are written in YAML; systemk works on the API's JSON. This converts YAML documents
// (YAML 1.2 core schema for plain scalars) to JSON values; JSON input passes through unchanged.
#include <boost/json.hpp>

#include <string_view>
#include <vector>

namespace systemk::pods {

// Every non-empty document in `text`. Throws std::runtime_error with a line number on bad YAML.
std::vector<boost::json::value> parse_manifests(std::string_view text);

}  // namespace systemk::pods
