#pragma once
// Fakes for the pod engine's seams: an API server that records requests, and a systemd that
// keeps unit states in a map and changes them the way systemd would for each job.
#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pods/pod_api.h"
#include "systemd/unit_control.h"

namespace systemk::testing {

namespace asio = boost::asio;

struct RecordedRequest {
    kube::http::verb verb;
    std::string target, body, content_type;
};

class FakeApi final : public pods::PodApi {
public:
    std::vector<RecordedRequest> requests;
    // Answers a request; the default says 200 and names created Events.
    std::function<kube::ApiResponse(const RecordedRequest &)> answer = [this](const RecordedRequest &r) {
        kube::ApiResponse res;
        res.status = 200;
        res.body = r.verb == kube::http::verb::post ? R"({"metadata":{"name":"ev)" + std::to_string(++created) + R"("}})" : "{}";
        return res;
    };
    int created = 0;
    asio::awaitable<kube::ApiResponse> request(kube::http::verb verb, std::string target, std::string body,
                                               std::string content_type) override {
        requests.push_back({verb, target, body, content_type});
        co_return answer(requests.back());
    }
    std::vector<RecordedRequest> matching(kube::http::verb verb, const std::string &part) const {
        std::vector<RecordedRequest> out;
        for (const auto &r : requests)
            if (r.verb == verb && r.target.find(part) != std::string::npos) out.push_back(r);
        return out;
    }
};

class FakeUnits final : public systemd::UnitControl {
public:
    std::map<std::string, std::string> files;
    std::map<std::string, systemd::UnitState> states;
    std::vector<std::string> calls;  // "start X", "stop X", "kill X 9", "reload", ...
    std::map<std::string, systemd::JobOutcome> start_refusals;  // unit -> what StartUnit answers
    std::map<std::string, int> exits_at_start;  // unit -> exit status, already exited when start returns
    bool reads_fail = false;
    bool stop_hangs = false;  // a stop leaves the unit deactivating until it is killed
    int invocations = 0;
    uint64_t clock_usec = 1764111600000000ULL;

    std::vector<std::string> unit_files(const std::string &prefix) const override {
        std::vector<std::string> out;
        for (const auto &[name, text] : files)
            if (name.rfind(prefix, 0) == 0) out.push_back(name);
        return out;
    }
    std::optional<std::string> read_unit_file(const std::string &name) const override {
        const auto it = files.find(name);
        return it == files.end() ? std::nullopt : std::optional<std::string>(it->second);
    }
    void write_unit_file(const std::string &name, const std::string &content) override {
        files[name] = content;
        calls.push_back("write " + name);
        if (auto it = states.find(name); it != states.end() && it->second.load_state == "loaded")
            it->second.need_daemon_reload = true;
    }
    void remove_unit_file(const std::string &name) override {
        files.erase(name);
        calls.push_back("remove " + name);
    }
    asio::awaitable<systemd::UnitState> state(const std::string &name) override {
        systemd::UnitState s;
        if (reads_fail) {
            s.name = name;
            s.read_ok = false;
            co_return s;
        }
        co_return current(name);
    }
    asio::awaitable<systemd::JobOutcome> start(const std::string &name) override { co_return run(name, "start"); }
    asio::awaitable<systemd::JobOutcome> restart(const std::string &name) override { co_return run(name, "restart"); }
    asio::awaitable<systemd::JobOutcome> stop(const std::string &name) override {
        calls.push_back("stop " + name);
        auto &s = states[name];
        if (s.active_state == "active" || s.active_state == "activating") {
            if (stop_hangs) {
                s.active_state = "deactivating";
                s.sub_state = "stop-sigterm";
            } else {
                finish(s, 2, 15, "success");
                s.active_state = "inactive";
                s.sub_state = "dead";
            }
        }
        notify(name);
        co_return systemd::JobOutcome{};
    }
    asio::awaitable<systemd::JobOutcome> kill(const std::string &name, int signal) override {
        calls.push_back("kill " + name + " " + std::to_string(signal));
        auto &s = states[name];
        if (s.main_pid != 0 && signal == 9) {
            finish(s, 2, 9, "signal");
            s.active_state = "failed";
            s.sub_state = "failed";
        }
        notify(name);
        co_return systemd::JobOutcome{};
    }
    asio::awaitable<void> reset_failed(const std::string &name) override {
        calls.push_back("reset-failed " + name);
        co_return;
    }
    asio::awaitable<systemd::JobOutcome> reload() override {
        calls.push_back("reload");
        for (auto &[name, s] : states) s.need_daemon_reload = false;
        co_return systemd::JobOutcome{};
    }
    bool usable() const override { return true; }
    void on_change(std::function<void(const std::string &)> callback) override { change = std::move(callback); }
    std::function<void(const std::string &)> change;  // systemd's signals; exit_main sends none
    void notify(const std::string &name) {
        if (change) change(name);
    }
    void on_resync(std::function<void()> callback) override { resync = std::move(callback); }
    std::function<void()> resync;

    // Test helpers: what a process would do.
    void exit_main(const std::string &name, int status) {
        auto &s = states[name];
        finish(s, 1, status, status == 0 ? "success" : "exit-code");
        s.active_state = status == 0 ? "active" : "failed";  // RemainAfterExit=yes
        s.sub_state = status == 0 ? "exited" : "failed";
    }
    int count(const std::string &prefix) const {
        int n = 0;
        for (const auto &c : calls) n += c.rfind(prefix, 0) == 0;
        return n;
    }
    systemd::UnitState current(const std::string &name) {
        auto it = states.find(name);
        if (it != states.end()) return it->second;
        systemd::UnitState s;
        s.name = name;
        s.load_state = files.count(name) ? "loaded" : "not-found";
        s.active_state = "inactive";
        s.sub_state = "dead";
        return s;
    }

private:
    void finish(systemd::UnitState &s, int code, int status, const char *result) {
        s.exit_code = code;
        s.exit_status = status;
        s.result = result;
        s.main_pid = 0;
        s.exited_usec = (clock_usec += 1000000);
    }
    systemd::JobOutcome run(const std::string &name, const char *verb) {
        calls.push_back(std::string(verb) + " " + name);
        if (auto it = start_refusals.find(name); it != start_refusals.end()) return it->second;
        if (!files.count(name)) return systemd::JobOutcome{false, "org.freedesktop.systemd1.NoSuchUnit", "Unit " + name + " not found."};
        auto s = current(name);
        s.load_state = "loaded";
        s.active_state = "active";
        s.sub_state = "running";
        s.result = "success";
        s.main_pid = 4242;
        s.started_usec = (clock_usec += 1000000);
        s.exited_usec = 0;
        s.exit_code = 0;
        s.exit_status = 0;
        s.invocation_id = "inv" + std::to_string(++invocations);
        states[name] = s;
        // A process that is done before anyone looks (an init container, a quick command).
        if (auto it = exits_at_start.find(name); it != exits_at_start.end()) exit_main(name, it->second);
        notify(name);
        return {};
    }
};

// Runs the io_context until `done` holds or the io_context has had `rounds` short turns.
inline bool pump(asio::io_context &io, const std::function<bool()> &done, int rounds = 200) {
    for (int i = 0; i < rounds; ++i) {
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
        if (done()) return true;
    }
    return done();
}

}  // namespace systemk::testing
