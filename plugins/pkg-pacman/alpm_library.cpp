#include "alpm_library.h"

#include <alpm.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

namespace pkg_pacman {
namespace {

using pkg_native::FileIdentity;
using pkg_native::InstalledPackage;
using pkg_native::NativeError;

struct HandleDeleter {
    void operator()(alpm_handle_t *h) const { alpm_release(h); }
};
using Handle = std::unique_ptr<alpm_handle_t, HandleDeleter>;

// The paths of a missing dependency or a conflict list, as one line.
std::string prepare_detail(alpm_errno_t err, alpm_list_t *data) {
    std::string out;
    for (auto *i = data; i; i = alpm_list_next(i)) {
        std::string item;
        if (err == ALPM_ERR_UNSATISFIED_DEPS) {
            auto *miss = static_cast<alpm_depmissing_t *>(i->data);
            char *dep = alpm_dep_compute_string(miss->depend);
            item = std::string(miss->target) + " needs " + (dep ? dep : "?");
            free(dep);
            alpm_depmissing_free(miss);
        } else if (err == ALPM_ERR_CONFLICTING_DEPS) {
            auto *c = static_cast<alpm_conflict_t *>(i->data);
            item = std::string(c->package1) + " conflicts with " + c->package2;
            alpm_conflict_free(c);
        } else if (err == ALPM_ERR_FILE_CONFLICTS) {
            auto *c = static_cast<alpm_fileconflict_t *>(i->data);
            item = std::string(c->file) + " exists";
            alpm_fileconflict_free(c);
        } else {
            continue;
        }
        out += (out.empty() ? "" : "; ") + item;
    }
    alpm_list_free(data);
    return out.empty() ? "" : " (" + out + ")";
}

class AlpmLibrary final : public pkg_native::PackageLibrary {
public:
    AlpmLibrary(std::string root, std::string dbpath, const systemk_host *host)
        : root_(std::move(root)), db_in_root_(dbpath), dbpath_(pkg_native::under_root(root_, dbpath)), host_(host) {}
    const char *manager() const override { return "pacman"; }
    bool is_package_file(std::string_view file) const override { return is_pacman_file(file); }

    std::optional<InstalledPackage> installed(const std::string &name) override {
        if (!has_local_db(root_, db_in_root_)) return std::nullopt;  // an empty root: nothing installed yet
        auto handle = open();
        alpm_pkg_t *pkg = alpm_db_get_pkg(alpm_get_localdb(handle.get()), name.c_str());
        if (!pkg) return std::nullopt;
        InstalledPackage out{alpm_pkg_get_version(pkg), {}};
        if (alpm_filelist_t *files = alpm_pkg_get_files(pkg))
            for (size_t i = 0; i < files->count; ++i) {
                std::string path = "/" + std::string(files->files[i].name);  // alpm lists them relative
                if (path.size() > 1 && path.back() == '/') path.pop_back();
                out.files.push_back(std::move(path));
            }
        return out;
    }

    FileIdentity read_package_file(const std::string &path) override {
        auto handle = open();
        alpm_pkg_t *pkg = load(handle.get(), path, 0);
        FileIdentity id{alpm_pkg_get_name(pkg), alpm_pkg_get_version(pkg)};
        alpm_pkg_free(pkg);
        return id;
    }

    std::optional<FileIdentity> identity_from_file_name(std::string_view file) const override {
        // name-pkgver-pkgrel-arch.pkg.tar.*
        const auto ext = file.find(".pkg.tar");
        if (ext == std::string_view::npos) return std::nullopt;
        auto stem = file.substr(0, ext);
        const auto a = stem.rfind('-');
        if (a == std::string_view::npos || a == 0) return std::nullopt;
        const auto r = stem.rfind('-', a - 1);
        if (r == std::string_view::npos || r == 0) return std::nullopt;
        const auto v = stem.rfind('-', r - 1);
        if (v == std::string_view::npos || v == 0) return std::nullopt;
        return FileIdentity{std::string(stem.substr(0, v)), std::string(stem.substr(v + 1, a - v - 1))};
    }

