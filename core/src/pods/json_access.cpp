#include "pods/json_access.h"

namespace systemk::pods {

std::string join_path(std::string_view parent, std::string_view key) {
    if (parent.empty()) return std::string(key);
    return std::string(parent) + "." + std::string(key);
}

std::string index_path(std::string_view parent, size_t index) {
    return std::string(parent) + "[" + std::to_string(index) + "]";
}

const json::object &as_object(const json::value &v, std::string_view path) {
    if (!v.is_object()) throw SpecError(std::string(path), "must be an object");
    return v.get_object();
}

std::string as_string(const json::value &v, std::string_view path) {
    if (!v.is_string()) throw SpecError(std::string(path), "must be a string");
    return std::string(v.get_string());
}

const json::object *optional_object(const json::object &o, std::string_view key, std::string_view path) {
    const auto *v = o.if_contains(key);
    if (!v || v->is_null()) return nullptr;
    return &as_object(*v, join_path(path, key));
}

const json::array *optional_array(const json::object &o, std::string_view key, std::string_view path) {
    const auto *v = o.if_contains(key);
    if (!v || v->is_null()) return nullptr;
    if (!v->is_array()) throw SpecError(join_path(path, key), "must be a list");
    return &v->get_array();
}

std::optional<std::string> optional_string(const json::object &o, std::string_view key, std::string_view path) {
    const auto *v = o.if_contains(key);
    if (!v || v->is_null()) return std::nullopt;
    return as_string(*v, join_path(path, key));
}

std::optional<int64_t> optional_int(const json::object &o, std::string_view key, std::string_view path) {
    const auto *v = o.if_contains(key);
    if (!v || v->is_null()) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v->get_uint64());
    throw SpecError(join_path(path, key), "must be an integer");
}

std::optional<bool> optional_bool(const json::object &o, std::string_view key, std::string_view path) {
    const auto *v = o.if_contains(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_bool()) throw SpecError(join_path(path, key), "must be true or false");
    return v->get_bool();
}

std::string required_string(const json::object &o, std::string_view key, std::string_view path) {
    auto s = optional_string(o, key, path);
    if (!s || s->empty()) throw SpecError(join_path(path, key), "required");
    return *s;
}

}  // namespace systemk::pods
