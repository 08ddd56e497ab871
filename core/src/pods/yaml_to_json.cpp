#include "pods/yaml_to_json.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <regex>
#include <stdexcept>
#include <string>

namespace systemk::pods {
namespace {

boost::json::value plain_scalar(const std::string &s) {
    if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    static const std::regex int_re("[-+]?[0-9]+");
    static const std::regex float_re(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
    if (std::regex_match(s, int_re)) {
        int64_t v = 0;
        const char *begin = s.data() + (s[0] == '+' ? 1 : 0);
        if (std::from_chars(begin, s.data() + s.size(), v).ec == std::errc()) return v;
        return boost::json::string(s);  // out of range: keep the text
    }
    if (std::regex_match(s, float_re)) return std::stod(s);
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
