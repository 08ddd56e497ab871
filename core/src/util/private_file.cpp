#include "util/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace systemk::util {
namespace {

[[noreturn]] void fail(const std::string &what, const std::filesystem::path &p) {
    throw std::system_error(errno, std::generic_category(), what + " " + p.string());
}

}  // namespace

void write_private_file(const std::filesystem::path &path, const std::string &content) {
    const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    if (!std::filesystem::exists(dir)) {
        std::filesystem::create_directories(dir);
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
    }
    const auto tmp = dir / ("." + path.filename().string() + ".tmp");
    // A leftover (or planted) temporary file is never reused: removed, then created exclusively.
    ::unlink(tmp.c_str());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) fail("cannot create", tmp);
    auto abandon = [&](const char *what) {
        const int saved = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        errno = saved;
        fail(what, tmp);
    };
    if (::fchmod(fd, 0600) != 0) abandon("cannot restrict");  // whatever the umask
    size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) abandon("cannot write");
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) abandon("cannot sync");
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int saved = errno;
        ::unlink(tmp.c_str());
        errno = saved;
        fail("cannot rename into", path);
    }
    // The rename itself survives a crash only once the directory is synced.
    if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace systemk::util
