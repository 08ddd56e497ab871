// The floor for starting and stopping N services on this systemd: N transient units
// (Type=exec, /bin/sleep) started over sd-bus with every request in flight at once, timed until
// systemd reported every start job done (JobRemoved), then the same for stopping them.
// With UNIT_FILE, N copies of that unit file (the agent's own rendering of a pod, sandbox and
// all) are written to /run/systemd/system and started the same way: the floor for sandboxed pods.
// With MAX_IN_FLIGHT, at most that many start jobs are queued at once (the next is sent when one
// finishes): whether systemd builds sandboxes faster when they do not all contend at once.
//   sdbus_floor [N [UNIT_FILE|- [MAX_IN_FLIGHT]]]
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace {

int finished = 0;
std::string prefix;
// Starts not yet sent, for MAX_IN_FLIGHT: called once per finished job.
void (*start_next)() = nullptr;

int on_job_removed(sd_bus_message *m, void *, sd_bus_error *) {
    uint32_t id;
    const char *job, *unit, *result;
    if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) >= 0 && std::string(unit).rfind(prefix, 0) == 0) {
        ++finished;
        if (start_next) start_next();
    }
    return 0;
}

int on_reply(sd_bus_message *m, void *, sd_bus_error *) {
    if (const sd_bus_error *e = sd_bus_message_get_error(m)) {
        // No job, so no JobRemoved will count it: count it here and keep the chain going.
        std::fprintf(stderr, "error: %s\n", e->message);
        ++finished;
        if (start_next) start_next();
    }
    return 0;
}

void wait_for(sd_bus *bus, int n) {
    while (finished < n) {
        const int r = sd_bus_process(bus, nullptr);
        if (r < 0) {
            std::fprintf(stderr, "bus: %s\n", std::strerror(-r));
            std::exit(1);
        }
        if (r == 0) sd_bus_wait(bus, UINT64_MAX);
    }
}

void send_start(sd_bus *bus, int i, const std::string &unit_text) {
    const auto name = prefix + std::to_string(i) + ".service";
    if (!unit_text.empty()) {  // a new file loads on first reference: no daemon-reload
        sd_bus_call_method_async(bus, nullptr, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                 "org.freedesktop.systemd1.Manager", "StartUnit", on_reply, nullptr, "ss",
                                 name.c_str(), "replace");
        return;
    }
    sd_bus_message *req = nullptr;
    sd_bus_message_new_method_call(bus, &req, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                   "org.freedesktop.systemd1.Manager", "StartTransientUnit");
    sd_bus_message_append(req, "ss", name.c_str(), "fail");
    sd_bus_message_open_container(req, 'a', "(sv)");
    sd_bus_message_append(req, "(sv)", "Type", "s", "exec");
    sd_bus_message_open_container(req, 'r', "sv");
    sd_bus_message_append(req, "s", "ExecStart");
    sd_bus_message_open_container(req, 'v', "a(sasb)");
    sd_bus_message_append(req, "a(sasb)", 1, "/bin/sleep", 2, "/bin/sleep", "1000", false);
    sd_bus_message_close_container(req);
    sd_bus_message_close_container(req);
    sd_bus_message_close_container(req);
    sd_bus_message_append(req, "a(sa(sv))", 0);
    sd_bus_call_async(bus, nullptr, req, on_reply, nullptr, 0);
    sd_bus_message_unref(req);
}

sd_bus *g_bus = nullptr;
std::string g_unit_text;
int g_next = 0, g_n = 0;
void send_next_start() {
    if (g_next < g_n) send_start(g_bus, g_next++, g_unit_text);
}

double ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char **argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 100;
    prefix = "bench-floor-" + std::to_string(getpid()) + "-";
    sd_bus *bus = nullptr;
    // The private socket, as the agent uses it when it runs as root.
    if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, "unix:path=/run/systemd/private") < 0 || sd_bus_start(bus) < 0) {
        sd_bus_unref(bus);
        if (sd_bus_open_system(&bus) < 0) return std::fprintf(stderr, "no bus\n"), 1;
    }
    sd_bus_error err = SD_BUS_ERROR_NULL;
    sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                       "Subscribe", &err, nullptr, "");
    sd_bus_match_signal(bus, nullptr, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                        "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed, nullptr);
    std::string unit_text;
    if (argc > 2 && std::string(argv[2]) != "-") {
        std::ifstream in(argv[2]);
        std::ostringstream text;
        text << in.rdbuf();
        unit_text = text.str();
        if (unit_text.empty()) return std::fprintf(stderr, "cannot read %s\n", argv[2]), 1;
        for (int i = 0; i < n; ++i) std::ofstream("/run/systemd/system/" + prefix + std::to_string(i) + ".service") << unit_text;
    }
    const int max_in_flight = argc > 3 ? std::max(1, std::atoi(argv[3])) : n;
    g_bus = bus, g_unit_text = unit_text, g_n = n;
    const auto t0 = std::chrono::steady_clock::now();
    while (g_next < std::min(n, max_in_flight)) send_next_start();
    if (max_in_flight < n) start_next = send_next_start;
    wait_for(bus, n);
    const double start_ms = ms_since(t0);
    finished = 0;
    start_next = nullptr;
    const auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
        const auto name = prefix + std::to_string(i) + ".service";
        sd_bus_call_method_async(bus, nullptr, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                 "org.freedesktop.systemd1.Manager", "StopUnit", on_reply, nullptr, "ss", name.c_str(),
                                 "replace");
    }
    wait_for(bus, n);
    const double stop_ms = ms_since(t1);
    for (int i = 0; i < n && !unit_text.empty(); ++i)
        std::remove(("/run/systemd/system/" + prefix + std::to_string(i) + ".service").c_str());
    std::printf("%s: %d units started in %.0f ms (%d in flight), stopped in %.0f ms\n",
                unit_text.empty() ? "sd-bus floor" : "sd-bus floor, the pod's sandboxed unit", n, start_ms,
                std::min(n, max_in_flight), stop_ms);
    sd_bus_error_free(&err);
    sd_bus_flush_close_unref(bus);
    return 0;
}
