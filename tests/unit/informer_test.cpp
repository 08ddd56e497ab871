// Fault cases of list+watch against a scripted HTTPS server: bookmarks move the
// resourceVersion, 410 Gone forces a relist that drops vanished objects, a watch that ends is
// resumed from the last resourceVersion.
#include <gtest/gtest.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fstream>
#include <mutex>
#include <thread>

#include "kube/informer.h"
#include "test_pki.h"

using namespace systemk;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
namespace fs = std::filesystem;

namespace {

std::string pod(const std::string &name, const std::string &rv) {
    return R"({"metadata":{"namespace":"ns","name":")" + name + R"(","resourceVersion":")" + rv + R"("}})";
}

// Answers each request with the next scripted body for its kind (list or watch).
class ScriptedServer {
public:
    ScriptedServer(const fs::path &pki, std::vector<std::string> lists, std::vector<std::string> watches)
        : tls_(ssl::context::tls_server), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}),
          lists_(std::move(lists)), watches_(std::move(watches)) {
        tls_.use_certificate_chain_file((pki / "srv.crt").string());
        tls_.use_private_key_file((pki / "srv.key").string(), ssl::context::pem);
        thread_ = std::thread([this] { serve(); });
    }
    ~ScriptedServer() {
        stopping_ = true;
        boost::system::error_code ec;
        asio::ip::tcp::socket poke(io_);
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
            asio::ip::tcp::socket socket(io_);
            boost::system::error_code ec;
            acceptor_.accept(socket, ec);
            if (ec || stopping_) return;
            boost::beast::ssl_stream<asio::ip::tcp::socket> stream(std::move(socket), tls_);
            stream.handshake(ssl::stream_base::server, ec);
            if (ec) continue;
            boost::beast::flat_buffer buffer;
            http::request<http::string_body> req;
            http::read(stream, buffer, req, ec);
            if (ec) continue;
            const std::string target(req.target());
            std::string body;
            {
                std::lock_guard l(mutex_);
                targets_.push_back(target);
                authorization_ = std::string(req[http::field::authorization]);
                auto &queue = target.find("watch=1") != std::string::npos ? watches_ : lists_;
                if (!queue.empty()) {
                    body = queue.front();
                    queue.erase(queue.begin());
                } else if (target.find("watch=1") == std::string::npos) {
                    body = R"({"items":[],"metadata":{"resourceVersion":"999"}})";
                }
            }
            if (body.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));  // an idle watch that ends
            http::response<http::string_body> res{http::status::ok, 11};
            res.set(http::field::content_type, "application/json");
            res.keep_alive(false);
            res.body() = body;
            res.prepare_payload();
            http::write(stream, res, ec);
            stream.shutdown(ec);
        }
    }

    asio::io_context io_;
    ssl::context tls_;
    asio::ip::tcp::acceptor acceptor_;
    std::vector<std::string> lists_, watches_;
    std::vector<std::string> targets_;
    std::string authorization_;
    std::mutex mutex_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace

TEST(Informer, BookmarksGoneAndResumedWatches) {
    const auto dir = fs::temp_directory_path() / ("systemk-informer-" + std::to_string(getpid()));
    ASSERT_TRUE(systemk::testing::make_test_pki(dir));
    ScriptedServer server(
        dir,
        {R"({"items":[)" + pod("a", "5") + R"(],"metadata":{"resourceVersion":"10"}})",
         R"({"items":[)" + pod("b", "11") + R"(],"metadata":{"resourceVersion":"30"}})"},
        {R"({"type":"ADDED","object":)" + pod("b", "11") + "}\n" +
             R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"15"}}})" + "\n",
         R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}})" "\n"});

    kube::Kubeconfig kc;
    kc.server = "https://127.0.0.1:" + std::to_string(server.port());
    kc.host = "127.0.0.1";
    kc.port = std::to_string(server.port());
    std::ifstream ca(dir / "ca.crt");
    kc.ca_pem.assign(std::istreambuf_iterator<char>(ca), {});
    kc.token_file = dir / "token";
    std::ofstream(kc.token_file) << "token-from-file\n";

    asio::io_context io;
    kube::ApiClient client(io.get_executor(), kc);
    kube::ObjectCache cache;
    auto informer = std::make_shared<kube::Informer>(client, "/api/v1/pods", "", cache, "pods");
    asio::co_spawn(io, informer->run(), asio::detached);
    for (int i = 0; i < 50; ++i) {
        io.run_for(std::chrono::milliseconds(100));
        const auto t = server.targets();
        if (t.size() >= 5) break;
    }
    informer->stop();
    const auto targets = server.targets();
    ASSERT_GE(targets.size(), 5u);
    EXPECT_NE(targets[0].find("limit=500"), std::string::npos);
    EXPECT_NE(targets[1].find("resourceVersion=10"), std::string::npos);
    EXPECT_NE(targets[2].find("resourceVersion=15"), std::string::npos) << "the bookmark moved the resourceVersion";
    EXPECT_EQ(targets[3].find("watch=1"), std::string::npos) << "410 Gone forces a relist";
    EXPECT_NE(targets[4].find("resourceVersion=30"), std::string::npos);
    EXPECT_TRUE(informer->synced());
    EXPECT_EQ(server.last_authorization(), "Bearer token-from-file");
    EXPECT_FALSE(cache.get("ns/a")) << "an object gone during the outage is dropped at relist";
    EXPECT_TRUE(cache.get("ns/b"));
    fs::remove_all(dir);
}
