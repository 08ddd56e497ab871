#include "pods/backoff.h"

#include <algorithm>

namespace systemk::pods {

bool CrashBackoff::observe_exit(const std::string &invocation_id, std::chrono::microseconds ran, clock::time_point now) {
    if (invocation_id == last_invocation_) return false;
    last_invocation_ = invocation_id;
    if (ran > kReset) delay_ = std::chrono::seconds{0};
    last_wait_ = delay_;
    next_start_ = now + delay_;
    delay_ = delay_ == std::chrono::seconds{0} ? kInitial : std::min<std::chrono::seconds>(delay_ * 2, kMax);
    return true;
}

}  // namespace systemk::pods
