#include "units/systemd_quoting.h"

#include <cstdio>

namespace systemk::units {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid.
size_t utf8_sequence_length(std::string_view s, size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return 0;
    if (i + len > s.size()) return 0;
    for (size_t k = 1; k < len; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong encodings, surrogates and out-of-range code points are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return 0;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

void append_hex(std::string &out, unsigned char c) {
    char buf[5];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_whitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Decodes one C escape after a backslash at raw[i] (i points at the char after '\').
// Returns the index after the escape.
size_t decode_escape(std::string_view raw, size_t i, std::string &out) {
    if (i >= raw.size()) throw QuotingError("value ends with a lone backslash");
    const char c = raw[i];
    switch (c) {
        case 'a': out += '\a'; return i + 1;
        case 'b': out += '\b'; return i + 1;
        case 'f': out += '\f'; return i + 1;
        case 'n': out += '\n'; return i + 1;
        case 'r': out += '\r'; return i + 1;
        case 't': out += '\t'; return i + 1;
        case 'v': out += '\v'; return i + 1;
        case '\\': case '"': case '\'': case ' ': out += c; return i + 1;
        case 's': out += ' '; return i + 1;
        case 'x': {
            if (i + 2 >= raw.size()) throw QuotingError("short \\x escape");
            const int hi = hex_value(raw[i + 1]);
            const int lo = hex_value(raw[i + 2]);
            if (hi < 0 || lo < 0) throw QuotingError("bad \\x escape");
            const int v = hi * 16 + lo;
            if (v == 0) throw QuotingError("\\x00 is not allowed");
            out += static_cast<char>(v);
            return i + 3;
        }
        default:
            throw QuotingError(std::string("unknown escape \\") + c);
    }
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
    for (size_t i = 0; i < text.size();) {
        const size_t n = utf8_sequence_length(text, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

bool is_valid_environment_name(std::string_view name) {
    // systemd accepts the portable shell-variable form only.
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return false;
    }
    return true;
}

std::string quote_word(std::string_view word, bool escape_specifiers, bool escape_dollar) {
    std::string out;
    out.reserve(word.size() + 2);
    out += '"';
    for (size_t i = 0; i < word.size();) {
        const char c = word[i];
        const auto uc = static_cast<unsigned char>(c);
        if (c == '\0') throw QuotingError("a NUL byte cannot be passed through systemd");
        if (uc >= 0x80) {
            const size_t n = utf8_sequence_length(word, i);
            if (n == 0) {
                append_hex(out, uc);
                ++i;
            } else {
                out.append(word.substr(i, n));
                i += n;
            }
            continue;
        }
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            case '%': out += escape_specifiers ? "%%" : "%"; break;
            case '$': out += escape_dollar ? "$$" : "$"; break;
            default:
                if (uc < 0x20 || uc == 0x7f) append_hex(out, uc);
                else out += c;
        }
        ++i;
    }
    out += '"';
    return out;
}

namespace {
std::string shown(std::string_view word) {
    return word.size() <= 64 ? std::string(word) : std::string(word.substr(0, 64)) + "...";
}
}  // namespace

std::string quote_exec(const std::vector<ExecWord> &argv) {
    if (argv.empty()) throw QuotingError("empty command");
    const std::string &exe = argv[0].text;
    if (exe.empty()) throw QuotingError("empty executable name");
    if (exe == ";") throw QuotingError("the executable ';' would be read by systemd as a command separator");
    // systemd reads these as prefixes (ignore-failure, argv0, privileged, ...) on the first word.
    if (std::string_view("-@:+!|").find(exe[0]) != std::string_view::npos)
        throw QuotingError(std::string("executable starts with '") + exe[0] + "', which systemd reads as an exec prefix");
    if (exe[0] != '/' && exe.find('/') != std::string::npos)
        throw QuotingError("executable '" + shown(exe) + "' is a relative path; use an absolute path or a bare name");
    if (argv[0].origin == WordOrigin::PodSpecWithEnvRefs)
        throw QuotingError("the executable may not use a secret-derived variable");
    std::string out;
    for (size_t i = 0; i < argv.size(); ++i) {
        if (i) out += ' ';
        switch (argv[i].origin) {
            case WordOrigin::PodSpec: out += quote_word(argv[i].text, true, true); break;
            case WordOrigin::PodSpecWithEnvRefs: out += quote_word(argv[i].text, true, false); break;
            case WordOrigin::Package: out += quote_word(argv[i].text, false, false); break;
        }
    }
    return out;
}

std::string environment_file_line(std::string_view name, std::string_view value) {
    if (!is_valid_environment_name(name))
        throw QuotingError("environment variable name '" + shown(name) + "' is not accepted by systemd");
    if (value.find('\0') != std::string_view::npos)
        throw QuotingError("environment variable " + std::string(name) + " has a NUL byte in its value");
    if (!is_valid_utf8(value))
        throw QuotingError("environment variable " + std::string(name) + " has a value that is not valid UTF-8");
    std::string out(name);
    out += "=\"";
    for (char c : value) {
        if (c == '"' || c == '\\' || c == '`' || c == '$') out += '\\';
        out += c;
    }
    out += "\"\n";
    return out;
}

std::string quote_environment(std::string_view name, std::string_view value) {
    if (!is_valid_environment_name(name))
        throw QuotingError("environment variable name '" + std::string(name) +
                           "' is not accepted by systemd (letters, digits and '_' only, not starting with a digit)");
    if (!is_valid_utf8(value))
        throw QuotingError("environment variable " + std::string(name) + " has a value that is not valid UTF-8");
    std::string assignment(name);
    assignment += '=';
    assignment += value;
    return quote_word(assignment, true, false);
}

namespace {
void check_path(std::string_view path) {
    if (path.empty() || path[0] != '/') throw QuotingError("path '" + std::string(path) + "' is not absolute");
    for (char c : path) {
        const auto uc = static_cast<unsigned char>(c);
        if (uc < 0x20 || uc == 0x7f) throw QuotingError("path contains a control character");
    }
    if (!is_valid_utf8(path)) throw QuotingError("path is not valid UTF-8");
}
}  // namespace

std::string escape_path_in_list(std::string_view path) {
    check_path(path);
    std::string out;
    for (char c : path) {
        switch (c) {
            case '\\': case '"': case '\'': case ':': case ' ':
                out += '\\';
                out += c;
                break;
            case '%': out += "%%"; break;
            default: out += c;
        }
    }
    return out;
}

std::string escape_single_path(std::string_view path) {
    check_path(path);
    if (is_whitespace(path.back())) throw QuotingError("path ends with whitespace");
    std::string out;
    for (char c : path) {
        if (c == '%') out += "%%";
        else out += c;
    }
    return out;
}

std::string escape_text(std::string_view text) {
    std::string out;
    for (char c : text) {
        const auto uc = static_cast<unsigned char>(c);
        if (c == '%') out += "%%";
        else if (uc < 0x20 || uc == 0x7f) out += '?';
        else out += c;
    }
    while (!out.empty() && out.back() == '\\') out.back() = '?';
    while (!out.empty() && is_whitespace(out.front())) out.erase(out.begin());
    while (!out.empty() && is_whitespace(out.back())) out.pop_back();
    return out;
}

std::vector<std::string> split_words(std::string_view raw) {
    std::vector<std::string> words;
    size_t i = 0;
    while (true) {
        while (i < raw.size() && is_whitespace(raw[i])) ++i;
        if (i >= raw.size()) break;
        std::string word;
        char quote = 0;
        for (; i < raw.size(); ) {
            const char c = raw[i];
            if (quote) {
                if (c == quote) { quote = 0; ++i; continue; }
                if (c == '\\') { i = decode_escape(raw, i + 1, word); continue; }
                word += c;
                ++i;
                continue;
            }
            if (is_whitespace(c)) break;
            if (c == '"' || c == '\'') { quote = c; ++i; continue; }
            if (c == '\\') { i = decode_escape(raw, i + 1, word); continue; }
            word += c;
            ++i;
        }
        if (quote) throw QuotingError("unbalanced quote");
        words.push_back(std::move(word));
    }
    return words;
}

std::string unescape_specifiers(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%') {
            if (i + 1 < text.size() && text[i + 1] == '%') { out += '%'; ++i; continue; }
            throw QuotingError("unexpected specifier in value");
        }
        out += text[i];
    }
    return out;
}

std::string unescape_dollars(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        out += text[i];
        if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '$') ++i;
    }
    return out;
}

}  // namespace systemk::units
