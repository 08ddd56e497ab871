// Plain YAML scalars become JSON numbers by a one-pass check (no std::regex, which recursed per
// character and overflowed the stack on a long scalar).
#include <gtest/gtest.h>

#include <string>

#include "pods/yaml_to_json.h"

using systemk::pods::parse_manifests;

namespace {

boost::json::value scalar(const std::string &text) { return parse_manifests("v: " + text).at(0).at("v"); }

}  // namespace

TEST(YamlToJson, PlainScalarsKeepTheirTypes) {
    EXPECT_EQ(scalar("42"), boost::json::value(42));
    EXPECT_EQ(scalar("-7"), boost::json::value(-7));
    EXPECT_EQ(scalar("+7"), boost::json::value(7));
    EXPECT_EQ(scalar("1.5"), boost::json::value(1.5));
    EXPECT_EQ(scalar(".5"), boost::json::value(0.5));
    EXPECT_EQ(scalar("2."), boost::json::value(2.0));
    EXPECT_EQ(scalar("1e3"), boost::json::value(1000.0));
    EXPECT_EQ(scalar("-1.5E-1"), boost::json::value(-0.15));
    for (const char *text : {"1e", ".", "+", "1.2.3", "1e+", "0x10", "12a", "e5", "\"42\""})
        EXPECT_TRUE(scalar(text).is_string()) << text;
    EXPECT_EQ(scalar("99999999999999999999"), boost::json::value("99999999999999999999"));
    EXPECT_EQ(scalar("1e999"), boost::json::value("1e999"));
}

TEST(YamlToJson, LongScalarsDoNotCrash) {
    const std::string digits(200000, '7');
    EXPECT_EQ(scalar(digits), boost::json::value(digits));
    EXPECT_TRUE(scalar("1." + digits).is_double());
    EXPECT_EQ(scalar(std::string(200000, 'a')), boost::json::value(std::string(200000, 'a')));
}
