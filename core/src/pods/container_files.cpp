#include "pods/container_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "pods/pod_layout.h"
#include "pods/spec_error.h"

namespace systemk::pods {

namespace {

// Creates `dir` and its missing parents as 0700 root; an existing directory is tightened to 0700.
void make_private_dir(const std::filesystem::path &dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
    if (::chmod(dir.c_str(), 0700) != 0) throw std::runtime_error("cannot chmod " + dir.string() + ": " + std::strerror(errno));
}

}  // namespace

void write_env_file(const std::string &path, const std::vector<std::pair<std::string, std::string>> &vars) {
    std::string content;
    for (const auto &[name, value] : vars) {
        try {
            content += units::environment_file_line(name, value);
        } catch (const units::QuotingError &e) {
            throw SpecError("env", e.what());
        }
    }
    const std::filesystem::path target(path);
    make_private_dir(target.parent_path());
    // Secret-derived values never touch persistent disk (as secret volumes don't).
    if (!is_on_memory_fs(target.parent_path().string()))
        throw SpecError("env", "the runtime directory " + target.parent_path().string() +
                                   " is not on tmpfs; secret-derived variables are not written to disk");
    const auto tmp = target.parent_path() / ("." + target.filename().string() + ".tmp");
    ::unlink(tmp.c_str());
    // O_EXCL|O_NOFOLLOW: never write through a planted file; mode 0600 from the start, so the
    // content is never readable by anyone but root, not even briefly.
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + tmp.string() + ": " + std::strerror(errno));
    size_t done = 0;
    while (done < content.size()) {
        const auto n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(err));
        }
        done += static_cast<size_t>(n);
    }
    ::fchmod(fd, 0600);
    ::close(fd);
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw std::runtime_error("cannot replace " + target.string() + ": " + std::strerror(err));
    }
}

// pin_subpaths and remove_pod_files: subpath_pin.cpp.

}  // namespace systemk::pods
