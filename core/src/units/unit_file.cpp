#include "units/unit_file.h"

#include <stdexcept>

namespace systemk::units {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool is_comment_line(std::string_view s) { return !s.empty() && (s[0] == '#' || s[0] == ';'); }

bool is_valid_section_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name) {
        const auto uc = static_cast<unsigned char>(c);
        if (c == '[' || c == ']' || uc < 0x20 || uc == 0x7f) return false;
    }
    return true;
}

}  // namespace

std::vector<std::string> UnitSection::values(std::string_view key) const {
    std::vector<std::string> out;
    for (const auto &item : items)
        if (item.key == key) out.push_back(item.value);
    return out;
}

std::optional<std::string> UnitSection::last(std::string_view key) const {
    std::optional<std::string> out;
    for (const auto &item : items)
        if (item.key == key) out = item.value;
    return out;
}

UnitSection &UnitFile::section(std::string_view name) {
    for (auto &s : sections)
        if (s.name == name) return s;
    sections.push_back({std::string(name), {}});
    return sections.back();
}

const UnitSection *UnitFile::find(std::string_view name) const {
    for (const auto &s : sections)
        if (s.name == name) return &s;
    return nullptr;
}

bool is_valid_key(std::string_view key) {
    if (key.empty()) return false;
    for (char c : key) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

bool is_writable_raw_value(std::string_view raw) {
    if (raw.find_first_of("\n\r") != std::string_view::npos) return false;
    if (raw.find('\0') != std::string_view::npos) return false;
    if (!raw.empty() && (is_space(raw.front()) || is_space(raw.back()))) return false;
    if (!raw.empty() && raw.back() == '\\') return false;
    return true;
}

UnitFile parse_unit(std::string_view text) {
    UnitFile unit;
    UnitSection *current = nullptr;
    unsigned line_no = 0;
    std::string pending;        // an assignment being continued
    unsigned pending_line = 0;
    bool continuing = false;

    auto finish_assignment = [&](std::string_view logical, unsigned at) {
        const auto eq = logical.find('=');
        if (eq == std::string_view::npos) throw UnitParseError(at, "missing '='");
        if (!current) throw UnitParseError(at, "assignment outside of a section");
        const auto key = trim(logical.substr(0, eq));
        if (!is_valid_key(key)) throw UnitParseError(at, "invalid key '" + std::string(key) + "'");
        current->items.push_back({std::string(key), std::string(trim(logical.substr(eq + 1)))});
    };

    size_t pos = 0;
    while (pos <= text.size()) {
        const auto nl = text.find('\n', pos);
        const auto raw_line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = (nl == std::string_view::npos) ? text.size() + 1 : nl + 1;
        ++line_no;
        const auto line = trim(raw_line);

        if (continuing) {
            if (is_comment_line(line)) continue;
            std::string_view part = line;
            if (!part.empty() && part.back() == '\\') {
                pending += part.substr(0, part.size() - 1);
                pending += ' ';
                continue;
            }
            pending += part;
            continuing = false;
            finish_assignment(pending, pending_line);
            continue;
        }
        if (line.empty()) continue;
        if (is_comment_line(line)) {
            if (current) current->items.push_back({"", std::string(line)});
            else unit.header_comments.emplace_back(line);
            continue;
        }
        if (line.front() == '[') {
            if (line.back() != ']') throw UnitParseError(line_no, "invalid section header");
            const auto name = line.substr(1, line.size() - 2);
            if (!is_valid_section_name(name)) throw UnitParseError(line_no, "invalid section name");
            current = &unit.section(name);
            continue;
        }
        if (line.back() == '\\') {
            pending.assign(line.substr(0, line.size() - 1));
            pending += ' ';
            pending_line = line_no;
            continuing = true;
            continue;
        }
        finish_assignment(line, line_no);
    }
    if (continuing) finish_assignment(pending, pending_line);
    return unit;
}

std::string write_unit(const UnitFile &unit) {
    std::string out;
    for (const auto &c : unit.header_comments) {
        if (!is_comment_line(c) || c.find_first_of("\r\n") != std::string::npos || c.back() == '\\')
            throw std::invalid_argument("invalid header comment");
        out += c;
        out += '\n';
    }
    bool first = unit.header_comments.empty();
    for (const auto &section : unit.sections) {
        if (!is_valid_section_name(section.name)) throw std::invalid_argument("invalid section name '" + section.name + "'");
        if (!first) out += '\n';
        first = false;
        out += '[';
        out += section.name;
        out += "]\n";
        for (const auto &item : section.items) {
            if (item.is_comment()) {
                if (!is_comment_line(item.value) || !is_writable_raw_value(item.value))
                    throw std::invalid_argument("invalid comment in [" + section.name + "]");
                out += item.value;
            } else {
                if (!is_valid_key(item.key)) throw std::invalid_argument("invalid key '" + item.key + "'");
                if (!is_writable_raw_value(item.value))
                    throw std::invalid_argument("value of " + item.key + "= would not survive a round trip");
                out += item.key;
                out += '=';
                out += item.value;
            }
            out += '\n';
        }
    }
    return out;
}

}  // namespace systemk::units
