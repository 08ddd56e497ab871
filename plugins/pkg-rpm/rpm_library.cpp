#include "rpm_library.h"

#include <rpm/header.h>
#include <rpm/rpmcrypto.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmfi.h>
#include <rpm/rpmio.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmps.h>
#include <rpm/rpmtag.h>
#include <rpm/rpmts.h>
#include <rpm/rpmver.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

namespace pkg_rpm {
namespace {

using pkg_native::FileIdentity;
using pkg_native::InstalledPackage;
using pkg_native::NativeError;

// librpm reports through rpmlog; the messages of one call are collected for its error text
// instead of going to the agent's stderr.
std::mutex log_mutex;
std::string *log_sink = nullptr;
int collect_log(rpmlogRec rec, rpmlogCallbackData) {
    std::lock_guard lock(log_mutex);
    if (log_sink && rpmlogRecPriority(rec) <= RPMLOG_WARNING) {
        std::string m = rpmlogRecMessage(rec);
        while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
        for (auto &c : m)
            if (c == '\n' || c == '\t') c = ' ';
        if (!m.empty()) *log_sink += (log_sink->empty() ? "" : "; ") + m;
    }
    return 0;  // never rpm's default printing
}

// Collects librpm's messages while it lives; what() gives them.
class LogCapture {
public:
    LogCapture() {
        std::lock_guard lock(log_mutex);
        log_sink = &text_;
    }
    ~LogCapture() {
        std::lock_guard lock(log_mutex);
        log_sink = nullptr;
    }
    std::string detail() const { return text_.empty() ? "" : ": " + text_; }

private:
    std::string text_;
};

// librpm's configuration (macros, rpmrc) is process-wide: read with the first library
// instance and freed with the last, so that unloading the plugin leaves nothing behind.
std::mutex config_mutex;
int config_users = 0;

void configure() {
    std::lock_guard lock(config_mutex);
    if (config_users == 0) {
        rpmlogSetCallback(&collect_log, nullptr);
        if (rpmReadConfigFiles(nullptr, nullptr) != 0) throw NativeError(SYSTEMK_ERR_INTERNAL, "librpm cannot read its configuration");
    }
    ++config_users;
}

void unconfigure() {
    std::lock_guard lock(config_mutex);
    if (--config_users > 0) return;
    rpmFreeMacros(nullptr);
    rpmFreeMacros(rpmCLIMacroContext);
    rpmFreeRpmrc();
    rpmFreeCrypto();
    rpmlogSetCallback(nullptr, nullptr);
    rpmlogClose();
}

struct TsDeleter {
    void operator()(rpmts ts) const { rpmtsFree(ts); }
};
using Ts = std::unique_ptr<std::remove_pointer_t<rpmts>, TsDeleter>;

std::string tag_string(Header h, rpmTagVal tag) {
    char *s = headerGetAsString(h, tag);
    std::string out = s ? s : "";
    free(s);
    return out;
}

std::vector<std::string> files_of(rpmts ts, Header h) {
    std::vector<std::string> out;
    rpmfi fi = rpmfiNew(ts, h, RPMTAG_BASENAMES, RPMFI_FLAGS_QUERY);
    if (!fi) return out;
    while (rpmfiNext(fi) >= 0) out.emplace_back(rpmfiFN(fi));
    rpmfiFree(fi);
    return out;
}

// Opens the package files the transaction asks for and closes them again.
void *notify(const void *, const rpmCallbackType what, const rpm_loff_t, const rpm_loff_t, fnpyKey key, rpmCallbackData data) {
    auto *fd = static_cast<FD_t *>(data);
    if (what == RPMCALLBACK_INST_OPEN_FILE) {
        *fd = Fopen(static_cast<const char *>(key), "r.ufdio");
        if (*fd && Ferror(*fd)) {
            Fclose(*fd);
            *fd = nullptr;
        }
        return *fd;
    }
    if (what == RPMCALLBACK_INST_CLOSE_FILE && *fd) {
        Fclose(*fd);
        *fd = nullptr;
    }
    return nullptr;
}

class RpmLibrary final : public pkg_native::PackageLibrary {
public:
    RpmLibrary(std::string root, std::string dbpath, const systemk_host *host)
        : root_(std::move(root)), dbpath_(std::move(dbpath)), host_(host) {
        configure();
    }
    ~RpmLibrary() override { unconfigure(); }
    RpmLibrary(const RpmLibrary &) = delete;
    RpmLibrary &operator=(const RpmLibrary &) = delete;
    const char *manager() const override { return "rpm"; }
    bool is_package_file(std::string_view file) const override {
        return file.size() > 4 && file.ends_with(".rpm") && !file.ends_with(".src.rpm");
    }

