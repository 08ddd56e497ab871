#pragma once
// A scripted HTTPS server for fault cases in unit tests: each request is answered 200 with the
// body its Answer gives (on the server's own thread). Never a stand-in for the real cluster in
// the e2e suite.
#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace systemk::testing {

inline bool is_watch(const std::string &target) { return target.find("watch=1") != std::string::npos; }

// Takes the next body from a queue; an empty list once the queue ran out.
inline std::string next(std::vector<std::string> &queue, const std::string &target) {
    if (queue.empty()) return is_watch(target) ? "" : R"({"items":[],"metadata":{"resourceVersion":"999"}})";
    auto body = queue.front();
    queue.erase(queue.begin());
    return body;
}

// Lists and watches in order, whatever their target.
struct Script {
    std::vector<std::string> lists, watches;
    std::string operator()(const std::string &target) { return next(is_watch(target) ? watches : lists, target); }
};

// Answers each request with the body its Answer gives (called on the server's thread).
class ScriptedServer {
public:
    // The body for a request target; empty for an idle watch that ends after a while.
    using Answer = std::function<std::string(const std::string &target)>;

    ScriptedServer(const std::filesystem::path &pki, Answer answer)
        : tls_(boost::asio::ssl::context::tls_server), acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}),
          answer_(std::move(answer)) {
        tls_.use_certificate_chain_file((pki / "srv.crt").string());
        tls_.use_private_key_file((pki / "srv.key").string(), boost::asio::ssl::context::pem);
        thread_ = std::thread([this] { serve(); });
    }
    // Lists and watches answered in order, whatever their target.
    ScriptedServer(const std::filesystem::path &pki, std::vector<std::string> lists, std::vector<std::string> watches)
        : ScriptedServer(pki, Script{std::move(lists), std::move(watches)}) {}
    ~ScriptedServer() {
        stopping_ = true;
        boost::system::error_code ec;
        boost::asio::ip::tcp::socket poke(io_);
        poke.connect(acceptor_.local_endpoint(), ec);
        thread_.join();
    }
    int port() const { return acceptor_.local_endpoint().port(); }
    std::vector<std::string> targets() {
        std::lock_guard l(mutex_);
        return targets_;
    }
    std::string last_authorization() {
        std::lock_guard l(mutex_);
        return authorization_;
    }

private:
    void serve() {
        while (!stopping_) {
            boost::asio::ip::tcp::socket socket(io_);
            boost::system::error_code ec;
            acceptor_.accept(socket, ec);
            if (ec || stopping_) return;
            boost::beast::ssl_stream<boost::asio::ip::tcp::socket> stream(std::move(socket), tls_);
            stream.handshake(boost::asio::ssl::stream_base::server, ec);
            if (ec) continue;
            boost::beast::flat_buffer buffer;
            boost::beast::http::request<boost::beast::http::string_body> req;
            boost::beast::http::read(stream, buffer, req, ec);
            if (ec) continue;
            const std::string target(req.target());
            std::string body;
            {
                std::lock_guard l(mutex_);
                targets_.push_back(target);
                authorization_ = std::string(req[boost::beast::http::field::authorization]);
                body = answer_(target);
            }
            if (body.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));  // an idle watch that ends
            boost::beast::http::response<boost::beast::http::string_body> res{boost::beast::http::status::ok, 11};
            res.set(boost::beast::http::field::content_type, "application/json");
            res.keep_alive(false);
            res.body() = body;
            res.prepare_payload();
            boost::beast::http::write(stream, res, ec);
            stream.shutdown(ec);
        }
    }

    boost::asio::io_context io_;
    boost::asio::ssl::context tls_;
    boost::asio::ip::tcp::acceptor acceptor_;
    Answer answer_;
    std::vector<std::string> targets_;
    std::string authorization_;
    std::mutex mutex_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};


}  // namespace systemk::testing
