#include "plugins/https_fetch.h"

#include <openssl/ssl.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fstream>

#include "kube/kubeconfig.h"

namespace systemk::plugins {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

struct Url {
    std::string host, port, target;
};

Url parse_url(const std::string &url) {
    if (url.rfind("https://", 0) != 0) throw FetchError("only https:// URLs can be fetched: " + url);
    Url u;
    const auto rest = url.substr(8);
    const auto slash = rest.find('/');
    const auto authority = rest.substr(0, slash);
    u.target = slash == std::string::npos ? "/" : rest.substr(slash);
    try {
        kube::split_server_url("https://" + authority, u.host, u.port);
    } catch (const std::exception &e) {
        throw FetchError(e.what());
    }
    return u;
}

// One GET. Returns the redirect location, or empty when the body was written.
asio::awaitable<std::string> get_once(ssl::context &tls, const Url &u, const std::filesystem::path &tmp) {
    auto ex = co_await asio::this_coro::executor;
    beast::ssl_stream<beast::tcp_stream> stream(ex, tls);
    boost::system::error_code not_ip;
    asio::ip::make_address(u.host, not_ip);
    if (not_ip) SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str());
    stream.set_verify_callback(ssl::host_name_verification(u.host));
    asio::ip::tcp::resolver resolver(ex);
    const auto endpoints = co_await resolver.async_resolve(u.host, u.port, asio::use_awaitable);
    co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::use_awaitable);
    co_await stream.async_handshake(ssl::stream_base::client, asio::use_awaitable);
    http::request<http::empty_body> req{http::verb::get, u.target, 11};
    req.set(http::field::host, u.host);
    req.set(http::field::user_agent, "systemk/0.1");
    co_await http::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    http::response_parser<http::file_body> parser;
    parser.body_limit(boost::none);
    co_await http::async_read_header(stream, buffer, parser, asio::use_awaitable);
    const auto status = parser.get().result_int();
    if (status >= 300 && status < 400) {
        const auto location = std::string(parser.get()[http::field::location]);
        if (location.empty()) throw FetchError("redirect without a location");
        co_return location;
    }
    if (status != 200) throw FetchError("HTTP " + std::to_string(status));
    beast::error_code fec;
    parser.get().body().open(tmp.c_str(), beast::file_mode::write, fec);
    if (fec) throw FetchError("cannot write " + tmp.string() + ": " + fec.message());
    const bool eof_delimited = !parser.content_length() && !parser.chunked();
    auto [rec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)n;
    parser.get().body().close();
    // Servers that end the body by closing often skip TLS close_notify; the body is complete.
    if (rec && !(eof_delimited && rec == ssl::error::stream_truncated)) throw boost::system::system_error(rec);
    co_return std::string();
}

}  // namespace

void https_fetch(const std::string &url, const std::filesystem::path &dest, const FetchOptions &options) {
    ssl::context tls(ssl::context::tls_client);
    tls.set_verify_mode(ssl::verify_peer);
    boost::system::error_code ec;
    if (options.ca_file.empty()) tls.set_default_verify_paths(ec);
    else tls.load_verify_file(options.ca_file, ec);
    if (ec) throw FetchError("cannot load CA certificates: " + ec.message());
    const auto tmp = dest.parent_path() / ("." + dest.filename().string() + ".part");
    std::string current = url;
    std::exception_ptr failure;
    bool done = false;
    asio::io_context io;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        for (int hop = 0; hop <= options.max_redirects; ++hop) {
            const auto next = co_await get_once(tls, parse_url(current), tmp);
            if (next.empty()) {
                done = true;
                co_return;
            }
            current = next;
        }
        throw FetchError("too many redirects");
    }, [&](std::exception_ptr e) { failure = e; });
    io.run_for(options.timeout);
    if (!done && !failure) {
        std::filesystem::remove(tmp, ec);
        throw FetchError("timed out after " + std::to_string(options.timeout.count()) + " s");
    }
    if (failure) {
        std::filesystem::remove(tmp, ec);
        try {
            std::rethrow_exception(failure);
        } catch (const FetchError &) {
            throw;
        } catch (const boost::system::system_error &e) {
            throw FetchError(e.code().category() == asio::error::get_ssl_category()
                                 ? std::string("TLS: ") + e.what()
                                 : e.code().message());
        }
    }
    std::filesystem::rename(tmp, dest);
}

}  // namespace systemk::plugins
