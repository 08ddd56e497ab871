#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "plugins/host_services.h"
#include "test_pki.h"

using namespace systemk::plugins;
namespace fs = std::filesystem;

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

std::string read_file(const fs::path &p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// A real TLS server (openssl s_server -WWW) serving a directory, with its own CA.
class TlsServer : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("systemk-fetch-" + std::to_string(getpid()));
        fs::create_directories(dir_ / "www");
        ASSERT_TRUE(systemk::testing::make_test_pki(dir_));
        std::ofstream(dir_ / "www" / "package.deb") << "not really a package\n";
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
    }
    void TearDown() override {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            waitpid(pid_, nullptr, 0);
        }
        fs::remove_all(dir_);
    }
    std::string url(const std::string &file) const { return "https://127.0.0.1:" + std::to_string(port_) + "/" + file; }

    fs::path dir_;
    int port_ = 0;
    pid_t pid_ = -1;
};

systemk_status fetch(const PluginHost &host, const std::string &url, const fs::path &dest, std::string &error) {
    OutputBuffer err;
    const auto *t = host.table();
    const auto status = t->fetch(t->ctx, url.c_str(), dest.c_str(), &err.out);
    error = err.text;
    return status;
}

}  // namespace

TEST_F(TlsServer, FetchesThroughTheHostWithItsCaSetting) {
    PluginHost host("test", {{"systemk.fetch-ca-file", (dir_ / "ca.crt").string()}}, SYSTEMK_ABI_MAJOR, SYSTEMK_ABI_MINOR);
    std::string error;
    const auto dest = dir_ / "out.deb";
    ASSERT_EQ(fetch(host, url("package.deb"), dest, error), SYSTEMK_OK) << error;
    EXPECT_EQ(read_file(dest), "not really a package\n");
}

TEST_F(TlsServer, RefusesAnUntrustedServerAndReportsErrors) {
    std::string error;
    PluginHost untrusting("test", {}, SYSTEMK_ABI_MAJOR, SYSTEMK_ABI_MINOR);
    EXPECT_EQ(fetch(untrusting, url("package.deb"), dir_ / "x", error), SYSTEMK_ERR_TRANSIENT);
    EXPECT_NE(error.find("certificate verify failed"), std::string::npos) << error;
    EXPECT_FALSE(fs::exists(dir_ / "x"));
    PluginHost host("test", {{"systemk.fetch-ca-file", (dir_ / "ca.crt").string()}}, SYSTEMK_ABI_MAJOR, SYSTEMK_ABI_MINOR);
    // Nothing listening: a clear connection error.
    EXPECT_EQ(fetch(host, "https://127.0.0.1:" + std::to_string(free_port()) + "/x", dir_ / "y", error), SYSTEMK_ERR_TRANSIENT);
    EXPECT_NE(error.find("refused"), std::string::npos) << error;
    EXPECT_EQ(fetch(host, "http://127.0.0.1/plain", dir_ / "z", error), SYSTEMK_ERR_TRANSIENT);
    EXPECT_NE(error.find("only https://"), std::string::npos) << error;
}
