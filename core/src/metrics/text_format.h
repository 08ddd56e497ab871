#pragma once
// Prometheus text exposition format 0.0.4, written by hand: no exposition library is packaged in
// Debian 12 (prometheus-cpp is not), and the format is small. Families are written whole: the
// HELP and TYPE lines, then every sample of the family, so the output passes
// `promtool check metrics`.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace systemk::metrics {

inline constexpr const char *kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

using Labels = std::vector<std::pair<std::string, std::string>>;

// A label value with backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view value);
// HELP text with backslash and newline escaped.
std::string escape_help(std::string_view help);
// A sample value: integers without a fraction, NaN and infinities as Prometheus spells them.
std::string format_value(double value);

class TextWriter {
public:
    // Starts a family; `type` is counter, gauge, histogram, summary or untyped.
    void family(std::string_view name, std::string_view type, std::string_view help);
    // One sample line. `name` may carry a suffix of the family (_bucket, _sum, _count).
    void sample(std::string_view name, const Labels &labels, double value,
                std::optional<int64_t> timestamp_ms = std::nullopt);
    const std::string &text() const { return out_; }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

}  // namespace systemk::metrics
