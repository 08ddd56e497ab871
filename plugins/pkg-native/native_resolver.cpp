#include "native_resolver.h"

#include <unistd.h>

#include <boost/json.hpp>

#include "native_image.h"

namespace pkg_native {
namespace {

namespace json = boost::json;

}  // namespace

std::string NativeResolver::resolve(const std::string &request_json) {
    const auto request = json::parse(request_json).as_object();
    const std::string image(request.at("image").as_string());
    const bool dry_run = request.contains("dryRun") && request.at("dryRun").as_bool();
    const bool command = has_command(request_json);
    const std::string manager = library_->manager();
    if (image.starts_with("http://"))
        throw NativeError(SYSTEMK_ERR_INVALID, "'" + printable(image) + "': plain http:// is refused, packages are fetched over https only");
    const auto parsed = parse_native_image(image, [](std::string_view) { return true; });
    const auto ref = parsed && (parsed->kind == NativeImage::Name ||
                                library_->is_package_file(parsed->kind == NativeImage::File
                                                              ? std::string_view(parsed->path).substr(parsed->path.rfind('/') + 1)
                                                              : std::string_view(parsed->url).substr(parsed->url.rfind('/') + 1)))
                         ? parsed
                         : std::nullopt;
    if (!ref)
        throw NativeError(SYSTEMK_ERR_INVALID, "'" + printable(image) + "' is neither a package name nor the absolute path or https URL " +
                                                   "(optionally #sha256=<64 hex digits>) of a package file for " + manager);
    // A dry run never waits for a transaction in progress: the host then knows the real call
    // would wait (and runs it where waiting blocks nothing else).
    std::unique_lock lock(mutex_, std::defer_lock);
    if (!dry_run)
        lock.lock();
    else if (!lock.try_lock())
        throw NativeError(SYSTEMK_ERR_TRANSIENT, "another " + manager + " transaction is running");
    switch (ref->kind) {
        case NativeImage::Name: return resolve_name(ref->name, ref->version, dry_run, command);
        case NativeImage::File: return resolve_file(ref->path, ref->path, dry_run, command);
        case NativeImage::Url: return resolve_url(ref->url, ref->sha256, dry_run, command);
    }
    throw NativeError(SYSTEMK_ERR_INTERNAL, "unexpected image kind");
}

std::string NativeResolver::resolve_name(const std::string &name, const std::string &version, bool dry_run,
                                         bool has_command) {
    const std::string manager = library_->manager();
    const auto found = library_->installed(name);
    if (!found)
        throw NativeError(SYSTEMK_ERR_NOT_FOUND, "package " + name + " is not installed in " + settings_.root +
                                                     " (pkg-" + manager + " installs " + manager +
                                                     " package files given by path or https URL; it has no repositories)");
    if (!version.empty() && !library_->version_matches(found->version, version))
        throw NativeError(SYSTEMK_ERR_NOT_FOUND,
                          "package " + name + " is installed in version " + found->version + ", not " + version);
    Described d{name, found->version, installed_by_systemk(settings_.state_dir, name), dry_run, true, found->files};
    return describe(d, settings_.root, has_command);
}

std::string NativeResolver::resolve_file(const std::string &path, const std::string &origin, bool dry_run, bool has_command) {
    if (access(path.c_str(), R_OK) != 0)
        throw NativeError(SYSTEMK_ERR_NOT_FOUND, "the package file " + printable(path) + " does not exist or is not readable");
    const auto id = library_->read_package_file(path);
    auto found = library_->installed(id.name);
    const bool present = found && library_->version_matches(found->version, id.version);
    if (dry_run) {
        Described d{id.name, id.version, installed_by_systemk(settings_.state_dir, id.name), true, present,
                    present ? found->files : std::vector<std::string>{}};
        return describe(d, settings_.root, true);
    }
    if (!present) {
        const bool fresh = !found;
        log(host_, SYSTEMK_LOG_INFO, "installing " + id.name + " " + id.version + " from " + printable(origin) + " into " +
                                         settings_.root + (fresh ? "" : " (installed: " + found->version + ")"));
        library_->install(path);
        found = library_->installed(id.name);
        if (!found) throw NativeError(SYSTEMK_ERR_INTERNAL, "package " + id.name + " is not in the database after its installation");
        if (fresh) {
            remember_installed(host_, settings_.state_dir, id.name);
            mask_units(host_, settings_.root, id.name, found->files);
        }
    }
    Described d{id.name, found->version, installed_by_systemk(settings_.state_dir, id.name), false, true, found->files};
    return describe(d, settings_.root, has_command);
}

std::string NativeResolver::resolve_url(const std::string &url, const std::string &sha256, bool dry_run, bool has_command) {
    if (dry_run) {
        // Without downloading: the file's conventional name tells the package and version.
        const auto id = library_->identity_from_file_name(url.substr(url.rfind('/') + 1));
        if (!id) return json::serialize(json::object{{"present", false}});
        const auto found = library_->installed(id->name);
        const bool present = found && library_->version_matches(found->version, id->version);
        Described d{id->name, id->version, installed_by_systemk(settings_.state_dir, id->name), true, present,
                    present ? found->files : std::vector<std::string>{}};
        return describe(d, settings_.root, true);
    }
    const auto file = fetch_pinned(host_, url, sha256, settings_.cache_dir,
                                   [this](const std::string &p) { return library_->sha256_of_file(p); });
    return resolve_file(file, url, false, has_command);
}

}  // namespace pkg_native

namespace pkg_native {

systemk_status resolve_entry(NativeResolver *resolver, const char *request_json, systemk_output *result,
                             systemk_output *error) noexcept {
    try {
        if (!resolver) {
            systemk_output_puts(error, "the resolver did not initialise");
            return SYSTEMK_ERR_INTERNAL;
        }
        const auto out = resolver->resolve(request_json ? request_json : "");
        systemk_output_puts(result, out.c_str());
        return SYSTEMK_OK;
    } catch (const NativeError &e) {
        systemk_output_puts(error, e.what());
        return e.status;
    } catch (const std::exception &e) {
        systemk_output_puts(error, (std::string("bad request: ") + e.what()).c_str());
        return SYSTEMK_ERR_INVALID;
    } catch (...) {
        systemk_output_puts(error, "unexpected failure");
        return SYSTEMK_ERR_INTERNAL;
    }
}

NativeSettings read_settings(const systemk_host *host, const std::string &plugin) {
    NativeSettings s;
    s.root = config(host, "root", "/");
    if (s.root.empty()) s.root = "/";
    s.state_dir = config(host, "state-dir", "/var/lib/systemk/" + plugin);
    s.cache_dir = config(host, "cache-dir", "/var/cache/systemk/" + plugin);
    return s;
}

}  // namespace pkg_native
