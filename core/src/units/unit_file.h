#pragma once
// An in-memory systemd unit file: sections with ordered, repeatable keys and comments.
// Values are stored raw (as systemd sees them after joining continuation lines); use
// systemd_quoting.h to produce raw values from arbitrary data.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace systemk::units {

struct UnitItem {
    std::string key;      // empty for a comment line
    std::string value;    // the raw value, or the whole comment line including '#'/';'
    bool is_comment() const { return key.empty(); }
    bool operator==(const UnitItem &) const = default;
};

struct UnitSection {
    std::string name;
    std::vector<UnitItem> items;
    void add(std::string key, std::string raw_value) { items.push_back({std::move(key), std::move(raw_value)}); }
    void comment(std::string text) { items.push_back({"", "# " + std::move(text)}); }
    // The raw values of every assignment of key, in order.
    std::vector<std::string> values(std::string_view key) const;
    // The last value of key (what systemd uses for single-valued settings).
    std::optional<std::string> last(std::string_view key) const;
    bool operator==(const UnitSection &) const = default;
};

struct UnitFile {
    std::vector<std::string> header_comments;  // comment lines before the first section
    std::vector<UnitSection> sections;

    UnitSection &section(std::string_view name);  // finds or appends
    const UnitSection *find(std::string_view name) const;
    bool operator==(const UnitFile &) const = default;
};

class UnitParseError : public std::runtime_error {
public:
    UnitParseError(unsigned line, const std::string &what)
        : std::runtime_error("line " + std::to_string(line) + ": " + what), line_(line) {}
    unsigned line() const { return line_; }
private:
    unsigned line_;
};

// Parses like systemd: '#'/';' comments, [Section] headers, Key=Value with whitespace
// trimmed, lines ending in '\' continued (the backslash becomes a space, comment lines inside a
// continuation are dropped).
UnitFile parse_unit(std::string_view text);

// Writes the unit. Throws std::invalid_argument if any key, section name or raw value could
// change the file's structure (a newline, a trailing backslash, an invalid key, ...).
std::string write_unit(const UnitFile &unit);

// Whether a raw value is safe to write on one line and will read back unchanged.
bool is_writable_raw_value(std::string_view raw);
bool is_valid_key(std::string_view key);

}  // namespace systemk::units
