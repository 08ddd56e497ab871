#include "systemd/systemd_manager.h"

#include <systemd/sd-bus.h>

#include <cstdlib>

namespace systemk::systemd {

std::optional<std::string> manager_version() {
    sd_bus *bus = nullptr;
    if (sd_bus_open_system(&bus) < 0) return std::nullopt;
    char *version = nullptr;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    const int r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                             "org.freedesktop.systemd1.Manager", "Version", &error, &version);
    sd_bus_error_free(&error);
    sd_bus_flush_close_unref(bus);
    if (r < 0 || !version) return std::nullopt;
    std::string out(version);
    std::free(version);
    return out;
}

}  // namespace systemk::systemd
