// The kubelet API server against a scripted API server that answers TokenReviews and
// SubjectAccessReviews: who gets 401, 403 and 200, that reviews are cached, the routes and
// their errors, TLS versions, client certificates, and a serving certificate reloaded from disk.
#include <gtest/gtest.h>

#include <openssl/ssl.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "server/kubelet_server.h"
#include "test_pki.h"

using namespace systemk;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path &p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), {}};
}

// A scripted API server: a token "good" is user bob; SubjectAccessReviews allow the users in
// `allowed`. Counts the reviews and keeps the last SubjectAccessReview.
class FakeApiServer {
public:
    explicit FakeApiServer(const fs::path &pki) : tls_(ssl::context::tls_server), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
        tls_.use_certificate_chain_file((pki / "srv.crt").string());
        tls_.use_private_key_file((pki / "srv.key").string(), ssl::context::pem);
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeApiServer() {
        stopping_ = true;
        boost::system::error_code ec;
        asio::ip::tcp::socket poke(io_);
        poke.connect(acceptor_.local_endpoint(), ec);
        thread_.join();
    }
    int port() const { return acceptor_.local_endpoint().port(); }
    std::atomic<int> token_reviews{0}, access_reviews{0};
    std::set<std::string> allowed{"bob"};
    json::object last_review() {
        std::lock_guard l(mutex_);
        return last_;
    }

private:
    std::string answer(const std::string &target, const std::string &body) {
        const auto req = json::parse(body).as_object();
        if (target.find("tokenreviews") != std::string::npos) {
            ++token_reviews;
            if (req.at("spec").at("token") == "good")
                return R"({"status":{"authenticated":true,"user":{"username":"bob","groups":["system:authenticated"]}}})";
            return R"({"status":{"authenticated":false}})";
        }
        ++access_reviews;
        std::lock_guard l(mutex_);
        last_ = req;
        const bool ok = allowed.contains(std::string(req.at("spec").at("user").as_string()));
        return ok ? R"({"status":{"allowed":true}})" : R"({"status":{"allowed":false,"reason":"no"}})";
    }
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
            for (;;) {
                http::request<http::string_body> req;
                http::read(stream, buffer, req, ec);
                if (ec) break;
                http::response<http::string_body> res{http::status::created, 11};
                res.set(http::field::content_type, "application/json");
                res.body() = answer(std::string(req.target()), req.body());
                res.prepare_payload();
                http::write(stream, res, ec);
                if (ec) break;
            }
        }
    }
    asio::io_context io_;
    ssl::context tls_;
    asio::ip::tcp::acceptor acceptor_;
    std::mutex mutex_;
    json::object last_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

struct Answer {
    int status = 0;  // 0: no HTTP answer (TLS refused)
    std::string body;
    std::string fingerprint;
};

struct ClientOptions {
    std::string token;
    fs::path cert, key;
    int max_version = 0;
};
ClientOptions token(const std::string &t, int max_version = 0) { return {t, {}, {}, max_version}; }

Answer get(int port, const std::string &target, const ClientOptions &o = {}, http::verb verb = http::verb::get) {
    asio::io_context io;
    ssl::context tls(ssl::context::tls_client);
    tls.set_verify_mode(ssl::verify_none);
    if (o.max_version) SSL_CTX_set_max_proto_version(tls.native_handle(), o.max_version);
    if (!o.cert.empty()) {
        tls.use_certificate_chain_file(o.cert.string());
        tls.use_private_key_file(o.key.string(), ssl::context::pem);
    }
    boost::beast::ssl_stream<asio::ip::tcp::socket> stream(io, tls);
    stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    boost::system::error_code ec;
    stream.handshake(ssl::stream_base::client, ec);
    Answer a;
    if (ec) return a;
    X509 *peer = SSL_get1_peer_certificate(stream.native_handle());
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    X509_digest(peer, EVP_sha256(), md, &n);
    X509_free(peer);
    a.fingerprint.assign(reinterpret_cast<char *>(md), n);
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "node1");
    if (!o.token.empty()) req.set(http::field::authorization, "Bearer " + o.token);
    req.keep_alive(false);
    http::write(stream, req, ec);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res, ec);
    if (ec) return a;
    a.status = static_cast<int>(res.result_int());
    a.body = res.body();
    return a;
}

std::string raw_fingerprint(const std::string &hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size() + 1; i += 3) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    return out;
}

class KubeletServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("systemk-kubelet-api-" + std::to_string(getpid()));
        ASSERT_TRUE(systemk::testing::make_test_pki(dir_));
        // alice: a client certificate from the cluster CA, with a group.
        const std::string cmd = "cd " + dir_.string() +
                                " && openssl req -newkey rsa:2048 -nodes -keyout alice.key -out alice.csr -subj /O=devs/CN=alice 2>/dev/null"
                                " && printf 'extendedKeyUsage=clientAuth\\n' > cext"
                                " && openssl x509 -req -in alice.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile cext -out alice.crt 2>/dev/null"
                                " && openssl req -x509 -newkey rsa:2048 -nodes -keyout mallory.key -out mallory.crt -subj /CN=bob -days 1 2>/dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0);
        api_ = std::make_unique<FakeApiServer>(dir_);
        kc_.host = "127.0.0.1";
        kc_.port = std::to_string(api_->port());
        kc_.server = "https://127.0.0.1:" + kc_.port;
        kc_.ca_pem = read(dir_ / "ca.crt");
        view_.node_name = "node1";
        view_.pod = [](const std::string &key) -> std::optional<json::object> {
            if (key != "ns/web") return std::nullopt;
            return json::parse(R"({"metadata":{"namespace":"ns","name":"web","uid":"u-1"},"spec":{"containers":[{"name":"app"}]}})").as_object();
        };
        view_.pods = [this] { return std::vector<json::object>{*view_.pod("ns/web")}; };
        view_.current_run = [](const std::string &) -> asio::awaitable<std::optional<server::UnitRun>> { co_return server::UnitRun{}; };
    }
    void TearDown() override {
        server_.reset();
        api_.reset();
        fs::remove_all(dir_);
    }
    void start(std::unique_ptr<server::ServingTls> tls) {
        server_ = std::make_unique<server::KubeletServer>("127.0.0.1", 0, std::move(tls), kc_, view_);
        server_->start();
    }
    int port() const { return server_->port(); }
    ClientOptions alice() const { return {{}, dir_ / "alice.crt", dir_ / "alice.key", 0}; }

    fs::path dir_;
    std::unique_ptr<FakeApiServer> api_;
    kube::Kubeconfig kc_;
    server::NodeView view_;
    std::unique_ptr<server::KubeletServer> server_;
};

}  // namespace

TEST_F(KubeletServerTest, AnonymousGets401UnauthorizedGets403) {
    const auto pair = server::make_self_signed("node1", {"node1"}, {"127.0.0.1"});
    start(std::make_unique<server::ServingTls>(pair, read(dir_ / "ca.crt")));
    EXPECT_EQ(get(port(), "/pods").status, 401);
    EXPECT_EQ(get(port(), "/pods", token("bad")).status, 401);
    // A self-signed certificate naming bob is not bob.
    EXPECT_EQ(get(port(), "/pods", ClientOptions{{}, dir_ / "mallory.crt", dir_ / "mallory.key", 0}).status, 401);
    const auto forbidden = get(port(), "/containerLogs/ns/web/app", alice());
    EXPECT_EQ(forbidden.status, 403);
    EXPECT_EQ(forbidden.body, "Forbidden (user=alice, verb=get, resource=nodes, subresource=proxy, name=node1)\n");
    const auto review = api_->last_review();
    EXPECT_EQ(review.at("spec").at("groups").as_array().at(0), "devs");
    EXPECT_EQ(review.at("spec").at("resourceAttributes").at("name"), "node1");
    const auto ok = get(port(), "/healthz", token("good"));
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.body, "ok");
    // The certificate presented is the self-signed one whose fingerprint is logged.
    EXPECT_EQ(ok.fingerprint, raw_fingerprint(server::sha256_fingerprint(pair.cert_pem)));
}

TEST_F(KubeletServerTest, ReviewsAreCached) {
    start(std::make_unique<server::ServingTls>(server::make_self_signed("node1", {}, {"127.0.0.1"}), read(dir_ / "ca.crt")));
    for (int i = 0; i < 3; ++i) EXPECT_EQ(get(port(), "/healthz", token("good")).status, 200);
    EXPECT_EQ(api_->token_reviews, 1);
    EXPECT_EQ(api_->access_reviews, 1);
    EXPECT_EQ(get(port(), "/stats/summary", token("good")).status, 404);  // another subresource: a new review
    EXPECT_EQ(api_->access_reviews, 2);
    EXPECT_EQ(api_->last_review().at("spec").at("resourceAttributes").at("subresource"), "stats");
}