    // "1.0-1" matches an installed "1.0-1"; "1.0" matches any pkgrel of 1.0.
    bool version_matches(const std::string &installed, const std::string &wanted) const override {
        if (alpm_pkg_vercmp(installed.c_str(), wanted.c_str()) == 0) return true;
        if (wanted.find('-') != std::string::npos) return false;
        const auto dash = installed.rfind('-');
        return dash != std::string::npos && alpm_pkg_vercmp(installed.substr(0, dash).c_str(), wanted.c_str()) == 0;
    }

    void install(const std::string &path) override {
        auto handle = open();
        auto *h = handle.get();
        // No hooks: the root's hook directory would run commands after the transaction.
        alpm_option_set_hookdirs(h, nullptr);
        alpm_pkg_t *pkg = load(h, path, 1);
        // No install scriptlet: nothing the package runs may start its daemon outside Kubernetes.
        if (alpm_trans_init(h, ALPM_TRANS_FLAG_NOSCRIPTLET) != 0) {
            alpm_pkg_free(pkg);
            throw NativeError(alpm_errno(h) == ALPM_ERR_HANDLE_LOCK ? SYSTEMK_ERR_TRANSIENT : SYSTEMK_ERR_INTERNAL,
                              std::string("cannot start a pacman transaction in ") + root_ + ": " + alpm_strerror(alpm_errno(h)));
        }
        if (alpm_add_pkg(h, pkg) != 0) {
            const std::string why = alpm_strerror(alpm_errno(h));
            alpm_pkg_free(pkg);
            alpm_trans_release(h);
            throw NativeError(SYSTEMK_ERR_INVALID, "pacman cannot add " + path + ": " + why);
        }
        alpm_list_t *data = nullptr;
        if (alpm_trans_prepare(h, &data) != 0) {
            const auto err = alpm_errno(h);
            const auto detail = prepare_detail(err, data);
            alpm_trans_release(h);
            throw NativeError(SYSTEMK_ERR_INVALID, "the package cannot be installed into " + root_ + ": " + alpm_strerror(err) +
                                                       detail + " (nothing was installed)");
        }
        data = nullptr;
        if (alpm_trans_commit(h, &data) != 0) {
            const auto err = alpm_errno(h);
            const auto detail = prepare_detail(err, data);
            alpm_trans_release(h);
            throw NativeError(SYSTEMK_ERR_INTERNAL, std::string("the pacman transaction failed: ") + alpm_strerror(err) + detail);
        }
        alpm_trans_release(h);
    }

    std::string sha256_of_file(const std::string &path) const override {
        char *hex = alpm_compute_sha256sum(path.c_str());
        if (!hex) throw NativeError(SYSTEMK_ERR_INTERNAL, "cannot read " + path);
        std::string out = hex;
        free(hex);
        return out;
    }

private:
    // libalpm needs the database directory even to read a package file: an empty one does not
    // count as a database (has_local_db looks for its version file).
    Handle open() const {
        std::error_code ec;
        std::filesystem::create_directories(dbpath_, ec);
        alpm_errno_t err{};
        Handle h(alpm_initialize(root_.c_str(), dbpath_.c_str(), &err));
        if (!h)
            throw NativeError(SYSTEMK_ERR_INTERNAL,
                              "libalpm cannot open root " + root_ + " with database " + dbpath_ + ": " + alpm_strerror(err));
        return h;
    }

    // Signatures are not required (the root usually has no keyring): files come from the admin
    // (a local path) or with a sha256 pin (https). The archive itself is read and checked.
    alpm_pkg_t *load(alpm_handle_t *h, const std::string &path, int full) const {
        alpm_pkg_t *pkg = nullptr;
        if (alpm_pkg_load(h, path.c_str(), full, 0, &pkg) != 0 || !pkg)
            throw NativeError(SYSTEMK_ERR_INVALID, path + " is not a readable pacman package: " + alpm_strerror(alpm_errno(h)));
        return pkg;
    }

    std::string root_, db_in_root_, dbpath_;  // the database inside the root, and its full path
    const systemk_host *host_;
};

}  // namespace

std::unique_ptr<pkg_native::PackageLibrary> make_alpm_library(const std::string &root, const std::string &dbpath,
                                                              const systemk_host *host) {
    return std::make_unique<AlpmLibrary>(root, dbpath, host);
}

}  // namespace pkg_pacman
