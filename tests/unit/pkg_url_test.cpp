// pkg-url: its URLs, and a pinned digest checked before anything is installed, against a real
// TLS server (openssl s_server) with its own CA, through the host's fetch service.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../../plugins/pkg-url/deb_url.h"
#include "plugins/plugin_loader.h"
#include "test_pki.h"

namespace fs = std::filesystem;

TEST(PkgUrl, UrlsNameAVersionAndAPin) {
    const auto u = pkg_url::parse_deb_url("https://example.org/pool/uptimed_1%3a0.4.6-3+b1_amd64.deb#sha256=" +
                                          std::string(64, 'A'));
    ASSERT_TRUE(u);
    EXPECT_EQ(u->url, "https://example.org/pool/uptimed_1%3a0.4.6-3+b1_amd64.deb");
    EXPECT_EQ(u->name, "uptimed");
    EXPECT_EQ(u->version, "1:0.4.6-3+b1");
    EXPECT_EQ(u->arch, "amd64");
    EXPECT_EQ(u->sha256, std::string(64, 'a'));
    ASSERT_TRUE(pkg_url::parse_deb_url("https://example.org/xy_1.0_all.deb"));
    EXPECT_EQ(pkg_url::parse_deb_url("https://example.org/xy_1.0_all.deb")->sha256, "");
    EXPECT_FALSE(pkg_url::parse_deb_url("http://example.org/x_1.0_all.deb"));
    EXPECT_FALSE(pkg_url::parse_deb_url("https://example.org/x_1.0_all.deb#sha256=abc"));
    EXPECT_FALSE(pkg_url::parse_deb_url("https://example.org/x_1.0_all.deb#md5=" + std::string(32, 'a')));
    EXPECT_FALSE(pkg_url::parse_deb_url("https://example.org/x-1.0.deb"));
    EXPECT_FALSE(pkg_url::parse_deb_url("https:///x_1.0_all.deb"));
}

namespace {

int free_port() {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, reinterpret_cast<sockaddr *>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr *>(&a), &len);
    close(s);
    return ntohs(a.sin_port);
}

bool accepts(int port) {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = connect(s, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
    close(s);
    return ok;
}

class PkgUrlServer : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("systemk-pkg-url-" + std::to_string(getpid()));
        fs::create_directories(dir_ / "www");
        ASSERT_TRUE(systemk::testing::make_test_pki(dir_));
        std::ofstream(dir_ / "www" / "tiny_1.0_all.deb") << "these bytes are not what the pin says\n";
        port_ = free_port();
        pid_ = fork();
        if (pid_ == 0) {
            if (chdir((dir_ / "www").c_str()) != 0) _exit(127);
            const auto accept = "127.0.0.1:" + std::to_string(port_);
            execlp("openssl", "openssl", "s_server", "-quiet", "-accept", accept.c_str(), "-cert", (dir_ / "srv.crt").c_str(),
                   "-key", (dir_ / "srv.key").c_str(), "-WWW", static_cast<char *>(nullptr));
            _exit(127);
        }
        for (int i = 0; i < 100 && !accepts(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        systemk::plugins::LoadOptions options;
        options.config["systemk.fetch-ca-file"] = (dir_ / "ca.crt").string();
        options.config["pkg-url.cache-dir"] = (dir_ / "cache").string();
        options.config["pkg-url.state-dir"] = (dir_ / "state").string();
        options.config["pkg-url.admindir"] = std::string(SYSTEMK_SOURCE_DIR) + "/tests/fixtures/dpkg";
        ASSERT_TRUE(registry_.load_file(fs::path(SYSTEMK_PLUGIN_DIR) / "pkg-url.so", options));
    }
    void TearDown() override {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            waitpid(pid_, nullptr, 0);
        }
        fs::remove_all(dir_);
    }
    std::string error_of(const std::string &image, bool dry_run = false) {
        try {
            registry_.resolver_for(image)->resolve(boost::json::object{{"image", image}, {"dryRun", dry_run}});
        } catch (const systemk::plugins::PluginCallError &e) {
            return e.what();
        }
        return "no error";
    }
    std::string url(const std::string &file) const { return "https://127.0.0.1:" + std::to_string(port_) + "/" + file; }

    fs::path dir_;
    int port_ = 0;
    pid_t pid_ = -1;
    systemk::plugins::PluginRegistry registry_;
};

}  // namespace

TEST_F(PkgUrlServer, AWrongPinIsRefusedBeforeAnythingIsInstalled) {
    const std::string pin(64, '0');
    const auto e = error_of(url("tiny_1.0_all.deb") + "#sha256=" + pin);
    EXPECT_NE(e.find("not the pinned " + pin + ": nothing was installed"), std::string::npos) << e;
    // Nothing kept: neither the download nor a record of an install.
    EXPECT_TRUE(!fs::exists(dir_ / "cache") || fs::is_empty(dir_ / "cache"));
    EXPECT_FALSE(fs::exists(dir_ / "state" / "installed" / "tiny"));
}

TEST_F(PkgUrlServer, PlainHttpAndA404AreClearErrors) {
    EXPECT_NE(error_of("http://127.0.0.1/tiny_1.0_all.deb").find("plain http:// is refused"), std::string::npos);
    // openssl's -WWW server answers a missing file with an error page: not a package, not kept.
    const auto e = error_of(url("missing_1.0_all.deb"));
    EXPECT_NE(e.find("is not a Debian package"), std::string::npos) << e;
    EXPECT_TRUE(!fs::exists(dir_ / "cache") || fs::is_empty(dir_ / "cache"));
}

TEST_F(PkgUrlServer, ADryRunDownloadsNothing) {
    const auto r = registry_.resolver_for(url("tiny_1.0_all.deb"))
                       ->resolve(boost::json::object{{"image", url("tiny_1.0_all.deb")}, {"dryRun", true}})
                       .as_object();
    EXPECT_EQ(r.at("package").as_string(), "tiny");
    EXPECT_EQ(r.at("version").as_string(), "1.0");
    EXPECT_EQ(r.at("present").as_bool(), false);
    EXPECT_FALSE(fs::exists(dir_ / "cache"));
}
