#include "server/log_options.h"

#include <charconv>
#include <ctime>

namespace systemk::server {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// strconv.ParseBool's spellings, as the API server and kubelet accept them.
bool parse_bool(const std::string &name, const std::string &v) {
    if (v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True") return true;
    if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False") return false;
    throw BadRequest(name + ": '" + v + "' is not a boolean");
}

int64_t parse_int(const std::string &name, const std::string &v) {
    int64_t out = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || end != v.data() + v.size() || v.empty()) throw BadRequest(name + ": '" + v + "' is not an integer");
    return out;
}

bool digits(std::string_view s, size_t pos, size_t n, int &out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

}  // namespace

std::string percent_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            const int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
            const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
            if (hi < 0 || lo < 0) throw BadRequest("malformed percent-escape in the request");
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
    std::map<std::string, std::string> out;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        out[percent_decode(pair.substr(0, eq), true)] =
            eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
    }
    return out;
}

LogOptions parse_log_options(const std::map<std::string, std::string> &query, int64_t now_usec) {
    LogOptions o;
    for (const auto &[name, value] : query) {
        if (name == "follow") o.follow = parse_bool(name, value);
        else if (name == "previous") o.previous = parse_bool(name, value);
        else if (name == "timestamps") o.timestamps = parse_bool(name, value);
        else if (name == "tailLines") {
            o.tail_lines = parse_int(name, value);
            if (*o.tail_lines < 0) throw BadRequest("tailLines: must be greater than or equal to 0");
        } else if (name == "limitBytes") {
            o.limit_bytes = parse_int(name, value);
            if (*o.limit_bytes < 1) throw BadRequest("limitBytes: must be greater than 0");
        } else if (name == "sinceSeconds") {
            const auto s = parse_int(name, value);
            if (s < 1) throw BadRequest("sinceSeconds: must be greater than 0");
            o.since_usec = s > now_usec / 1000000 ? 0 : now_usec - s * 1000000;
        } else if (name == "sinceTime") {
            const auto t = parse_rfc3339(value);
            if (!t) throw BadRequest("sinceTime: '" + value + "' is not an RFC 3339 time");
            o.since_usec = *t;
        }
        // Other parameters (pretty, insecureSkipTLSVerifyBackend, ...) mean nothing here.
    }
    if (query.contains("sinceSeconds") && query.contains("sinceTime"))
        throw BadRequest("at most one of sinceTime or sinceSeconds may be specified");
    return o;
}

std::optional<int64_t> parse_rfc3339(std::string_view s) {
    int year, month, day, hour, minute, second;
    if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
        !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, hour) || s[13] != ':' ||
        !digits(s, 14, 2, minute) || s[16] != ':' || !digits(s, 17, 2, second))
        return std::nullopt;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
    size_t pos = 19;
    int64_t micros = 0;
    if (s[pos] == '.') {
        ++pos;
        int n = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (n < 6) micros = micros * 10 + (s[pos] - '0');
            ++n, ++pos;
        }
        if (n == 0) return std::nullopt;
        for (; n < 6; ++n) micros *= 10;
    }
    int64_t offset = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int oh, om;
        if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
            return std::nullopt;
        offset = (s[pos] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != s.size()) return std::nullopt;
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    const int64_t seconds = static_cast<int64_t>(timegm(&tm)) - offset;
    return seconds * 1000000 + micros;
}

std::string format_rfc3339_nano(int64_t usec) {
    const std::time_t seconds = static_cast<std::time_t>(usec >= 0 ? usec / 1000000 : (usec - 999999) / 1000000);
    const int64_t micros = usec - static_cast<int64_t>(seconds) * 1000000;
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lld000Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
    return buf;
}

}  // namespace systemk::server
