#include "server/container_journal.h"

#include <cerrno>
#include <cstring>

namespace systemk::server {
namespace {

std::string_view field(sd_journal *j, const char *name) {
    const void *data = nullptr;
    size_t len = 0;
    if (sd_journal_get_data(j, name, &data, &len) < 0) return {};
    const std::string_view v(static_cast<const char *>(data), len);
    const size_t prefix = std::strlen(name) + 1;  // "NAME="
    return v.size() >= prefix ? v.substr(prefix) : std::string_view();
}

void add_match(sd_journal *j, const std::string &name, const std::string &value) {
    const auto m = name + "=" + value;
    if (sd_journal_add_match(j, m.data(), m.size()) < 0) throw JournalError("cannot match journal field " + name);
}

sd_journal *open_matching(const ContainerMatch &match) {
    sd_journal *j = nullptr;
    if (const int r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY); r < 0)
        throw JournalError(std::string("cannot open the journal: ") + std::strerror(-r));
    // Whole messages, however long (the default cuts fields at 64 KiB).
    sd_journal_set_data_threshold(j, 0);
    try {
        add_match(j, "SYSTEMK_POD_UID", match.pod_uid);
        add_match(j, "SYSTEMK_CONTAINER_NAME", match.container);
        if (!match.invocation_id.empty()) add_match(j, "_SYSTEMD_INVOCATION_ID", match.invocation_id);
    } catch (...) {
        sd_journal_close(j);
        throw;
    }
    return j;
}

}  // namespace

bool LogFormatter::append(std::string &out, int64_t realtime_usec, std::string_view message, bool newline) {
    if (exhausted()) return false;
    const size_t start = out.size();
    if (timestamps_) {
        out += format_rfc3339_nano(realtime_usec);
        out += ' ';
    }
    out += message;
    if (newline) out += '\n';
    if (left_) {
        const auto added = static_cast<int64_t>(out.size() - start);
        if (added >= *left_) {
            out.resize(start + static_cast<size_t>(*left_));
            *left_ = 0;
            return false;
        }
        *left_ -= added;
    }
    return true;
}

ContainerJournal::ContainerJournal(const ContainerMatch &match) : journal_(open_matching(match)) {}

ContainerJournal::~ContainerJournal() { sd_journal_close(journal_); }

void ContainerJournal::position(const LogOptions &options) {
    since_ = options.since_usec;
    if (options.tail_lines) {
        sd_journal_seek_tail(journal_);
        if (*options.tail_lines == 0) {
            sd_journal_previous(journal_);  // stand on the last entry: only newer ones follow
        } else {
            pending_ = sd_journal_previous_skip(journal_, static_cast<uint64_t>(*options.tail_lines)) > 0;
        }
    } else if (since_) {
        sd_journal_seek_realtime_usec(journal_, static_cast<uint64_t>(*since_));
    } else {
        sd_journal_seek_head(journal_);
    }
}

bool ContainerJournal::next() {
    if (pending_) {
        pending_ = false;
        return true;
    }
    const int r = sd_journal_next(journal_);
    if (r < 0) throw JournalError(std::string("cannot read the journal: ") + std::strerror(-r));
    return r > 0;
}

bool ContainerJournal::read(LogFormatter &formatter, std::string &out, size_t budget) {
    while (out.size() < budget) {
        if (formatter.exhausted() || !next()) return false;
        uint64_t usec = 0;
        if (sd_journal_get_realtime_usec(journal_, &usec) < 0) continue;
        if (since_ && static_cast<int64_t>(usec) < *since_) continue;
        // journald splits a line longer than LineMax= and marks the piece: no newline there.
        const bool newline = field(journal_, "_LINE_BREAK") != "line-max";
        formatter.append(out, static_cast<int64_t>(usec), field(journal_, "MESSAGE"), newline);
    }
    return !formatter.exhausted();
}

int ContainerJournal::wait_fd() {
    const int fd = sd_journal_get_fd(journal_);
    if (fd < 0) throw JournalError(std::string("cannot watch the journal: ") + std::strerror(-fd));
    return fd;
}

void ContainerJournal::changed() { sd_journal_process(journal_); }

std::optional<std::string> ContainerJournal::previous_invocation(const std::string &pod_uid, const std::string &container,
                                                                 const std::string &current) {
    ContainerJournal reader(ContainerMatch{pod_uid, container, {}});
    sd_journal_seek_tail(reader.journal_);
    while (sd_journal_previous(reader.journal_) > 0) {
        const auto id = field(reader.journal_, "_SYSTEMD_INVOCATION_ID");
        if (!id.empty() && id != current) return std::string(id);
    }
    return std::nullopt;
}

}  // namespace systemk::server
