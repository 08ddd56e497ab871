// pkg-rpm (librpm) and pkg-pacman (libalpm), loaded as the agent loads them: a tiny package
// built during the test with the manager's own build tool (rpmbuild, makepkg) is installed into
// a separate temporary root, found again by name, and its unit reported; no scriptlet runs.
// Needs root (rpm and alpm set file owners) and the build tools (tools/install-deps.sh).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "../../plugins/pkg-native/native_image.h"
#include "plugins/plugin_loader.h"
#include "test_pki.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using pkg_native::NativeImage;
using pkg_native::parse_native_image;

namespace {

bool on_path(const std::string &tool) {
    return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

bool any_file(std::string_view) { return true; }

// What differs between the two managers: how the test package is built and named.
struct Manager {
    std::string plugin;          // "pkg-rpm"
    std::string tools;           // tools the build needs, space-separated
    std::string version;         // the version the resolver reports for the test package
    fs::path (*build)(const fs::path &work, const fs::path &scriptlet_marker);
};

// The package's files: a script and a unit named after the package; its %post would leave a
// marker if scriptlets ran.
fs::path build_rpm(const fs::path &work, const fs::path &marker) {
    const auto spec = work / "hello.spec";
    std::ofstream(spec) << "Name: systemk-hello\nVersion: 1.2\nRelease: 3\nSummary: test\nLicense: MIT\n"
                           "BuildArch: noarch\nAutoReqProv: no\n%description\ntest\n%install\n"
                           "mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/lib/systemd/system %{buildroot}/var/lib/systemk-hello\n"
                           "printf '#!/bin/sh\\necho hello\\n' > %{buildroot}/usr/bin/systemk-hello\n"
                           "chmod 755 %{buildroot}/usr/bin/systemk-hello\n"
                           "printf '[Service]\\nExecStart=/usr/bin/systemk-hello\\n' > "
                           "%{buildroot}/usr/lib/systemd/system/systemk-hello.service\n"
                           // A Lua scriptlet runs inside librpm (in the root) and needs no /bin/sh there.
                           "%post -p <lua>\nio.open(\""
                        << marker.string()
                        << "\", \"w\"):close()\n%files\n/usr/bin/systemk-hello\n/usr/lib/systemd/system/systemk-hello.service\n"
                           "%dir /var/lib/systemk-hello\n";
    const auto cmd = "rpmbuild -bb --define '_topdir " + (work / "top").string() + "' --define '_build_id_links none' " +
                     spec.string() + " >" + (work / "build.log").string() + " 2>&1";
    if (std::system(cmd.c_str()) != 0) return {};
    return work / "top/RPMS/noarch/systemk-hello-1.2-3.noarch.rpm";
}

// makepkg refuses to run as root: the build runs as nobody in a directory nobody owns.
fs::path build_pacman(const fs::path &work, const fs::path &marker) {
    const auto dir = work / "pkgbuild";
    fs::create_directories(dir / "out");
    std::ofstream(dir / "PKGBUILD") << "pkgname=systemk-hello\npkgver=2.5\npkgrel=1\npkgdesc=test\narch=(any)\nlicense=(MIT)\n"
                                       "install=hello.install\npackage() {\n"
                                       "  mkdir -p \"$pkgdir/usr/bin\" \"$pkgdir/usr/lib/systemd/system\" "
                                       "\"$pkgdir/var/lib/systemk-hello\"\n"
                                       "  printf '#!/bin/sh\\necho hello\\n' > \"$pkgdir/usr/bin/systemk-hello\"\n"
                                       "  chmod 755 \"$pkgdir/usr/bin/systemk-hello\"\n"
                                       "  printf '[Service]\\nExecStart=/usr/bin/systemk-hello\\n' > "
                                       "\"$pkgdir/usr/lib/systemd/system/systemk-hello.service\"\n}\n";
    std::ofstream(dir / "hello.install") << "post_install() {\n  touch " << marker.string() << "\n}\n";
    const auto d = dir.string();
    const auto cmd = "chown -R nobody " + d + " && cd " + d +
                     " && setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=" + d + " PKGDEST=" + d +
                     "/out BUILDDIR=" + d + "/build SRCDEST=" + d + " PKGEXT=.pkg.tar.gz makepkg --nodeps --noconfirm >" +
                     (work / "build.log").string() + " 2>&1";
    if (std::system(cmd.c_str()) != 0) return {};
    return dir / "out/systemk-hello-2.5-1-any.pkg.tar.gz";
}

void PrintTo(const Manager &m, std::ostream *os) { *os << m.plugin; }

class NativeResolver : public ::testing::TestWithParam<Manager> {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root: the package managers set file owners";
        std::string tool_list = GetParam().tools, missing;
        for (size_t pos = 0; pos < tool_list.size();) {
            const auto end = std::min(tool_list.find(' ', pos), tool_list.size());
            const auto tool = tool_list.substr(pos, end - pos);
            if (!on_path(tool)) missing += " " + tool;
            pos = end + 1;
        }
        if (!missing.empty()) GTEST_SKIP() << "missing" << missing << " (tools/install-deps.sh installs them)";
        work_ = fs::temp_directory_path() / ("systemk-" + GetParam().plugin + "-test-" + std::to_string(getpid()));
        fs::remove_all(work_);
        fs::create_directories(work_ / "root");
        fs::permissions(work_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                   fs::perms::others_read | fs::perms::others_exec);
        marker_ = "/scriptlet-ran";  // inside the root, where scriptlets would run
        package_ = GetParam().build(work_, marker_);
        ASSERT_FALSE(package_.empty()) << "building the test package failed, see " << (work_ / "build.log");
        ASSERT_TRUE(fs::exists(package_)) << package_;
        ASSERT_TRUE(systemk::testing::make_test_pki(work_));
        systemk::plugins::LoadOptions options;
        options.config["systemk.fetch-ca-file"] = (work_ / "ca.crt").string();
        const auto &p = GetParam().plugin;
        options.config[p + ".root"] = (work_ / "root").string();
        options.config[p + ".state-dir"] = (work_ / "state").string();
        options.config[p + ".cache-dir"] = (work_ / "cache").string();
        ASSERT_TRUE(registry_.load_file(fs::path(SYSTEMK_PLUGIN_DIR) / (p + ".so"), options));
        plugin_ = registry_.plugins().front().get();
        ASSERT_EQ(plugin_->name(), p);
    }
    void TearDown() override {
        if (server_ > 0) {
            kill(server_, SIGTERM);
            waitpid(server_, nullptr, 0);
        }
        if (!work_.empty() && !HasFailure()) fs::remove_all(work_);
    }
    // A real TLS server (openssl s_server) with the test CA, serving work_/www; returns its URL.
    std::string serve(const fs::path &file) {
        fs::create_directories(work_ / "www");
        fs::copy_file(file, work_ / "www" / file.filename(), fs::copy_options::overwrite_existing);
        const int s = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(s, reinterpret_cast<sockaddr *>(&a), sizeof a);
        socklen_t len = sizeof a;
        getsockname(s, reinterpret_cast<sockaddr *>(&a), &len);
        close(s);
        const int port = ntohs(a.sin_port);
        server_ = fork();
        if (server_ == 0) {
            if (chdir((work_ / "www").c_str()) != 0) _exit(127);
            const auto accept = "127.0.0.1:" + std::to_string(port);
            execlp("openssl", "openssl", "s_server", "-quiet", "-accept", accept.c_str(), "-cert", (work_ / "srv.crt").c_str(),
                   "-key", (work_ / "srv.key").c_str(), "-WWW", static_cast<char *>(nullptr));
            _exit(127);
        }
        for (int i = 0; i < 100; ++i) {  // until it listens (bounded)
            const int c = socket(AF_INET, SOCK_STREAM, 0);
            a.sin_port = htons(static_cast<uint16_t>(port));
            const bool up = connect(c, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
            close(c);
            if (up) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return "https://127.0.0.1:" + std::to_string(port) + "/" + file.filename().string();
    }
    std::string sha256_of(const fs::path &file) {
        const auto out = work_ / "sum";
        EXPECT_EQ(std::system(("sha256sum " + file.string() + " >" + out.string()).c_str()), 0);
        std::ifstream in(out);
        std::string hex;
        in >> hex;
        return hex;
    }
    pid_t server_ = -1;
    json::object resolve(const std::string &image, bool dry_run) {
        return plugin_->resolve(json::object{{"image", image}, {"dryRun", dry_run}}).as_object();
    }
    std::string error_of(const std::string &image, bool dry_run = false) {
        try {
            resolve(image, dry_run);
        } catch (const systemk::plugins::PluginCallError &e) {
            return e.what();
        }
        return "no error";
    }
    fs::path root() const { return work_ / "root"; }

    fs::path work_, marker_, package_;
    systemk::plugins::PluginRegistry registry_;
    const systemk::plugins::Plugin *plugin_ = nullptr;
};

}  // namespace

TEST_P(NativeResolver, InstallsAPackageFileIntoItsRootAndFindsItsUnit) {
    const auto &version = GetParam().version;
    // A bare name is not claimed while the root has no package database.
    EXPECT_EQ(plugin_->claim("systemk-hello"), 0);
    EXPECT_EQ(plugin_->claim(package_.string()), 100);

    const auto before = resolve(package_.string(), true);
    EXPECT_EQ(before.at("package").as_string(), "systemk-hello");
    EXPECT_EQ(before.at("version").as_string(), version);
    EXPECT_EQ(before.at("present").as_bool(), false);
    EXPECT_FALSE(fs::exists(root() / "usr/bin/systemk-hello")) << "a dry run installed something";

    const auto installed = resolve(package_.string(), false);
    EXPECT_EQ(installed.at("package").as_string(), "systemk-hello");
    EXPECT_EQ(installed.at("version").as_string(), version);
    EXPECT_EQ(installed.at("installed").as_bool(), true);
    EXPECT_EQ(installed.at("unit").at("name").as_string(), "systemk-hello.service");
    EXPECT_EQ(installed.at("unit").at("path").as_string(), (root() / "usr/lib/systemd/system/systemk-hello.service").string());
    EXPECT_EQ(installed.at("dataDirectories").as_array(), json::array{"/var/lib/systemk-hello"});
    EXPECT_TRUE(fs::is_regular_file(root() / "usr/bin/systemk-hello"));
    EXPECT_TRUE(fs::is_regular_file(root() / "usr/lib/systemd/system/systemk-hello.service"));
    EXPECT_FALSE(fs::exists(root() / "scriptlet-ran") || fs::exists("/scriptlet-ran")) << "the package's install scriptlet ran";
    // systemk installed it, so its own unit is masked: it runs only as a pod.
    EXPECT_EQ(fs::read_symlink(root() / "etc/systemd/system/systemk-hello.service"), "/dev/null");

    // Again: present, nothing to do; and found by name (and name:version) in the root's database.
    const auto again = resolve(package_.string(), true);
    EXPECT_EQ(again.at("present").as_bool(), true);
    EXPECT_EQ(again.at("unit").at("name").as_string(), "systemk-hello.service");
    EXPECT_EQ(resolve(package_.string(), false).at("version").as_string(), version);
    const auto by_name = resolve("systemk-hello", true);
    EXPECT_EQ(by_name.at("version").as_string(), version);
    EXPECT_EQ(by_name.at("present").as_bool(), true);
    EXPECT_EQ(by_name.at("installed").as_bool(), true);
    EXPECT_EQ(by_name.at("unit").at("path").as_string(), (root() / "usr/lib/systemd/system/systemk-hello.service").string());
    EXPECT_EQ(resolve("systemk-hello:" + version, false).at("version").as_string(), version);
    EXPECT_GT(plugin_->claim("systemk-hello"), 0);
    EXPECT_LT(plugin_->claim("systemk-hello"), 50) << "pkg-apt (50) keeps bare names where dpkg's database is";
}

TEST_P(NativeResolver, BogusNamesAndFilesAreClearErrors) {
    EXPECT_NE(error_of("no-such-package").find("package no-such-package is not installed in " + root().string()),
              std::string::npos)
        << error_of("no-such-package");
    const auto missing_file = (work_ / "absent").string() + package_.filename().string();
    EXPECT_NE(error_of(missing_file).find("does not exist"), std::string::npos) << error_of(missing_file);
    const auto bogus = work_ / ("bogus-1.0-1" + package_.filename().string().substr(package_.filename().string().find('.')));
    std::ofstream(bogus) << "not a package\n";
    const auto e = error_of(bogus.string());
    EXPECT_NE(e.find("is not a readable " + GetParam().plugin.substr(4) + " package"), std::string::npos) << e;
    EXPECT_FALSE(fs::exists(root() / "usr/bin")) << "a failed call installed something";
    EXPECT_NE(error_of("http://example.invalid/" + package_.filename().string()).find("plain http:// is refused"),
              std::string::npos);
    // After an install, a pinned version that is not the installed one is named in the error.
    resolve(package_.string(), false);
    const auto wrong = error_of("systemk-hello:0.0.1", true);
    EXPECT_NE(wrong.find("package systemk-hello is installed in version " + GetParam().version + ", not 0.0.1"),
              std::string::npos)
        << wrong;
}

TEST_P(NativeResolver, AnHttpsPackageIsCheckedAgainstItsPinBeforeItIsInstalled) {
    const auto url = serve(package_);
    EXPECT_EQ(plugin_->claim(url), 100);
    // A dry run downloads nothing: the file's conventional name tells package and version.
    const auto dry = resolve(url, true);
    EXPECT_EQ(dry.at("package").as_string(), "systemk-hello");
    EXPECT_EQ(dry.at("version").as_string(), GetParam().version);
    EXPECT_EQ(dry.at("present").as_bool(), false);
    EXPECT_FALSE(fs::exists(work_ / "cache") && !fs::is_empty(work_ / "cache"));

    const std::string wrong(64, '0');
    const auto e = error_of(url + "#sha256=" + wrong);
    EXPECT_NE(e.find("not the pinned " + wrong + ": nothing was installed"), std::string::npos) << e;
    EXPECT_FALSE(fs::exists(root() / "usr/bin/systemk-hello"));
    EXPECT_TRUE(!fs::exists(work_ / "cache") || fs::is_empty(work_ / "cache"));

    const auto r = resolve(url + "#sha256=" + sha256_of(package_), false);
    EXPECT_EQ(r.at("version").as_string(), GetParam().version);
    EXPECT_EQ(r.at("installed").as_bool(), true);
    EXPECT_EQ(r.at("unit").at("name").as_string(), "systemk-hello.service");
    EXPECT_TRUE(fs::is_regular_file(root() / "usr/bin/systemk-hello"));
}

TEST_P(NativeResolver, AnImageOfAnotherFormIsAClearError) {
    const auto e = error_of("/usr/bin/true");
    EXPECT_NE(e.find("is neither a package name nor the absolute path or https URL"), std::string::npos) << e;
    EXPECT_NE(e.find("of a package file for " + GetParam().plugin.substr(4)), std::string::npos) << e;
}

INSTANTIATE_TEST_SUITE_P(Managers, NativeResolver,
                         ::testing::Values(Manager{"pkg-rpm", "rpmbuild", "1.2-3", &build_rpm},
                                           Manager{"pkg-pacman", "makepkg fakeroot bsdtar setpriv", "2.5-1", &build_pacman}),
                         [](const auto &info) { return info.param.plugin == "pkg-rpm" ? std::string("Rpm") : std::string("Pacman"); });

TEST(NativeImages, NamesFilesAndPinnedUrls) {
    auto name = parse_native_image("NetworkManager:1.2-3", &any_file);
    ASSERT_TRUE(name);
    EXPECT_EQ(name->kind, NativeImage::Name);
    EXPECT_EQ(name->name, "NetworkManager");
    EXPECT_EQ(name->version, "1.2-3");
    auto file = parse_native_image("/srv/x-1-1.noarch.rpm", &any_file);
    ASSERT_TRUE(file);
    EXPECT_EQ(file->kind, NativeImage::File);
    const std::string pin(64, 'a');
    auto url = parse_native_image("https://h/p/x-1-1.noarch.rpm#sha256=" + pin, &any_file);
    ASSERT_TRUE(url);
    EXPECT_EQ(url->kind, NativeImage::Url);
    EXPECT_EQ(url->url, "https://h/p/x-1-1.noarch.rpm");
    EXPECT_EQ(url->sha256, pin);
    EXPECT_FALSE(parse_native_image("https://h/p/x.rpm#sha256=abc", &any_file));
    EXPECT_FALSE(parse_native_image("https://h/p/x.rpm#md5=" + pin, &any_file));
    EXPECT_FALSE(parse_native_image("/srv/../etc/x.rpm", &any_file));
    EXPECT_FALSE(parse_native_image("a b", &any_file));
    EXPECT_FALSE(parse_native_image("-x", &any_file));
    EXPECT_FALSE(parse_native_image("", &any_file));
}

namespace {

// Which resolver gets an image when all of them are loaded, with the package databases that
// `dbs` names present in their roots ("dpkg", "rpm", "pacman").
std::string chosen(const fs::path &dir, const std::set<std::string> &dbs, const std::string &image) {
    fs::remove_all(dir);
    fs::create_directories(dir / "root/var/lib/rpm");
    fs::create_directories(dir / "root/var/lib/pacman/local");
    fs::create_directories(dir / "dpkg");
    if (dbs.count("dpkg")) std::ofstream(dir / "dpkg/status") << "";
    if (dbs.count("rpm")) std::ofstream(dir / "root/var/lib/rpm/rpmdb.sqlite") << "";
    if (dbs.count("pacman")) std::ofstream(dir / "root/var/lib/pacman/local/ALPM_DB_VERSION") << "9\n";
    systemk::plugins::LoadOptions options;
    options.config["pkg-apt.admindir"] = (dir / "dpkg").string();
    options.config["pkg-apt.state-dir"] = (dir / "state").string();
    for (const std::string p : {"pkg-rpm", "pkg-pacman"}) {
        options.config[p + ".root"] = (dir / "root").string();
        options.config[p + ".state-dir"] = (dir / "state").string();
    }
    systemk::plugins::PluginRegistry registry;
    for (const std::string p : {"pkg-apt", "pkg-pacman", "pkg-path", "pkg-rpm"})
        EXPECT_TRUE(registry.load_file(fs::path(SYSTEMK_PLUGIN_DIR) / (p + ".so"), options)) << p;
    const auto *plugin = registry.resolver_for(image);
    return plugin ? plugin->name() : "none";
}

}  // namespace

TEST(NativeClaims, BareNamesGoToTheHostsPackageDatabaseAndFilesToTheirManager) {
    const auto dir = fs::temp_directory_path() / ("systemk-claims-test-" + std::to_string(getpid()));
    // Debian keeps bare names even where rpm's and pacman's databases exist too.
    EXPECT_EQ(chosen(dir, {"dpkg", "rpm", "pacman"}, "bash"), "pkg-apt");
    EXPECT_EQ(chosen(dir, {"rpm", "pacman"}, "bash"), "pkg-rpm");
    EXPECT_EQ(chosen(dir, {"pacman"}, "bash"), "pkg-pacman");
    EXPECT_EQ(chosen(dir, {}, "bash"), "none");
    // Package files and URLs go to their manager whatever the host has; other paths to pkg-path.
    EXPECT_EQ(chosen(dir, {"dpkg"}, "/srv/x-1-1.noarch.rpm"), "pkg-rpm");
    EXPECT_EQ(chosen(dir, {"dpkg"}, "https://h/x-1-1.noarch.rpm#sha256=" + std::string(64, '0')), "pkg-rpm");
    EXPECT_EQ(chosen(dir, {"dpkg"}, "/srv/x-1-1-any.pkg.tar.zst"), "pkg-pacman");
    EXPECT_EQ(chosen(dir, {"dpkg"}, "/usr/bin/true"), "pkg-path");
    fs::remove_all(dir);
}
