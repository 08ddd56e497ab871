#pragma once
// RPM packages through librpm: the rpmdb under a root, package headers, and transactions
// that install a package file with no scriptlet or trigger run (RPMTRANS_FLAG_NOSCRIPTS,
// RPMTRANS_FLAG_NOTRIGGERS): the package's daemon never starts outside Kubernetes.
#include <memory>
#include <string>

#include "../pkg-native/native_resolver.h"

namespace pkg_rpm {

// The rpmdb directory inside the root: rpm's own default on RPM distributions (Debian's rpm
// points its %_dbpath at the user's home, which no RPM distribution uses).
constexpr char kDefaultDbPath[] = "/var/lib/rpm";

std::unique_ptr<pkg_native::PackageLibrary> make_rpm_library(const std::string &root, const std::string &dbpath,
                                                             const systemk_host *host);

// Whether root/dbpath holds an rpmdb (sqlite, ndb or Berkeley DB): cheap, for claim().
bool has_rpmdb(const std::string &root, const std::string &dbpath);

}  // namespace pkg_rpm
