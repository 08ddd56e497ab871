#pragma once
// What every package plugin needs around the C ABI: its settings from the host, image text fit
// for an error message, and entry points that never let an exception unwind into the host.
// Header-only, so each plugin compiles it in (plugins see nothing of systemk but plugin.h).
#include <exception>
#include <string>
#include <string_view>

#include "systemk/plugin.h"

namespace pkg_native {

// The host's setting `key` for this plugin, or `fallback` when it has none.
inline std::string config(const systemk_host *host, const char *key, const std::string &fallback) {
    std::string value;
    systemk_output out{sizeof(systemk_output), &value,
                       [](void *ctx, const char *d, size_t n) { static_cast<std::string *>(ctx)->append(d, n); }};
    if (host && host->config_get && host->config_get(host->ctx, key, &out)) return value;
    return fallback;
}

inline void log(const systemk_host *host, systemk_log_level level, const std::string &message) {
    if (host && host->log) host->log(host->ctx, level, message.c_str());
}

// An image as it may appear in an error: control characters replaced, at most 200 bytes.
inline std::string printable(std::string_view image) {
    constexpr size_t kShown = 200;
    std::string out;
    for (char c : image.substr(0, kShown)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    if (image.size() > kShown) out += "...";
    return out;
}

// Runs `body` (returning a systemk_status); an exception becomes SYSTEMK_ERR_INTERNAL with its
// message in `error`.
template <class Body>
systemk_status guarded(systemk_output *error, Body &&body) noexcept {
    try {
        return body();
    } catch (const std::exception &e) {
        systemk_output_puts(error, e.what());
    } catch (...) {
        systemk_output_puts(error, "unexpected failure");
    }
    return SYSTEMK_ERR_INTERNAL;
}

}  // namespace pkg_native
