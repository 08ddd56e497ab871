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
    co_await asio::async_write(stream, http::make_chunk(asio::buffer(data)), asio::use_awaitable);
}

// Sends what the journal holds now; with follow, then waits for more.
asio::awaitable<void> pump(TlsStream &stream, ContainerJournal &journal, LogFormatter &formatter, bool follow) {
    std::optional<asio::posix::stream_descriptor> watch;
    struct Release {  // the descriptor belongs to sd-journal
        std::optional<asio::posix::stream_descriptor> &w;
        ~Release() {
            if (w) w->release();
        }
    } release{watch};
    if (follow) watch.emplace(co_await asio::this_coro::executor, journal.wait_fd());
    asio::steady_timer recheck(co_await asio::this_coro::executor);
    for (;;) {
        std::string out;
        const bool more = journal.read(formatter, out, kChunkBytes);
        if (!out.empty()) co_await write_chunk(stream, out);
        if (formatter.exhausted()) co_return;
        if (more) continue;
        if (!follow) co_return;
        using namespace asio::experimental::awaitable_operators;
        stream.next_layer().expires_never();
        recheck.expires_after(kFollowRecheck);
        co_await (watch->async_wait(asio::posix::stream_descriptor::wait_read, asio::use_awaitable) ||
                  recheck.async_wait(asio::use_awaitable));
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

}  // namespace

asio::awaitable<bool> serve_container_logs(TlsStream &stream, const Request &req, const NodeView &node, const std::string &ns,
                                           const std::string &pod_name, const std::string &container,
                                           const std::map<std::string, std::string> &query) {
    LogOptions options;
    std::string bad;
    try {
        options = parse_log_options(query, now_usec());
    } catch (const BadRequest &e) {
        bad = std::string(e.what()) + "\n";
    }
    if (!bad.empty()) co_return co_await reply(stream, req, http::status::bad_request, bad);
    const auto pod = node.pod(ns + "/" + pod_name);
    if (!pod) co_return co_await reply(stream, req, http::status::not_found, "pod \"" + ns + "/" + pod_name + "\" not found\n");
    const auto uid = pod_uid(*pod);
    if (uid.empty() || !pod_has_container(*pod, container))
        co_return co_await reply(stream, req, http::status::not_found,
                                 "container \"" + container + "\" not found in pod \"" + ns + "/" + pod_name + "\"\n");
    std::string unit;
    try {
        unit = units::make_unit_name(ns, pod_name, container);
    } catch (const std::invalid_argument &) {
    }
    if (unit.empty()) co_return co_await reply(stream, req, http::status::not_found, "no such container\n");
    const auto current = co_await node.invocation_id(unit);
    if (!current) co_return co_await reply(stream, req, http::status::service_unavailable, "systemd cannot be asked about " + unit + " now\n");
    if (current->empty())
        co_return co_await reply(stream, req, http::status::bad_request,
                                 "container \"" + container + "\" in pod \"" + pod_name + "\" is waiting to start\n");
    std::string invocation = *current;
    std::optional<ContainerJournal> journal;
    std::string failure;
    try {
        std::optional<std::string> previous;
        if (options.previous) previous = ContainerJournal::previous_invocation(uid, container, *current);
        if (!options.previous || previous) {
            if (previous) invocation = *previous;
            journal.emplace(ContainerMatch{uid, container, invocation});
            journal->position(options);
        }
    } catch (const JournalError &e) {
        spdlog::error("kubelet API: logs of pod {}/{} container {} (unit {}): {}", ns, pod_name, container, unit, e.what());
        failure = std::string(e.what()) + "\n";
    }
    if (!failure.empty()) co_return co_await reply(stream, req, http::status::internal_server_error, failure);
    if (!journal)
        co_return co_await reply(stream, req, http::status::bad_request,
                                 "previous terminated container \"" + container + "\" in pod \"" + pod_name + "\" not found\n");
    LogFormatter formatter(options.timestamps, options.limit_bytes);

    http::response<http::empty_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/plain");
    res.chunked(true);
    res.keep_alive(req.keep_alive() && !options.follow);
    http::response_serializer<http::empty_body> header{res};
    stream.next_layer().expires_after(kWriteTimeout);
    co_await http::async_write_header(stream, header, asio::use_awaitable);
    try {
        if (options.follow) {
            using namespace asio::experimental::awaitable_operators;
            co_await (pump(stream, *journal, formatter, true) || client_gone(stream));
        } else {
            co_await pump(stream, *journal, formatter, false);
        }
    } catch (const JournalError &e) {
        // The header is out: all that is left is ending the body early.
        spdlog::error("kubelet API: logs of pod {}/{} container {} (unit {}): {}", ns, pod_name, container, unit, e.what());
        failure = e.what();
    }
    if (!failure.empty()) co_return false;
    stream.next_layer().expires_after(kWriteTimeout);
    auto [ec, n] = co_await asio::async_write(stream, http::make_chunk_last(), asio::as_tuple(asio::use_awaitable));
    co_return !ec && res.keep_alive();
}

}  // namespace systemk::server
