#include <gtest/gtest.h>

#include "units/unit_file.h"

using namespace systemk::units;

TEST(UnitFile, ParsesSectionsRepeatedKeysContinuationsAndComments) {
    const auto unit = parse_unit(
        "# header\n"
        "[Unit]\n"
        "Description = a test  \n"
        "; a comment\n"
        "\n"
        "[Service]\n"
        "ExecStart=/bin/echo one \\\n"
        "# dropped inside a continuation\n"
        "  two\n"
        "Environment=A=1\n"
        "Environment=B=2\n");
    ASSERT_EQ(unit.header_comments.size(), 1u);
    const auto *u = unit.find("Unit");
    ASSERT_NE(u, nullptr);
    EXPECT_EQ(u->last("Description"), "a test");
    EXPECT_EQ(u->items.at(1).value, "; a comment");
    const auto *s = unit.find("Service");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->last("ExecStart"), "/bin/echo one  two");
    EXPECT_EQ(s->values("Environment"), (std::vector<std::string>{"A=1", "B=2"}));
}

TEST(UnitFile, WriteThenParseIsIdentity) {
    UnitFile unit;
    unit.header_comments.push_back("# generated");
    auto &s = unit.section("Service");
    s.add("ExecStart", "\"/bin/sh\" \"-c\" \"echo hi\"");
    s.comment("why this is here");
    s.add("Environment", "\"A=1\"");
    s.add("Environment", "\"B=2\"");
    unit.section("X-Kubernetes").add("PodName", "\"a.b\"");
    EXPECT_EQ(parse_unit(write_unit(unit)), unit);
}

TEST(UnitFile, WriterRefusesStructureChangingValues) {
    for (const std::string bad : {"a\nb", "a\rb", "ends\\", " leading", "trailing "}) {
        UnitFile unit;
        unit.section("Service").add("Description", bad);
        EXPECT_THROW(write_unit(unit), std::invalid_argument) << bad;
    }
    UnitFile bad_key;
    bad_key.section("Service").add("Exec Start", "x");
    EXPECT_THROW(write_unit(bad_key), std::invalid_argument);
    UnitFile bad_section;
    bad_section.section("Ser]vice").add("A", "b");
    EXPECT_THROW(write_unit(bad_section), std::invalid_argument);
}

TEST(UnitFile, ParserReportsLineNumbers) {
    try {
        parse_unit("[Unit]\nno equals sign\n");
        FAIL();
    } catch (const UnitParseError &e) {
        EXPECT_EQ(e.line(), 2u);
    }
    EXPECT_THROW(parse_unit("Key=outside\n"), UnitParseError);
}
