#pragma once
// The types the kubelet API's handlers share, and the small replies they send.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <string>

namespace systemk::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Request = http::request<http::string_body>;

// A complete reply. Returns whether the connection may serve another request.
// (Every argument of a co_await expression in this server is a named local: GCC 12 may
// destroy a temporary there twice.)
struct Reply {
    http::status status = http::status::ok;
    std::string body;
    const char *content_type = "text/plain; charset=utf-8";
};
asio::awaitable<bool> reply(TlsStream &stream, const Request &req, const Reply &answer);

}  // namespace systemk::server