    std::optional<InstalledPackage> installed(const std::string &name) override {
        LogCapture capture;
        if (!has_rpmdb(root_, dbpath_)) return std::nullopt;  // an empty root: nothing installed yet
        auto ts = make_ts();
        rpmdbMatchIterator mi = rpmtsInitIterator(ts.get(), RPMDBI_NAME, name.c_str(), 0);
        if (!mi) return std::nullopt;
        std::optional<InstalledPackage> out;
        if (Header h = rpmdbNextIterator(mi)) out = InstalledPackage{tag_string(h, RPMTAG_EVR), files_of(ts.get(), h)};
        rpmdbFreeIterator(mi);
        return out;
    }

    FileIdentity read_package_file(const std::string &path) override {
        LogCapture capture;
        auto ts = make_ts();
        Header h = read_header(ts.get(), path, capture);
        FileIdentity id{tag_string(h, RPMTAG_NAME), tag_string(h, RPMTAG_EVR)};
        headerFree(h);
        return id;
    }

    std::optional<FileIdentity> identity_from_file_name(std::string_view file) const override {
        // name-version-release.arch.rpm
        if (!is_package_file(file)) return std::nullopt;
        auto stem = file.substr(0, file.size() - 4);
        const auto dot = stem.rfind('.');
        if (dot == std::string_view::npos) return std::nullopt;
        stem = stem.substr(0, dot);
        const auto r = stem.rfind('-');
        if (r == std::string_view::npos || r == 0) return std::nullopt;
        const auto v = stem.rfind('-', r - 1);
        if (v == std::string_view::npos || v == 0) return std::nullopt;
        return FileIdentity{std::string(stem.substr(0, v)), std::string(stem.substr(v + 1))};
    }

    // "1.0-1" matches an installed "1.0-1" (or "0:1.0-1"); "1.0" matches any release of 1.0.
    bool version_matches(const std::string &installed, const std::string &wanted) const override {
        rpmver a = rpmverParse(installed.c_str());
        rpmver b = rpmverParse(wanted.c_str());
        bool same = false;
        if (a && b) {
            same = rpmverCmp(a, b) == 0;
            if (!same && !rpmverR(b) && rpmverV(a) && rpmverV(b))
                same = rpmvercmp(rpmverV(a), rpmverV(b)) == 0 && rpmvercmp(rpmverE(a) ? rpmverE(a) : "0",
                                                                             rpmverE(b) ? rpmverE(b) : "0") == 0;
        }
        rpmverFree(a);
        rpmverFree(b);
        return same;
    }

    void install(const std::string &path) override {
        LogCapture capture;
        std::error_code ec;
        std::filesystem::create_directories(pkg_native::under_root(root_, dbpath_), ec);
        if (ec) throw NativeError(SYSTEMK_ERR_INTERNAL, "cannot create the rpmdb directory: " + ec.message());
        auto ts = make_ts();
        Header h = read_header(ts.get(), path, capture);
        const int added = rpmtsAddInstallElement(ts.get(), h, path.c_str(), 1 /* upgrade */, nullptr);
        headerFree(h);
        if (added != 0) throw NativeError(SYSTEMK_ERR_INVALID, "rpm cannot add " + path + " to a transaction" + capture.detail());
        if (rpmtsCheck(ts.get()) != 0) throw NativeError(SYSTEMK_ERR_INTERNAL, "rpm cannot check dependencies" + capture.detail());
        problems(ts.get(), "the package cannot be installed into " + root_);
        if (rpmtsOrder(ts.get()) != 0) throw NativeError(SYSTEMK_ERR_INTERNAL, "rpm cannot order the transaction" + capture.detail());
        // No %pre/%post/%pretrans/%posttrans scriptlet and no trigger: nothing the package
        // runs at install time may start its daemon (or anything else) outside Kubernetes.
        rpmtsSetFlags(ts.get(), RPMTRANS_FLAG_NOSCRIPTS | _noTransScripts | _noTransTriggers);
        FD_t fd = nullptr;
        rpmtsSetNotifyCallback(ts.get(), &notify, &fd);
        const int rc = rpmtsRun(ts.get(), nullptr, RPMPROB_FILTER_NONE);
        if (fd) Fclose(fd);
        if (rc < 0) throw NativeError(SYSTEMK_ERR_INTERNAL, "the rpm transaction failed" + capture.detail());
        problems(ts.get(), "the rpm transaction was refused");
        if (rc > 0) throw NativeError(SYSTEMK_ERR_INVALID, "the rpm transaction was refused" + capture.detail());
    }

