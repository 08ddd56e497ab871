// Fault cases of list+watch against a scripted HTTPS server: bookmarks move the
// resourceVersion, 410 Gone forces a relist that drops vanished objects, a watch that ends is
// resumed from the last resourceVersion.
#include <gtest/gtest.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fstream>
#include <map>
#include <functional>
#include <mutex>
#include <thread>

#include "kube/informer.h"
#include "kube/object_cache.h"
#include "scripted_server.h"
#include "test_pki.h"

using namespace systemk;
using systemk::testing::ScriptedServer;
using systemk::testing::is_watch;
using systemk::testing::Script;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
namespace fs = std::filesystem;

namespace {

std::string pod(const std::string &name, const std::string &rv) {
    return R"({"metadata":{"namespace":"ns","name":")" + name + R"(","resourceVersion":")" + rv + R"("}})";
}

kube::Kubeconfig kubeconfig_for(const ScriptedServer &server, const fs::path &pki) {
    kube::Kubeconfig kc;
    kc.server = "https://127.0.0.1:" + std::to_string(server.port());
    kc.host = "127.0.0.1";
    kc.port = std::to_string(server.port());
    std::ifstream ca(pki / "ca.crt");
    kc.ca_pem.assign(std::istreambuf_iterator<char>(ca), {});
    return kc;
}

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

    auto kc = kubeconfig_for(server, dir);
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

TEST(ObjectCache, ReplaceTouchesOnlyTheGivenScope) {
    kube::ObjectCache cache;
    std::vector<std::string> erased;
    cache.set_listener([&](const std::string &key, const boost::json::object *obj) {
        if (!obj) erased.push_back(key);
    });
    auto obj = [](const std::string &name, const std::string &rv) { return boost::json::parse(pod(name, rv)).as_object(); };
    const auto a = cache.replace({}, {obj("a", "1")});
    const auto b = cache.replace({}, {obj("b", "1"), obj("c", "1")});
    EXPECT_EQ(a, (std::set<std::string>{"ns/a"}));
    EXPECT_EQ(b, (std::set<std::string>{"ns/b", "ns/c"}));
    // The first writer relists: its object changed; the second writer's objects stay.
    EXPECT_EQ(cache.replace(a, {obj("a", "2")}), a);
    EXPECT_EQ(cache.size(), 3u);
    // The second writer relists without c: only c goes.
    EXPECT_EQ(cache.replace(b, {obj("b", "1")}), (std::set<std::string>{"ns/b"}));
    EXPECT_EQ(erased, (std::vector<std::string>{"ns/c"}));
    EXPECT_EQ(cache.get("ns/a")->at("metadata").at("resourceVersion"), "2");
    EXPECT_TRUE(cache.get("ns/b"));
}

// One informer per referenced secret, all writing into one cache (as ReferencedObjects does):
// a relist after 410 Gone replaces only that informer's object, never its neighbours'.
TEST(Informer, RelistOfOneInformerKeepsTheOthersObjects) {
    const auto dir = fs::temp_directory_path() / ("systemk-informers-" + std::to_string(getpid()));
    ASSERT_TRUE(systemk::testing::make_test_pki(dir));
    auto secret = [](const std::string &ns, const std::string &name, const std::string &rv) {
        return R"({"metadata":{"namespace":")" + ns + R"(","name":")" + name + R"(","resourceVersion":")" + rv + R"("}})";
    };
    auto list = [](const std::string &items, const std::string &rv) {
        return R"({"items":[)" + items + R"(],"metadata":{"resourceVersion":")" + rv + R"("}})";
    };
    const std::string gone = R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}})" "\n";
    // Per object: its lists and watches in order. `a` relists and still exists (updated); `c`
    // relists and was deleted meanwhile; `b` never relists. The 410s come after an idle watch,
    // so every informer has listed before the first relist.
    std::map<std::string, Script> scripts{
        {"a", {{list(secret("ns1", "a", "1"), "1"), list(secret("ns1", "a", "7"), "8")}, {"", gone}}},
        {"b", {{list(secret("ns1", "b", "2"), "2")}, {}}},
        {"c", {{list(secret("ns2", "c", "3"), "3"), list("", "9")}, {"", gone}}},
    };
    ScriptedServer server(dir, [&](const std::string &target) {
        const auto from = target.find("metadata.name%3D") + 16;
        const auto name = target.substr(from, target.find('&', from) - from);
        return scripts.at(name)(target);
    });
    const auto kc = kubeconfig_for(server, dir);

    asio::io_context io;
    kube::ApiClient client(io.get_executor(), kc);
    kube::ObjectCache cache;
    std::vector<std::string> erased;
    cache.set_listener([&](const std::string &key, const boost::json::object *obj) {
        if (!obj) erased.push_back(key);
    });
    std::vector<std::shared_ptr<kube::Informer>> informers;
    for (const auto &[ns, name] : {std::pair{"ns1", "a"}, {"ns1", "b"}, {"ns2", "c"}}) {
        informers.push_back(std::make_shared<kube::Informer>(
            client, std::string("/api/v1/namespaces/") + ns + "/secrets",
            "fieldSelector=" + kube::url_encode(std::string("metadata.name=") + name), cache, name));
        asio::co_spawn(io, informers.back()->run(), asio::detached);
    }
    auto relists = [&](const std::string &name) {
        int n = 0;
        for (const auto &t : server.targets())
            if (!is_watch(t) && t.find("metadata.name%3D" + name + "&") != std::string::npos) ++n;
        return n;
    };
    for (int i = 0; i < 100 && (relists("a") < 2 || relists("c") < 2); ++i) io.run_for(std::chrono::milliseconds(100));
    io.run_for(std::chrono::milliseconds(100));
    for (auto &informer : informers) informer->stop();

    ASSERT_EQ(relists("a"), 2);
    ASSERT_EQ(relists("c"), 2);
    for (auto &informer : informers) EXPECT_TRUE(informer->synced()) << informer->label();
    ASSERT_TRUE(cache.get("ns1/a"));
    EXPECT_EQ(cache.get("ns1/a")->at("metadata").at("resourceVersion"), "7") << "the relist updated a";
    EXPECT_TRUE(cache.get("ns1/b")) << "another informer's relist erased b";
    EXPECT_FALSE(cache.get("ns2/c")) << "c, deleted during the outage, is dropped by its own relist";
    EXPECT_EQ(erased, (std::vector<std::string>{"ns2/c"}));
    fs::remove_all(dir);
}

