// libFuzzer target: arbitrary bytes become argv words and an environment value; the written
// unit must parse back to the same model and the same decoded values (parse(write(x)) == x),
// and never grow a section or a directive.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "units/systemd_quoting.h"
#include "units/unit_file.h"

using namespace systemk::units;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string input(reinterpret_cast<const char *>(data), size);
    if (input.find('\0') != std::string::npos) {
        // No systemd value can carry NUL: the writer must refuse, never truncate.
        try {
            quote_word(input, true, true);
        } catch (const QuotingError &) {
            return 0;
        }
        std::abort();
    }
    std::vector<ExecWord> argv{{"/bin/echo", WordOrigin::PodSpec}};
    size_t start = 0;
    while (start <= input.size() && argv.size() < 16) {
        const auto sep = input.find('\x01', start);
        argv.push_back({input.substr(start, sep == std::string::npos ? std::string::npos : sep - start), WordOrigin::PodSpec});
        if (sep == std::string::npos) break;
        start = sep + 1;
    }
    UnitFile unit;
    auto &service = unit.section("Service");
    try {
        service.add("ExecStart", quote_exec(argv));
    } catch (const QuotingError &) {
        return 0;  // refused (NUL byte): fine, refusing is allowed, misquoting is not
    }
    bool has_env = false;
    try {
        service.add("Environment", quote_environment("FUZZ", input));
        has_env = true;
    } catch (const QuotingError &) {
    }
    unit.section("X-Kubernetes").add("Value", quote_word(input, false, false));

    const auto reparsed = parse_unit(write_unit(unit));
    if (!(reparsed == unit)) std::abort();
    if (reparsed.sections.size() != 2 || reparsed.sections[0].items.size() != (has_env ? 2u : 1u)) std::abort();
    const auto words = split_words(*reparsed.sections[0].last("ExecStart"));
    if (words.size() != argv.size()) std::abort();
    for (size_t i = 0; i < words.size(); ++i)
        if (unescape_dollars(unescape_specifiers(words[i])) != argv[i].text) std::abort();
    if (has_env && unescape_specifiers(split_words(*reparsed.sections[0].last("Environment")).at(0)) != "FUZZ=" + input)
        std::abort();
    if (split_words(*reparsed.sections[1].last("Value")).at(0) != input) std::abort();
    return 0;
}
