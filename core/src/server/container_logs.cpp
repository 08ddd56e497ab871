#include "server/container_logs.h"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <chrono>

#include "server/container_journal.h"
#include "units/unit_name.h"

namespace systemk::server {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
// Bytes per chunk: large enough that 100 000 short lines go out in a few dozen writes.
constexpr size_t kChunkBytes = 64 * 1024;
constexpr auto kWriteTimeout = 60s;
// journald tells about new entries through an inotify descriptor; a rotated file is noticed by
// looking again after this even without a wake-up.
constexpr auto kFollowRecheck = 2s;
// How long journald gets for the last lines of a process that ended.
constexpr auto kFinalLines = 500ms;

int64_t now_usec() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool pod_has_container(const json::object &pod, const std::string &name) {
    const auto *spec = pod.if_contains("spec");
    if (!spec || !spec->is_object()) return false;
    for (const char *list : {"containers", "initContainers"}) {
        const auto *items = spec->as_object().if_contains(list);
        if (!items || !items->is_array()) continue;
        for (const auto &c : items->as_array())
            if (c.is_object())
                if (const auto *n = c.as_object().if_contains("name"); n && n->is_string() && n->as_string() == name) return true;
    }
    return false;
}

std::string pod_uid(const json::object &pod) {
    const auto *meta = pod.if_contains("metadata");
    if (!meta || !meta->is_object()) return {};
    const auto *uid = meta->as_object().if_contains("uid");
    return uid && uid->is_string() ? std::string(uid->as_string()) : std::string();
}

asio::awaitable<void> write_chunk(TlsStream &stream, const std::string &data) {
    stream.next_layer().expires_after(kWriteTimeout);
    const auto chunk = http::make_chunk(asio::buffer(data));
    co_await asio::async_write(stream, chunk, asio::use_awaitable);
}

// Whether the followed run of the unit still runs (or systemd cannot tell: keep following).
asio::awaitable<bool> still_running(const NodeView &node, const std::string &unit, const std::string &invocation) {
    const auto run = co_await node.current_run(unit);
    co_return !run || (run->invocation_id == invocation && run->running);
}

// Sends what the journal holds now. With follow, then waits for more until the run's process
// has ended (as the kubelet ends a follow when the container exits) and its last lines are out.
asio::awaitable<void> pump(TlsStream &stream, ContainerJournal &journal, LogFormatter &formatter, const NodeView *follow,
                           const std::string &unit, const std::string &invocation) {
    const auto executor = co_await asio::this_coro::executor;
    std::optional<asio::posix::stream_descriptor> watch;
    struct Release {  // the descriptor belongs to sd-journal
        std::optional<asio::posix::stream_descriptor> &w;
        ~Release() {
            if (w) w->release();
        }
    } release{watch};
    if (follow) watch.emplace(executor, journal.wait_fd());
    asio::steady_timer recheck(executor);
    bool ended = false;
    auto checked = std::chrono::steady_clock::time_point{};
    for (;;) {
        std::string out;
        const bool more = journal.read(formatter, out, kChunkBytes);
        if (!out.empty()) co_await write_chunk(stream, out);
        if (formatter.exhausted()) co_return;
        if (more) continue;
        if (!follow || ended) co_return;
        // journald may still hold the last lines of a process that just ended: one more round
        // after the end was seen.
        // (Asked at most every kFollowRecheck: a chatty container wakes us up far more often.)
        if (std::chrono::steady_clock::now() - checked >= kFollowRecheck) {
            checked = std::chrono::steady_clock::now();
            ended = !co_await still_running(*follow, unit, invocation);
        }
        using namespace asio::experimental::awaitable_operators;
        stream.next_layer().expires_never();
        if (ended) {
            // The whole grace period: other units' lines wake the journal descriptor too.
            recheck.expires_after(kFinalLines);
            co_await recheck.async_wait(asio::use_awaitable);
        } else {
            recheck.expires_after(kFollowRecheck);
            auto changed_or_time = watch->async_wait(asio::posix::stream_descriptor::wait_read, asio::use_awaitable) ||
                                   recheck.async_wait(asio::use_awaitable);
            co_await std::move(changed_or_time);
        }
        journal.changed();
    }
}

// Completes when the client closes the connection (a follower going away).
asio::awaitable<void> client_gone(TlsStream &stream) {
    char byte;
    for (;;) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(&byte, 1), asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
    }
}

// What a request for logs resolves to before any waiting: the pod's UID and unit, or the
// answer that ends it.
struct Target {
    std::optional<Reply> refusal;
    LogOptions options;
    std::string uid, unit;
};

Target resolve(const NodeView &node, const std::string &ns, const std::string &pod_name, const std::string &container,
               const std::map<std::string, std::string> &query) {
    Target t;
    try {
        t.options = parse_log_options(query, now_usec());
    } catch (const BadRequest &e) {
        t.refusal = Reply{http::status::bad_request, std::string(e.what()) + "\n"};
        return t;
    }
    const auto pod = node.pod(ns + "/" + pod_name);
    if (!pod) {
        t.refusal = Reply{http::status::not_found, "pod \"" + ns + "/" + pod_name + "\" not found\n"};
        return t;
    }
    t.uid = pod_uid(*pod);
    try {
        if (!t.uid.empty() && pod_has_container(*pod, container)) t.unit = units::make_unit_name(ns, pod_name, container);
    } catch (const std::invalid_argument &) {
    }
    if (t.unit.empty())
        t.refusal = Reply{http::status::not_found, "container \"" + container + "\" not found in pod \"" + ns + "/" + pod_name + "\"\n"};
    return t;
}

