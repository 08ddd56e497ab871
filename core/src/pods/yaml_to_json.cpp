#include "pods/yaml_to_json.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <stdexcept>
#include <string>

namespace systemk::pods {
namespace {

// Scalar forms recognised by hand in one pass (std::regex recurses per character and a long
// scalar in a pod manifest would overflow the stack).
size_t skip_sign(std::string_view s, size_t i) { return i < s.size() && (s[i] == '-' || s[i] == '+') ? i + 1 : i; }
size_t skip_digits(std::string_view s, size_t i) {
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i;
}

// [-+]?[0-9]+
bool is_integer(std::string_view s) {
    const size_t start = skip_sign(s, 0), end = skip_digits(s, start);
    return end > start && end == s.size();
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_float(std::string_view s) {
    size_t i = skip_sign(s, 0);
    const size_t int_start = i;
    i = skip_digits(s, i);
    const bool int_digits = i > int_start;
    if (i < s.size() && s[i] == '.') {
        const size_t frac_start = ++i;
        i = skip_digits(s, i);
        if (!int_digits && i == frac_start) return false;
    } else if (!int_digits) {
        return false;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        const size_t exp_start = skip_sign(s, i + 1);
        i = skip_digits(s, exp_start);
        if (i == exp_start) return false;
    }
    return i == s.size();
}

boost::json::value plain_scalar(const std::string &s) {
    if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    if (is_integer(s)) {
        int64_t v = 0;
        const char *begin = s.data() + (s[0] == '+' ? 1 : 0);
        if (std::from_chars(begin, s.data() + s.size(), v).ec == std::errc()) return v;
        return boost::json::string(s);  // out of range: keep the text
    }
    if (is_float(s)) {
        try {
            return std::stod(s);
        } catch (const std::out_of_range &) {
            return boost::json::string(s);  // out of range: keep the text
        }
    }
    return boost::json::string(s);
}

boost::json::value convert(const YAML::Node &node) {
    switch (node.Type()) {
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return nullptr;
        case YAML::NodeType::Scalar:
            // A quoted scalar carries the "!" tag and is always a string.
            if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return boost::json::string(node.Scalar());
            return plain_scalar(node.Scalar());
        case YAML::NodeType::Sequence: {
            boost::json::array a;
            for (const auto &item : node) a.push_back(convert(item));
            return a;
        }
        case YAML::NodeType::Map: {
            boost::json::object o;
            for (const auto &kv : node) o[kv.first.as<std::string>()] = convert(kv.second);
            return o;
        }
    }
    return nullptr;
}

}  // namespace

std::vector<boost::json::value> parse_manifests(std::string_view text) {
    std::vector<boost::json::value> out;
    try {
        for (const auto &doc : YAML::LoadAll(std::string(text))) {
            auto v = convert(doc);
            if (!v.is_null()) out.push_back(std::move(v));
        }
    } catch (const YAML::Exception &e) {
        throw std::runtime_error("invalid YAML: " + std::string(e.what()));
    }
    return out;
}

}  // namespace systemk::pods
