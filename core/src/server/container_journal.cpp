#include "server/container_journal.h"

#include <systemd/sd-messages.h>

#include <cerrno>
#include <cstring>

namespace systemk::server {
namespace {

constexpr int64_t kLateLineUsec = 1000000;

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
        add_match(j, "_SYSTEMD_UNIT", match.unit);
        add_match(j, "SYSTEMK_POD_UID", match.pod_uid);
        add_match(j, "SYSTEMK_CONTAINER_NAME", match.container);
        // With a window, entries without the field are sorted by time in in_run().
        if (!match.invocation_id.empty() && !match.from_usec) add_match(j, "_SYSTEMD_INVOCATION_ID", match.invocation_id);
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

ContainerJournal::ContainerJournal(const ContainerMatch &match) : journal_(open_matching(match)), match_(match) {}

bool ContainerJournal::in_run() {
    if (!match_.from_usec) return true;  // the journal's own match did it
    const auto id = field(journal_, "_SYSTEMD_INVOCATION_ID");
    if (!id.empty()) return id == match_.invocation_id;
    uint64_t usec = 0;
    if (sd_journal_get_realtime_usec(journal_, &usec) < 0) return false;
    const auto t = static_cast<int64_t>(usec);
    return t >= *match_.from_usec && (!match_.until_usec || t < *match_.until_usec);
}

ContainerJournal::~ContainerJournal() { sd_journal_close(journal_); }

void ContainerJournal::position(const LogOptions &options) {
    since_ = options.since_usec;
    if (match_.from_usec && (!since_ || *since_ < *match_.from_usec)) since_ = match_.from_usec;
    if (options.tail_lines && *options.tail_lines > 0 && match_.from_usec) {
        // Count back only the run's entries, from the end of its window.
        if (match_.until_usec) sd_journal_seek_realtime_usec(journal_, static_cast<uint64_t>(*match_.until_usec));
        else sd_journal_seek_tail(journal_);
        int64_t counted = 0;
        bool moved = false, before_window = false;
        while (counted < *options.tail_lines && sd_journal_previous(journal_) > 0) {
            moved = true;
            uint64_t usec = 0;
            if (sd_journal_get_realtime_usec(journal_, &usec) == 0 && static_cast<int64_t>(usec) < *match_.from_usec) {
                before_window = true;
                break;
            }
            if (in_run()) ++counted;
        }
        // Standing on the earliest entry to send (also when the journal has no earlier one):
        // read() starts there; before the window, it starts with the next one.
        pending_ = moved && !before_window;
    } else if (options.tail_lines) {
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
        // Past a finished run's window (and the moment its last lines may take to arrive) lies
        // only the next run: stop instead of walking through all of it.
        if (match_.until_usec && static_cast<int64_t>(usec) >= *match_.until_usec + kLateLineUsec) return false;
        if (!in_run()) continue;
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

std::optional<std::string> ContainerJournal::previous_invocation(const ContainerMatch &who, const std::string &current,
                                                                 std::optional<int64_t> current_start_usec) {
    ContainerJournal reader(ContainerMatch{who.unit, who.pod_uid, who.container, {}, {}, {}});
    // From the current run's start where known: its own lines can be many.
    if (current_start_usec) sd_journal_seek_realtime_usec(reader.journal_, static_cast<uint64_t>(*current_start_usec));
    else sd_journal_seek_tail(reader.journal_);
    while (sd_journal_previous(reader.journal_) > 0) {
        const auto id = field(reader.journal_, "_SYSTEMD_INVOCATION_ID");
        if (!id.empty() && id != current) return std::string(id);
    }
    return std::nullopt;
}

std::vector<UnitRunStart> ContainerJournal::unit_runs(const std::string &unit, size_t max_runs) {
    sd_journal *j = nullptr;
    if (const int r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY); r < 0)
        throw JournalError(std::string("cannot open the journal: ") + std::strerror(-r));
    std::vector<UnitRunStart> newest_first;
    try {
        add_match(j, "_PID", "1");
        add_match(j, "UNIT", unit);
        sd_journal_seek_tail(j);
        // Backwards: a run's first message is behind all its others, and once an older run's
        // message shows up, every newer run's start has been seen.
        while (sd_journal_previous(j) > 0) {
            const auto id = field(j, "INVOCATION_ID");
            uint64_t usec = 0;
            if (id.empty() || sd_journal_get_realtime_usec(j, &usec) < 0) continue;
            if (newest_first.empty() || newest_first.back().invocation_id != id) {
                if (newest_first.size() == max_runs + 1) break;
                newest_first.push_back(UnitRunStart{std::string(id), static_cast<int64_t>(usec), false});
            } else {
                newest_first.back().start_usec = static_cast<int64_t>(usec);
            }
            // "Starting …" comes before the process: a run whose journal lost it has no known start.
            if (field(j, "MESSAGE_ID") == SD_MESSAGE_UNIT_STARTING_STR) newest_first.back().complete = true;
        }
    } catch (...) {
        sd_journal_close(j);
        throw;
    }
    sd_journal_close(j);
    // The oldest one collected may not have shown its first message yet.
    if (newest_first.size() == max_runs + 1) newest_first.pop_back();
    return {newest_first.rbegin(), newest_first.rend()};
}

bool ContainerJournal::has_entries(const ContainerMatch &who, int64_t from_usec, int64_t until_usec) {
    ContainerJournal reader(ContainerMatch{who.unit, who.pod_uid, who.container, {}, {}, {}});
    sd_journal_seek_realtime_usec(reader.journal_, static_cast<uint64_t>(from_usec));
    while (sd_journal_next(reader.journal_) > 0) {
        uint64_t usec = 0;
        if (sd_journal_get_realtime_usec(reader.journal_, &usec) < 0) continue;
        const auto t = static_cast<int64_t>(usec);
        if (t >= until_usec) return false;
        if (t >= from_usec) return true;
    }
    return false;
}

}  // namespace systemk::server
