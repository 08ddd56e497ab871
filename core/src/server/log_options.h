#pragma once
// The query of /containerLogs as the kubelet reads it (PodLogOptions): follow, previous,
// timestamps, tailLines, limitBytes, sinceSeconds or sinceTime. Times are microseconds since
// the epoch (the journal's resolution).
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace systemk::server {

// A request the server answers with 400 and this message.
class BadRequest : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Percent-decodes ('+' is a space, as in forms). Throws BadRequest on a broken escape.
std::string percent_decode(std::string_view text, bool plus_is_space);
// name=value pairs; the last of a repeated name wins. Throws BadRequest.
std::map<std::string, std::string> parse_query(std::string_view query);

struct LogOptions {
    bool follow = false;
    bool previous = false;
    bool timestamps = false;
    std::optional<int64_t> tail_lines;
    std::optional<int64_t> limit_bytes;
    std::optional<int64_t> since_usec;  // only entries at or after this time
};
// Throws BadRequest naming the parameter. `now_usec` turns sinceSeconds into a time.
LogOptions parse_log_options(const std::map<std::string, std::string> &query, int64_t now_usec);

// RFC 3339 ("2024-01-02T03:04:05.123Z", "...+02:00") to µs since the epoch; nullopt if malformed.
std::optional<int64_t> parse_rfc3339(std::string_view text);
// µs since the epoch as the kubelet's log timestamps: UTC, always nine fraction digits.
std::string format_rfc3339_nano(int64_t usec);

}  // namespace systemk::server
