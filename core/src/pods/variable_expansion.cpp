#include "pods/variable_expansion.h"

namespace systemk::pods {

std::string expand_references(std::string_view in, const std::map<std::string, std::string> &vars) {
    std::string out;
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '$' || i + 1 >= in.size()) {
            out += in[i];
            continue;
        }
        const char next = in[i + 1];
        if (next == '$') {
            out += '$';
            ++i;
            continue;
        }
        if (next == '(') {
            const auto close = in.find(')', i + 2);
            if (close != std::string_view::npos) {
                const std::string name(in.substr(i + 2, close - i - 2));
                const auto it = vars.find(name);
                if (it != vars.end()) out += it->second;
                else out += in.substr(i, close - i + 1);
                i = close;
                continue;
            }
        }
        out += '$';
    }
    return out;
}

}  // namespace systemk::pods