TEST_F(KubeletServerTest, RoutesAndBadRequests) {
    start(std::make_unique<server::ServingTls>(server::make_self_signed("node1", {}, {"127.0.0.1"}), read(dir_ / "ca.crt")));
    api_->allowed.insert("alice");
    const auto pods = get(port(), "/pods", alice());
    ASSERT_EQ(pods.status, 200);
    const auto list = json::parse(pods.body).as_object();
    EXPECT_EQ(list.at("kind"), "PodList");
    EXPECT_EQ(list.at("items").as_array().size(), 1u);
    EXPECT_EQ(get(port(), "/nothing/here", alice()).status, 404);
    EXPECT_EQ(get(port(), "/containerLogs/ns/web", alice()).status, 404);
    EXPECT_EQ(get(port(), "/containerLogs/ns/gone/app", alice()).status, 404);
    EXPECT_EQ(get(port(), "/containerLogs/ns/web/other", alice()).status, 404);
    EXPECT_EQ(get(port(), "/containerLogs/ns/web/app?tailLines=x", alice()).status, 400);
    EXPECT_EQ(get(port(), "/containerLogs/ns/web/app?sinceSeconds=1&sinceTime=2020-01-01T00:00:00Z", alice()).status, 400);
    EXPECT_EQ(get(port(), "/containerLogs/ns/web/app?limitBytes=%zz", alice()).status, 400);
    const auto waiting = get(port(), "/containerLogs/ns/web/app", alice());  // never started (no invocation)
    EXPECT_EQ(waiting.status, 400);
    EXPECT_NE(waiting.body.find("waiting to start"), std::string::npos);
    EXPECT_EQ(get(port(), "/exec/ns/web/app", alice(), http::verb::post).status, 501);
    EXPECT_EQ(get(port(), "/pods", alice(), http::verb::delete_).status, 405);
}

TEST_F(KubeletServerTest, RefusesTlsBelow12) {
    start(std::make_unique<server::ServingTls>(server::make_self_signed("node1", {}, {"127.0.0.1"}), read(dir_ / "ca.crt")));
    EXPECT_EQ(get(port(), "/healthz", token("good", TLS1_1_VERSION)).status, 0);
    EXPECT_EQ(get(port(), "/healthz", token("good", TLS1_2_VERSION)).status, 200);
}

TEST_F(KubeletServerTest, ServingCertificateFilesAreReloaded) {
    auto write_pair = [&](const server::KeyPair &p) {
        std::ofstream(dir_ / "serving.key.new") << p.key_pem;
        std::ofstream(dir_ / "serving.crt.new") << p.cert_pem;
        fs::rename(dir_ / "serving.key.new", dir_ / "serving.key");
        fs::rename(dir_ / "serving.crt.new", dir_ / "serving.crt");
    };
    const auto first = server::make_self_signed("first", {}, {"127.0.0.1"});
    write_pair(first);
    start(std::make_unique<server::ServingTls>(dir_ / "serving.crt", dir_ / "serving.key", read(dir_ / "ca.crt")));
    EXPECT_EQ(get(port(), "/healthz", token("good")).fingerprint, raw_fingerprint(server::sha256_fingerprint(first.cert_pem)));
    const auto second = server::make_self_signed("second", {"a-longer-name-so-the-size-differs"}, {"127.0.0.1"});
    write_pair(second);
    EXPECT_EQ(get(port(), "/healthz", token("good")).fingerprint, raw_fingerprint(server::sha256_fingerprint(second.cert_pem)));
    // A broken pair keeps the last good one.
    std::ofstream(dir_ / "serving.crt") << "not a certificate, and longer than before ......................................";
    const auto kept = get(port(), "/healthz", token("good"));
    EXPECT_EQ(kept.status, 200);
    EXPECT_EQ(kept.fingerprint, raw_fingerprint(server::sha256_fingerprint(second.cert_pem)));
}

TEST_F(KubeletServerTest, CertificateAndKeyInOneFile) {
    // The form the certificate rotation writes: one PEM file, given as both --certfile and --keyfile.
    const auto pair = server::make_self_signed("node1", {}, {"127.0.0.1"});
    std::ofstream(dir_ / "serving.pem") << pair.cert_pem << pair.key_pem;
    start(std::make_unique<server::ServingTls>(dir_ / "serving.pem", dir_ / "serving.pem", read(dir_ / "ca.crt")));
    EXPECT_EQ(get(port(), "/healthz", token("good")).fingerprint, raw_fingerprint(server::sha256_fingerprint(pair.cert_pem)));
}

TEST(ServingTls, BadFilesAreClearErrors) {
    EXPECT_THROW(server::ServingTls("/nonexistent/crt", "/nonexistent/key", ""), server::TlsError);
    const auto a = server::make_self_signed("a", {}, {}), b = server::make_self_signed("b", {}, {});
    EXPECT_THROW(server::ServingTls(server::KeyPair{a.cert_pem, b.key_pem}, ""), server::TlsError);
    EXPECT_EQ(server::sha256_fingerprint(a.cert_pem).size(), 32u * 3 - 1);
}
