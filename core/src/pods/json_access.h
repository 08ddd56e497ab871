#pragma once
// Typed, path-aware reads from Kubernetes JSON: a field of the wrong type is a SpecError that
// names the field, never an exception from deep inside Boost.JSON.
#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pods/spec_error.h"

namespace systemk::pods {

namespace json = boost::json;

std::string join_path(std::string_view parent, std::string_view key);
std::string index_path(std::string_view parent, size_t index);

const json::object *optional_object(const json::object &o, std::string_view key, std::string_view path);
const json::array *optional_array(const json::object &o, std::string_view key, std::string_view path);
std::optional<std::string> optional_string(const json::object &o, std::string_view key, std::string_view path);
std::optional<int64_t> optional_int(const json::object &o, std::string_view key, std::string_view path);
std::optional<bool> optional_bool(const json::object &o, std::string_view key, std::string_view path);
std::string required_string(const json::object &o, std::string_view key, std::string_view path);
const json::object &as_object(const json::value &v, std::string_view path);
std::string as_string(const json::value &v, std::string_view path);

}  // namespace systemk::pods
