// The floor for the agent's resident memory: a program that links the libraries of the design
// card the agent links (OpenSSL, libsystemd, Boost.JSON, yaml-cpp, spdlog, libstdc++) and uses
// each once the way the agent must at least use it, and nothing else:
//   reads the kubeconfig with yaml-cpp, logs a line with spdlog, asks systemd for its units over
//   sd-bus, loads a serving certificate into a TLS server context, and GETs the Node over TLS
//   with the client certificate, parsing the answer with Boost.JSON.
// Then it prints its own VmRSS, split into anonymous memory and mapped files (code).
//   rss_floor KUBECONFIG SERVING_CERT SERVING_KEY NODE_NAME
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace {

[[noreturn]] void fail(const std::string &what) {
    std::fprintf(stderr, "rss_floor: %s\n", what.c_str());
    std::exit(1);
}

int connect_tcp(const std::string &host, const std::string &port) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res) fail("cannot resolve " + host);
    const int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) fail("cannot connect to " + host + ":" + port);
    freeaddrinfo(res);
    return fd;
}

std::string https_get(const YAML::Node &kubeconfig, const std::string &path) {
    const auto server = kubeconfig["clusters"][0]["cluster"]["server"].as<std::string>();
    const auto &user = kubeconfig["users"][0]["user"];
    const auto hostport = server.substr(server.find("://") + 3);
    const auto colon = hostport.rfind(':');
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!SSL_CTX_load_verify_locations(ctx, kubeconfig["clusters"][0]["cluster"]["certificate-authority"].as<std::string>().c_str(), nullptr) ||
        !SSL_CTX_use_certificate_chain_file(ctx, user["client-certificate"].as<std::string>().c_str()) ||
        !SSL_CTX_use_PrivateKey_file(ctx, user["client-key"].as<std::string>().c_str(), SSL_FILETYPE_PEM))
        fail("kubeconfig credentials do not load");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL *ssl = SSL_new(ctx);
    const int fd = connect_tcp(hostport.substr(0, colon), hostport.substr(colon + 1));
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) fail("TLS handshake failed");
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + hostport + "\r\n\r\n";
    SSL_write(ssl, request.data(), static_cast<int>(request.size()));
    std::string response;
    char buf[16384];
    for (int n; (n = SSL_read(ssl, buf, sizeof buf)) > 0;) response.append(buf, static_cast<size_t>(n));
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    return response;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 5) fail("usage: rss_floor KUBECONFIG SERVING_CERT SERVING_KEY NODE_NAME");
    YAML::Node kubeconfig;
    try {
        kubeconfig = YAML::LoadFile(argv[1]);
    } catch (const YAML::Exception &e) {
        fail(std::string(argv[1]) + ": " + e.what());
    }
    spdlog::set_default_logger(spdlog::stderr_color_mt("rss_floor"));
    spdlog::info("rss_floor: {}", argv[1]);

    sd_bus *bus = nullptr;
    if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, "unix:path=/run/systemd/private") < 0 || sd_bus_start(bus) < 0)
        fail("no systemd bus");
    sd_bus_error err = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = nullptr;
    if (sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                           "org.freedesktop.systemd1.Manager", "ListUnits", &err, &reply, "") < 0)
        fail("ListUnits failed");
    sd_bus_message_unref(reply);

    SSL_CTX *server = SSL_CTX_new(TLS_server_method());
    if (!SSL_CTX_use_certificate_chain_file(server, argv[2]) || !SSL_CTX_use_PrivateKey_file(server, argv[3], SSL_FILETYPE_PEM))
        fail("serving certificate does not load");

    std::string response;
    try {  // a kubeconfig with inline *-data fields is not what this helper reads
        response = https_get(kubeconfig, std::string("/api/v1/nodes/") + argv[4]);
    } catch (const YAML::Exception &e) {
        fail(std::string(argv[1]) + ": " + e.what());
    }
    const auto body = response.find("\r\n\r\n");
    boost::system::error_code ec;
    const auto node = boost::json::parse(body == std::string::npos ? "" : response.substr(body + 4), ec);
    if (ec || !node.is_object()) fail("the API server's answer is not a Node: " + response.substr(0, 80));

    std::this_thread::sleep_for(std::chrono::seconds(1));
    std::ifstream status("/proc/self/status");
    long rss = 0, anon = 0, file = 0;
    for (std::string line; std::getline(status, line);) {
        std::istringstream in(line);
        std::string key;
        long kb = 0;
        in >> key >> kb;
        if (key == "VmRSS:") rss = kb;
        if (key == "RssAnon:") anon = kb;
        if (key == "RssFile:") file = kb;
    }
    std::printf("RSS floor (the agent's libraries, one TLS request, one sd-bus call, no pods): %.1f MB "
                "(anonymous %.1f MB, mapped files %.1f MB)\n",
                rss / 1024.0, anon / 1024.0, file / 1024.0);
    SSL_CTX_free(server);
    sd_bus_error_free(&err);
    sd_bus_flush_close_unref(bus);
    return 0;
}
