#include "pods/variable_expansion.h"

#include <functional>

namespace systemk::pods {
namespace {

constexpr size_t kMaxNameLength = 1024;

// Walks `in`, handing literal text and defined references to the callbacks; undefined
// references and "$$" are literal text.
void walk(std::string_view in, const std::map<std::string, std::string> &vars,
          const std::function<void(std::string_view)> &literal,
          const std::function<void(const std::string &name, const std::string &value)> &reference) {
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '$' || i + 1 >= in.size()) {
            literal(in.substr(i, 1));
            continue;
        }
        const char next = in[i + 1];
        if (next == '$') {
            literal("$");
            ++i;
            continue;
        }
        if (next == '(') {
            // Names are short: looking further would make a long value quadratic to expand.
            const auto window = in.substr(i + 2, kMaxNameLength + 1);
            const auto found = window.find(')');
            const auto close = found == std::string_view::npos ? std::string_view::npos : i + 2 + found;
            if (close != std::string_view::npos) {
                const std::string name(in.substr(i + 2, close - i - 2));
                const auto it = vars.find(name);
                if (it != vars.end()) reference(name, it->second);
                else literal(in.substr(i, close - i + 1));
                i = close;
                continue;
            }
        }
        literal("$");
    }
}

}  // namespace

std::string expand_references(std::string_view in, const std::map<std::string, std::string> &vars) {
    std::string out;
    walk(in, vars, [&](std::string_view s) { out += s; }, [&](const std::string &, const std::string &v) { out += v; });
    return out;
}

bool references_any(std::string_view in, const std::map<std::string, std::string> &vars,
                    const std::set<std::string> &names) {
    bool found = false;
    walk(in, vars, [](std::string_view) {}, [&](const std::string &n, const std::string &) { found = found || names.contains(n); });
    return found;
}

std::string expand_references_for_exec(std::string_view in, const std::map<std::string, std::string> &vars,
                                       const std::set<std::string> &deferred, bool &uses_deferred) {
    std::string out;
    auto escaped = [&](std::string_view s) {
        for (char c : s) out += c == '$' ? std::string("$$") : std::string(1, c);
    };
    walk(in, vars, escaped, [&](const std::string &name, const std::string &value) {
        if (deferred.contains(name)) {
            out += "${" + name + "}";
            uses_deferred = true;
        } else {
            escaped(value);
        }
    });
    return out;
}

}  // namespace systemk::pods