// The cache keeps what the agent reads, not the server's field-ownership bookkeeping.
TEST(Informer, CachedObjectsHaveNoManagedFields) {
    const auto dir = fs::temp_directory_path() / ("systemk-informer-mf-" + std::to_string(getpid()));
    ASSERT_TRUE(systemk::testing::make_test_pki(dir));
    auto with_managed_fields = [](const std::string &name, const std::string &rv) {
        return R"({"metadata":{"name":")" + name + R"(","namespace":"ns","resourceVersion":")" + rv +
               R"(","managedFields":[{"manager":"kubectl","operation":"Update","fieldsV1":{"f:spec":{}}}]}})";
    };
    ScriptedServer server(dir, {R"({"items":[)" + with_managed_fields("a", "5") + R"(],"metadata":{"resourceVersion":"10"}})"},
                          {R"({"type":"ADDED","object":)" + with_managed_fields("b", "11") + "}\n"});
    asio::io_context io;
    kube::ApiClient client(io.get_executor(), kubeconfig_for(server, dir));
    kube::ObjectCache cache;
    auto informer = std::make_shared<kube::Informer>(client, "/api/v1/pods", "", cache, "pods");
    asio::co_spawn(io, informer->run(), asio::detached);
    for (int i = 0; i < 50 && !cache.get("ns/b"); ++i) io.run_for(std::chrono::milliseconds(100));
    informer->stop();
    for (const auto *key : {"ns/a", "ns/b"}) {
        const auto obj = cache.get(key);
        ASSERT_TRUE(obj) << key;
        EXPECT_FALSE(obj->at("metadata").as_object().contains("managedFields")) << key;
        EXPECT_EQ(obj->at("metadata").at("namespace").as_string(), "ns") << key;
    }
    fs::remove_all(dir);
}
