#include "plugins/host_services.h"

#include <spdlog/spdlog.h>

#include "plugins/https_fetch.h"

namespace systemk::plugins {
namespace {

void host_log(void *ctx, systemk_log_level level, const char *message) {
    const auto *host = static_cast<const PluginHost *>(ctx);
    const char *text = message ? message : "";
    switch (level) {
        case SYSTEMK_LOG_DEBUG: spdlog::debug("plugin={} {}", host->plugin_name(), text); break;
        case SYSTEMK_LOG_INFO: spdlog::info("plugin={} {}", host->plugin_name(), text); break;
        case SYSTEMK_LOG_WARN: spdlog::warn("plugin={} {}", host->plugin_name(), text); break;
        default: spdlog::error("plugin={} {}", host->plugin_name(), text); break;
    }
}

int host_config_get(void *ctx, const char *key, systemk_output *value) {
    const auto *host = static_cast<const PluginHost *>(ctx);
    if (!key) return 0;
    const auto it = host->config().find(host->plugin_name() + "." + key);
    if (it == host->config().end()) return 0;
    if (value && value->write) value->write(value->ctx, it->second.data(), it->second.size());
    return 1;
}

systemk_status host_fetch(void *ctx, const char *url, const char *dest_path, systemk_output *error) {
    const auto *host = static_cast<const PluginHost *>(ctx);
    if (!url || !dest_path) {
        systemk_output_puts(error, "fetch needs a URL and a destination path");
        return SYSTEMK_ERR_INVALID;
    }
    FetchOptions options;
    if (const auto it = host->config().find("systemk.fetch-ca-file"); it != host->config().end()) options.ca_file = it->second;
    try {
        https_fetch(url, dest_path, options);
        spdlog::info("plugin={} fetched {}", host->plugin_name(), url);
        return SYSTEMK_OK;
    } catch (const std::exception &e) {
        const std::string message = std::string("fetching ") + url + " failed: " + e.what();
        spdlog::warn("plugin={} {}", host->plugin_name(), message);
        systemk_output_puts(error, message.c_str());
        return SYSTEMK_ERR_TRANSIENT;
    }
}

}  // namespace

void OutputBuffer::append(void *ctx, const char *data, size_t len) {
    if (data && len) static_cast<OutputBuffer *>(ctx)->text.append(data, len);
}

PluginHost::PluginHost(std::string file_label, const PluginConfig &config, uint16_t abi_major, uint16_t abi_minor)
    : name_(std::move(file_label)), config_(config) {
    table_.struct_size = sizeof(systemk_host);
    table_.abi_major = abi_major;
    table_.abi_minor = abi_minor;
    table_.ctx = this;
    table_.log = &host_log;
    table_.config_get = &host_config_get;
    table_.fetch = &host_fetch;
}

}  // namespace systemk::plugins
