#include "pods/quantity.h"

#include <string>

namespace systemk::pods {
namespace {

using i128 = __int128;
constexpr i128 kMax = INT64_MAX;
// The API server accepts at most this many digits; more is a hostile input, not a quantity.
constexpr size_t kMaxLength = 64;

struct Suffix {
    std::string_view name;
    int exp10;
    int pow1024;
};
constexpr Suffix kSuffixes[] = {{"", 0, 0},  {"n", -9, 0}, {"u", -6, 0}, {"m", -3, 0},  {"k", 3, 0},
                                {"M", 6, 0}, {"G", 9, 0},  {"T", 12, 0}, {"P", 15, 0},  {"E", 18, 0},
                                {"Ki", 0, 1}, {"Mi", 0, 2}, {"Gi", 0, 3}, {"Ti", 0, 4}, {"Pi", 0, 5},
                                {"Ei", 0, 6}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Multiplies with a saturation flag instead of overflowing.
bool mul(i128 &v, i128 by) {
    if (v != 0 && by > kMax * 1024 / v) return false;
    v *= by;
    return true;
}

}  // namespace

std::optional<int64_t> parse_quantity_scaled(std::string_view text, int scale) {
    if (text.empty() || text.size() > kMaxLength) return std::nullopt;
    size_t i = 0;
    if (text[0] == '+') ++i;
    else if (text[0] == '-') return std::nullopt;  // no resource is negative
    // Mantissa: digits with at most one '.'; significant digits kept exactly.
    i128 mantissa = 0;
    int exp10 = scale;
    bool any_digit = false, dot = false;
    for (; i < text.size() && (is_digit(text[i]) || (text[i] == '.' && !dot)); ++i) {
        if (text[i] == '.') {
            dot = true;
            continue;
        }
        any_digit = true;
        if (mantissa > kMax) {  // digits beyond int64 precision: only their magnitude counts
            if (!dot) ++exp10;
            continue;
        }
        mantissa = mantissa * 10 + (text[i] - '0');
        if (dot) --exp10;
    }
    if (!any_digit) return std::nullopt;
    const auto suffix = text.substr(i);
    int pow1024 = 0;
    bool matched = false;
    for (const auto &s : kSuffixes)
        if (suffix == s.name) {
            exp10 += s.exp10;
            pow1024 = s.pow1024;
            matched = true;
        }
    if (!matched) {
        if (suffix.size() < 2 || (suffix[0] != 'e' && suffix[0] != 'E')) return std::nullopt;
        size_t j = 1;
        bool negative = false;
        if (suffix[j] == '+' || suffix[j] == '-') negative = suffix[j++] == '-';
        if (j >= suffix.size() || suffix.size() - j > 4) return std::nullopt;
        int e = 0;
        for (; j < suffix.size(); ++j) {
            if (!is_digit(suffix[j])) return std::nullopt;
            e = e * 10 + (suffix[j] - '0');
        }
        exp10 += negative ? -e : e;
    }
    i128 value = mantissa;
    for (int k = 0; k < pow1024; ++k)
        if (!mul(value, 1024)) return std::nullopt;
    if (value == 0) return 0;
    for (; exp10 > 0; --exp10)
        if (!mul(value, 10) || value > kMax) return std::nullopt;
    if (exp10 < 0) {
        // Round up, as Kubernetes does for milli-values: 0.1m of CPU is still 1m.
        if (exp10 < -38) return 1;  // 10^38 is the largest power of ten an int128 holds
        i128 divisor = 1;
        for (; exp10 < 0; ++exp10) divisor *= 10;
        value = value / divisor + (value % divisor != 0 ? 1 : 0);
    }
    if (value > kMax) return std::nullopt;
    return static_cast<int64_t>(value);
}

}  // namespace systemk::pods
