#pragma once
// A container's crash back-off, the kubelet's rule: the first restart is immediate, then
// 10 s doubling up to 5 min; a run longer than 10 min resets it. Exits are counted once per
// systemd InvocationID (a new one per start), never by timestamps, so a restart is neither
// counted twice nor skipped.
#include <chrono>
#include <string>

namespace systemk::pods {

class CrashBackoff {
public:
    using clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kInitial{10};
    static constexpr std::chrono::seconds kMax{300};
    static constexpr std::chrono::seconds kReset{600};

    // An exit of run `invocation_id` that lasted `ran` was seen at `now`. Returns true the first
    // time this invocation is seen (then the restart is due at next_start()).
    bool observe_exit(const std::string &invocation_id, std::chrono::microseconds ran, clock::time_point now);
    clock::time_point next_start() const { return next_start_; }
    // The delay the next exit will wait (0 before the first restart).
    std::chrono::seconds current() const { return delay_; }
    // The wait that applies to the last observed exit (what CrashLoopBackOff reports).
    std::chrono::seconds last_wait() const { return last_wait_; }
    const std::string &last_invocation() const { return last_invocation_; }

private:
    std::string last_invocation_;
    std::chrono::seconds delay_{0};
    std::chrono::seconds last_wait_{0};
    clock::time_point next_start_{};
};

}  // namespace systemk::pods