    std::string sha256_of_file(const std::string &path) const override {
        FD_t fd = Fopen(path.c_str(), "r.ufdio");
        if (!fd || Ferror(fd)) {
            if (fd) Fclose(fd);
            throw NativeError(SYSTEMK_ERR_INTERNAL, "cannot read " + path);
        }
        DIGEST_CTX ctx = rpmDigestInit(RPM_HASH_SHA256, RPMDIGEST_NONE);
        char buf[65536];
        ssize_t n;
        while ((n = Fread(buf, 1, sizeof buf, fd)) > 0) rpmDigestUpdate(ctx, buf, static_cast<size_t>(n));
        Fclose(fd);
        char *hex = nullptr;
        rpmDigestFinal(ctx, reinterpret_cast<void **>(&hex), nullptr, 1);
        std::string out = hex ? hex : "";
        free(hex);
        return out;
    }

private:
    Ts make_ts() {
        // %_dbpath is process-wide in librpm: set for this instance before each use (calls
        // never overlap, NativeResolver holds its lock).
        rpmPushMacro(nullptr, "_dbpath", nullptr, dbpath_.c_str(), RMIL_CMDLINE);
        Ts ts(rpmtsCreate());
        rpmtsSetRootDir(ts.get(), root_.c_str());
        // Digests are checked; signatures are not required: the root usually has no keyring,
        // and files come from the admin (a local path) or with a sha256 pin (https).
        rpmtsSetVfyLevel(ts.get(), RPMSIG_DIGEST_TYPE);
        return ts;
    }

    Header read_header(rpmts ts, const std::string &path, const LogCapture &capture) {
        FD_t fd = Fopen(path.c_str(), "r.ufdio");
        if (!fd || Ferror(fd)) {
            if (fd) Fclose(fd);
            throw NativeError(SYSTEMK_ERR_NOT_FOUND, "cannot open the package file " + path);
        }
        Header h = nullptr;
        const rpmRC rc = rpmReadPackageFile(ts, fd, path.c_str(), &h);
        Fclose(fd);
        if (rc == RPMRC_NOKEY || rc == RPMRC_NOTTRUSTED)
            pkg_native::log(host_, SYSTEMK_LOG_WARN, "the signature of " + path + " is not checked: no trusted key in " + root_);
        else if (rc != RPMRC_OK || !h) {
            if (h) headerFree(h);
            throw NativeError(SYSTEMK_ERR_INVALID, path + " is not a readable rpm package" + capture.detail());
        }
        return h;
    }

    // Throws with every problem rpm found (missing dependencies, conflicts, wrong arch), if any.
    void problems(rpmts ts, const std::string &what) {
        rpmps ps = rpmtsProblems(ts);
        std::string text;
        rpmpsi it = rpmpsInitIterator(ps);
        while (rpmProblem p = rpmpsiNext(it)) {
            char *s = rpmProblemString(p);
            text += (text.empty() ? "" : "; ") + std::string(s ? s : "?");
            free(s);
        }
        rpmpsFreeIterator(it);
        rpmpsFree(ps);
        if (!text.empty()) throw NativeError(SYSTEMK_ERR_INVALID, what + ": " + text + " (nothing was installed)");
    }

    std::string root_, dbpath_;
    const systemk_host *host_;
};

}  // namespace

std::unique_ptr<pkg_native::PackageLibrary> make_rpm_library(const std::string &root, const std::string &dbpath,
                                                             const systemk_host *host) {
    return std::make_unique<RpmLibrary>(root, dbpath, host);
}


}  // namespace pkg_rpm
