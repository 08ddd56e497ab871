#pragma once
// Downloads an https:// URL into a file for plugins (the host's fetch service): TLS with
// certificate and host-name verification, redirects followed (https only), a deadline.
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace systemk::plugins {

class FetchError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct FetchOptions {
    std::string ca_file;  // empty: the system's trust store
    std::chrono::seconds timeout{600};
    int max_redirects = 5;
};

// Writes the body to `dest` (atomically: a temporary file renamed into place).
void https_fetch(const std::string &url, const std::filesystem::path &dest, const FetchOptions &options);

}  // namespace systemk::plugins
