#include "pods/quantity.h"

#include <cmath>
#include <cstdlib>
#include <string>

namespace systemk::pods {

std::optional<long double> parse_quantity(std::string_view text) {
    if (text.empty()) return std::nullopt;
    size_t n = 0;
    while (n < text.size() && (std::isdigit(static_cast<unsigned char>(text[n])) || text[n] == '.' ||
                               ((text[n] == '+' || text[n] == '-') && n == 0)))
        ++n;
    if (n == 0) return std::nullopt;
    const std::string number(text.substr(0, n));
    char *end = nullptr;
    const long double base = std::strtold(number.c_str(), &end);
    if (end != number.c_str() + number.size()) return std::nullopt;
    const auto suffix = text.substr(n);
    struct Suffix { std::string_view name; long double factor; };
    static const Suffix suffixes[] = {
        {"", 1}, {"n", 1e-9L}, {"u", 1e-6L}, {"m", 1e-3L}, {"k", 1e3L}, {"M", 1e6L}, {"G", 1e9L},
        {"T", 1e12L}, {"P", 1e15L}, {"E", 1e18L}, {"Ki", 1024.0L}, {"Mi", 1048576.0L},
        {"Gi", 1073741824.0L}, {"Ti", 1099511627776.0L}, {"Pi", 1125899906842624.0L},
        {"Ei", 1152921504606846976.0L}};
    for (const auto &s : suffixes)
        if (suffix == s.name) return base * s.factor;
    if (suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E')) {
        const std::string exponent(suffix.substr(1));
        char *e_end = nullptr;
        const long e = std::strtol(exponent.c_str(), &e_end, 10);
        if (e_end != exponent.c_str() + exponent.size()) return std::nullopt;
        return base * std::pow(10.0L, static_cast<long double>(e));
    }
    return std::nullopt;
}

}  // namespace systemk::pods
