#include "metrics/text_format.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace systemk::metrics {

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string escape_help(std::string_view help) {
    std::string out;
    out.reserve(help.size());
    for (char c : help) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string format_value(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    // Exact integers (counters, bytes) print without an exponent up to 2^53.
    if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.0f", value);
        return buf;
    }
    // The shortest text that reads back as the same double (0.1, not 0.10000000000000001).
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    return std::string(buf, ec == std::errc() ? end : buf);
}

void TextWriter::family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += escape_help(help);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

void TextWriter::sample(std::string_view name, const Labels &labels, double value, std::optional<int64_t> timestamp_ms) {
    out_ += name;
    if (!labels.empty()) {
        out_ += '{';
        for (size_t i = 0; i < labels.size(); ++i) {
            if (i) out_ += ',';
            out_ += labels[i].first;
            out_ += "=\"";
            out_ += escape_label_value(labels[i].second);
            out_ += '"';
        }
        out_ += '}';
    }
    out_ += ' ';
    out_ += format_value(value);
    if (timestamp_ms) {
        out_ += ' ';
        out_ += std::to_string(*timestamp_ms);
    }
    out_ += '\n';
}

}  // namespace systemk::metrics
