#include <gtest/gtest.h>

#include "units/unit_name.h"

using namespace systemk::units;

TEST(UnitName, DottedPodNamesStayReversible) {
    const auto name = make_unit_name("kube-system", "web.v2.example", "nginx");
    EXPECT_EQ(name, "systemk.kube-system.web.v2.example.nginx.service");
    const auto id = parse_unit_name(name);
    ASSERT_TRUE(id);
    EXPECT_EQ(id->namespace_, "kube-system");
    EXPECT_EQ(id->pod, "web.v2.example");
    EXPECT_EQ(id->container, "nginx");
    EXPECT_FALSE(id->pod_shortened);
}

TEST(UnitName, LongNamesFitSystemdLimitAndAreMarked) {
    const std::string pod = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                            std::string(61, 'd');
    const auto name = make_unit_name(std::string(63, 'n'), pod, std::string(63, 'x'));
    EXPECT_LE(name.size(), kMaxUnitNameLength);
    const auto id = parse_unit_name(name);
    ASSERT_TRUE(id);
    EXPECT_TRUE(id->pod_shortened);
    EXPECT_TRUE(pod.starts_with(id->pod));
    auto other = pod;
    other.back() = 'e';
    EXPECT_NE(make_unit_name(std::string(63, 'n'), other, std::string(63, 'x')), name);
}

TEST(UnitName, RejectsInvalidParts) {
    EXPECT_THROW(make_unit_name("Default", "p", "c"), std::invalid_argument);
    EXPECT_THROW(make_unit_name("ns", "p_q", "c"), std::invalid_argument);
    EXPECT_THROW(make_unit_name("ns", "p", "c.d"), std::invalid_argument);
    EXPECT_FALSE(parse_unit_name("nginx.service"));
    EXPECT_FALSE(parse_unit_name("systemk.onlyone.service"));
}