// The entries of the run asked for: the current one, or with `previous` the one before it;
// nullopt when there was none before. Runs are told apart by the unit's run windows where the
// journal still has PID 1's messages about them, else by invocation ID alone.
std::optional<ContainerMatch> run_match(const Target &t, const std::string &container, const std::string &current) {
    const auto runs = ContainerJournal::unit_runs(t.unit, 3);
    size_t at = runs.size();
    for (size_t i = 0; i < runs.size(); ++i)
        if (runs[i].invocation_id == current && runs[i].complete) at = i;
    if (!t.options.previous) {
        if (at == runs.size()) return ContainerMatch{t.unit, t.uid, container, current, {}, {}};
        return ContainerMatch{t.unit, t.uid, container, current, runs[at].start_usec, {}};
    }
    const ContainerMatch who{t.unit, t.uid, container, {}, {}, {}};
    if (at != runs.size() && at > 0 && runs[at - 1].complete) {
        const auto &before = runs[at - 1];
        // The run before may have been an earlier pod's with the same name: it is this pod's if
        // its window holds the pod's lines.
        if (ContainerJournal::has_entries(who, before.start_usec, runs[at].start_usec))
            return ContainerMatch{t.unit, t.uid, container, before.invocation_id, before.start_usec, runs[at].start_usec};
    }
    // No windows to go by (or a silent run before): the last other run by invocation ID.
    std::optional<int64_t> current_start;
    if (at != runs.size()) current_start = runs[at].start_usec;
    const auto by_id = ContainerJournal::previous_invocation(who, current, current_start);
    if (!by_id) return std::nullopt;
    return ContainerMatch{t.unit, t.uid, container, *by_id, {}, {}};
}

// Opens the journal at the run asked for, or says why not.
std::optional<Reply> open_journal(std::optional<ContainerJournal> &journal, std::string &invocation, const Target &t,
                                  const std::string &pod_name, const std::string &container,
                                  const std::optional<std::string> &current) {
    if (!current) return Reply{http::status::service_unavailable, "systemd cannot be asked about " + t.unit + " now\n"};
    if (current->empty())
        return Reply{http::status::bad_request, "container \"" + container + "\" in pod \"" + pod_name + "\" is waiting to start\n"};
    try {
        const auto match = run_match(t, container, *current);
        if (!match)
            return Reply{http::status::bad_request,
                         "previous terminated container \"" + container + "\" in pod \"" + pod_name + "\" not found\n"};
        invocation = match->invocation_id;
        journal.emplace(*match);
        journal->position(t.options);
    } catch (const JournalError &e) {
        spdlog::error("kubelet API: logs of {} (pod UID {}): {}", t.unit, t.uid, e.what());
        return Reply{http::status::internal_server_error, std::string(e.what()) + "\n"};
    }
    return std::nullopt;
}

}  // namespace

asio::awaitable<bool> serve_container_logs(TlsStream &stream, const Request &req, const NodeView &node, const std::string &ns,
                                           const std::string &pod_name, const std::string &container,
                                           const std::map<std::string, std::string> &query) {
    const auto target = resolve(node, ns, pod_name, container, query);
    if (target.refusal) co_return co_await reply(stream, req, *target.refusal);
    const auto run = co_await node.current_run(target.unit);
    std::optional<std::string> current;
    if (run) current = run->invocation_id;
    std::optional<ContainerJournal> journal;
    std::string invocation;
    const auto refusal = open_journal(journal, invocation, target, pod_name, container, current);
    if (refusal) co_return co_await reply(stream, req, *refusal);
    LogFormatter formatter(target.options.timestamps, target.options.limit_bytes);
    const bool follow = target.options.follow;

    http::response<http::empty_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/plain");
    res.chunked(true);
    res.keep_alive(req.keep_alive() && !follow);
    http::response_serializer<http::empty_body> header{res};
    stream.next_layer().expires_after(kWriteTimeout);
    co_await http::async_write_header(stream, header, asio::use_awaitable);
    bool complete = true;
    try {
        if (follow) {
            using namespace asio::experimental::awaitable_operators;
            auto until_gone = pump(stream, *journal, formatter, &node, target.unit, invocation) || client_gone(stream);
            co_await std::move(until_gone);
        } else {
            co_await pump(stream, *journal, formatter, nullptr, target.unit, invocation);
        }
    } catch (const JournalError &e) {
        // The header is out: all that is left is ending the body early.
        spdlog::error("kubelet API: logs of {} (pod UID {}): {}", target.unit, target.uid, e.what());
        complete = false;
    }
    if (!complete) co_return false;
    stream.next_layer().expires_after(kWriteTimeout);
    const auto last = http::make_chunk_last();
    auto [ec, n] = co_await asio::async_write(stream, last, asio::as_tuple(asio::use_awaitable));
    co_return !ec && res.keep_alive();
}

}  // namespace systemk::server
