#include <gtest/gtest.h>

#include "units/systemd_quoting.h"

using namespace systemk::units;

namespace {

// Reads an ExecStart value back as systemd would hand argv to the process.
std::vector<std::string> exec_argv(const std::string &raw) {
    std::vector<std::string> out;
    for (const auto &w : split_words(raw)) out.push_back(unescape_dollars(unescape_specifiers(w)));
    return out;
}

}  // namespace

TEST(Quoting, WordRoundTripsHostileText) {
    const std::vector<std::string> samples = {
        "plain", "", "with space", "  leading and trailing  ", "quote\"s and 'single'", "back\\slash\\",
        "new\nline", "x\n[Service]\nExecStartPre=/bin/false", "100% of $HOME", "%n%i%%", "$$(VAR) ${X}",
        "tab\tcr\rbell\a", "utf-8: \xc3\xa9\xe2\x82\xac", "invalid utf-8: \xff\xfe", ";", "\\;", "end\\"};
    for (const auto &s : samples) {
        const auto raw = quote_exec({{"/bin/echo", WordOrigin::PodSpec}, {s, WordOrigin::PodSpec}});
        EXPECT_EQ(raw.find('\n'), std::string::npos) << s;
        const auto argv = exec_argv(raw);
        ASSERT_EQ(argv.size(), 2u) << raw;
        EXPECT_EQ(argv[1], s) << raw;
    }
}

TEST(Quoting, EnvironmentValueKeepsDollarAndEscapesPercent) {
    const auto raw = quote_environment("GREETING", "100% of $HOME");
    EXPECT_EQ(raw, "\"GREETING=100%% of $HOME\"");
    const auto words = split_words(raw);
    ASSERT_EQ(words.size(), 1u);
    EXPECT_EQ(unescape_specifiers(words[0]), "GREETING=100% of $HOME");
}

TEST(Quoting, EnvironmentNewlineCannotAddADirective) {
    const auto raw = quote_environment("X", "x\n[Service]\nExecStartPre=/bin/false");
    EXPECT_EQ(raw.find('\n'), std::string::npos);
    EXPECT_EQ(unescape_specifiers(split_words(raw).at(0)), "X=x\n[Service]\nExecStartPre=/bin/false");
}

TEST(Quoting, RefusesWhatSystemdCannotCarry) {
    EXPECT_THROW(quote_environment("my.var", "x"), QuotingError);
    EXPECT_THROW(quote_environment("1X", "x"), QuotingError);
    EXPECT_THROW(quote_environment("X", std::string("a\0b", 3)), QuotingError);
    EXPECT_THROW(quote_environment("X", "\xff"), QuotingError);
    EXPECT_THROW(quote_exec({{"-/bin/false", WordOrigin::PodSpec}}), QuotingError);
    EXPECT_THROW(quote_exec({{"bin/false", WordOrigin::PodSpec}}), QuotingError);
    EXPECT_THROW(quote_exec({}), QuotingError);
    EXPECT_THROW(escape_path_in_list("relative"), QuotingError);
    EXPECT_THROW(escape_path_in_list("/a\nb"), QuotingError);
}

TEST(Quoting, PackageWordsKeepTheirSpecifiersAndVariables) {
    const auto raw = quote_exec({{"/usr/sbin/daemon", WordOrigin::Package}, {"$OPTS", WordOrigin::Package},
                                 {"%i", WordOrigin::Package}, {"$literal", WordOrigin::PodSpec}});
    EXPECT_EQ(raw, "\"/usr/sbin/daemon\" \"$OPTS\" \"%i\" \"$$literal\"");
}

TEST(Quoting, PathListEscapesSeparators) {
    EXPECT_EQ(escape_path_in_list("/a b:c%d"), "/a\\ b\\:c%%d");
}

TEST(Quoting, SplitWordsFollowsSystemdRules) {
    EXPECT_EQ(split_words(R"(a "b c" 'd e' f\ g "h\x41")"),
              (std::vector<std::string>{"a", "b c", "d e", "f g", "hA"}));
    EXPECT_THROW(split_words("\"open"), QuotingError);
}
