#include "util/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <stdexcept>

namespace systemk::util {

void setup_logging(const std::string &level) {
    const auto lvl = spdlog::level::from_str(level);
    if (lvl == spdlog::level::off && level != "off") throw std::invalid_argument("unknown log level '" + level + "'");
    std::shared_ptr<spdlog::logger> logger;
    if (std::getenv("JOURNAL_STREAM")) {
        logger = std::make_shared<spdlog::logger>("systemk", std::make_shared<spdlog::sinks::systemd_sink_mt>("systemk"));
        logger->set_pattern("%v");
    } else {
        logger = std::make_shared<spdlog::logger>("systemk", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    }
    logger->set_level(lvl);
    spdlog::set_default_logger(logger);
}

}  // namespace systemk::util
