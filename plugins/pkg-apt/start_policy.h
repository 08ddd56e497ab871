#pragma once
// Maintainer scripts start a package's daemon through deb-systemd-invoke or invoke-rc.d, and
// both ask /usr/sbin/policy-rc.d first: exit status 101 means "action forbidden". While systemk
// installs a package that policy is in place, so the daemon only ever runs as a pod.
#include <string>

namespace pkg_apt {

class StartsForbidden {
public:
    // Puts a policy-rc.d that forbids every action under `root` (normally "/"); an existing one
    // is moved aside and put back by the destructor. Throws std::runtime_error on failure.
    explicit StartsForbidden(const std::string &root);
    ~StartsForbidden();
    StartsForbidden(const StartsForbidden &) = delete;
    StartsForbidden &operator=(const StartsForbidden &) = delete;

    // After a crash between the constructor and the destructor: put the admin's file back.
    static void recover(const std::string &root);

private:
    std::string path_, saved_;
    bool had_own_ = false;
};

}  // namespace pkg_apt
