#include <gtest/gtest.h>

#include "pods/container_status.h"

using namespace systemk;

namespace {

systemd::UnitState unit(const char *active, const char *sub, const char *result, int code, int status) {
    systemd::UnitState s;
    s.load_state = "loaded";
    s.active_state = active;
    s.sub_state = sub;
    s.result = result;
    s.exit_code = code;
    s.exit_status = status;
    s.started_usec = 1764111600000000ULL;  // 2025-11-25T23:00:00Z
    s.exited_usec = 1764111601000000ULL;
    return s;
}

}  // namespace

TEST(ContainerStatus, RunningAndFinishedFollowSystemdStates) {
    EXPECT_TRUE(pods::unit_running(unit("active", "running", "success", 0, 0)));
    EXPECT_TRUE(pods::unit_running(unit("activating", "start", "success", 0, 0)));
    // RemainAfterExit=yes: "active (exited)" is a container that finished.
    EXPECT_FALSE(pods::unit_running(unit("active", "exited", "success", 1, 0)));
    EXPECT_TRUE(pods::unit_finished(unit("active", "exited", "success", 1, 0)));
    EXPECT_TRUE(pods::unit_finished(unit("failed", "failed", "exit-code", 1, 3)));
    auto never = unit("inactive", "dead", "success", 0, 0);
    never.started_usec = 0;
    EXPECT_FALSE(pods::unit_finished(never));
}

TEST(ContainerStatus, TerminationReasons) {
    const auto ok = pods::termination_of(unit("active", "exited", "success", 1, 0));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->exit_code, 0);
    EXPECT_EQ(ok->reason, "Completed");
    EXPECT_EQ(ok->started_at, "2025-11-25T23:00:00Z");
    EXPECT_EQ(ok->finished_at, "2025-11-25T23:00:01Z");
    const auto three = pods::termination_of(unit("failed", "failed", "exit-code", 1, 3));
    EXPECT_EQ(three->exit_code, 3);
    EXPECT_EQ(three->reason, "Error");
    const auto killed = pods::termination_of(unit("failed", "failed", "signal", 2, 9));
    EXPECT_EQ(killed->exit_code, 137);
    EXPECT_EQ(killed->signal, 9);
    EXPECT_EQ(pods::termination_of(unit("failed", "failed", "oom-kill", 2, 9))->reason, "OOMKilled");
    EXPECT_FALSE(pods::termination_of(unit("active", "running", "success", 0, 0)));
}
