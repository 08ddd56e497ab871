#pragma once
// Encoding of values for systemd unit files (systemd.syntax(7), systemd.service(5)).
//
// Every function here returns a single-line value that, read back by systemd, yields exactly
// the input: no input can end a line, start a new directive or a new section, or be changed by
// specifier (%) or environment ($) expansion.
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace systemk::units {

// Raised for values systemd cannot carry at all (e.g. a NUL byte, a relative path).
class QuotingError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// How one word of a command line is written.
enum class WordOrigin {
    PodSpec,  // literal: '%' and '$' are escaped so they reach the process unchanged
    Package,  // taken from a package's own unit: keeps its specifiers and $VAR references
    // A pod-spec word whose literal '$' are already doubled and which may hold ${NAME}
    // references that systemd expands when it starts the process (secret-derived variables,
    // which must not be written into the unit file): '%' is still escaped.
    PodSpecWithEnvRefs,
};

struct ExecWord {
    std::string text;
    WordOrigin origin = WordOrigin::PodSpec;
    bool operator==(const ExecWord &) const = default;
};

// A double-quoted word with C escapes (\n, \", \\, \xNN for control bytes and invalid UTF-8).
// escape_specifiers doubles '%'; escape_dollar doubles '$'.
std::string quote_word(std::string_view word, bool escape_specifiers, bool escape_dollar);

// ExecStart= value for argv. argv[0] must be absolute or a bare name systemd can look up, and
// may not be ";" or start with a character systemd reads as an exec prefix (-@:+!|): systemd
// unquotes the first word before it looks for those, so quoting alone is not enough there.
// Later words are safe quoted (systemd only splits on an unquoted ";").
// Error messages show at most the first 64 bytes of a word.
std::string quote_exec(const std::vector<ExecWord> &argv);

// Environment= value for one assignment. Throws for names systemd rejects or NUL bytes.
std::string quote_environment(std::string_view name, std::string_view value);

// One line of a systemd EnvironmentFile= ("NAME=\"value\"\n"), read back by systemd as
// exactly `value`: inside double quotes it honours only \\ \" \` \$ and a backslash-newline,
// and keeps other bytes, newlines included. Throws for invalid names, NUL or invalid UTF-8;
// messages never contain the value.
std::string environment_file_line(std::string_view name, std::string_view value);

// One path in a path-list directive (BindPaths=, ReadOnlyPaths=, ...): backslash escapes
// for separators, quotes and whitespace; '%' doubled. Must be absolute, no control characters.
std::string escape_path_in_list(std::string_view path);

// A free-text value such as Description=: '%' doubled, control characters replaced.
std::string escape_text(std::string_view text);

// A single path value such as WorkingDirectory=.
std::string escape_single_path(std::string_view path);

// --- Reading back (used to read package units and our own [X-Kubernetes] section, and by tests) ---

// Splits a value into words like systemd's extract_first_word(UNQUOTE|CUNESCAPE).
// Throws QuotingError on unbalanced quotes or bad escapes.
std::vector<std::string> split_words(std::string_view raw);

// Reverses '%%' -> '%'; any other specifier is an error (used where we wrote the value).
std::string unescape_specifiers(std::string_view text);
// Reverses '$$' -> '$'.
std::string unescape_dollars(std::string_view text);

bool is_valid_environment_name(std::string_view name);
bool is_valid_utf8(std::string_view text);

}  // namespace systemk::units
