#pragma once
// A container's output read from the journal (sd-journal): the entries carrying the unit's
// LogExtraFields for exactly this pod UID and container, optionally of one run (invocation) of
// the unit. systemd's own lines about the unit ("Started …") come from PID 1 and carry no such
// fields, so they never match. Not thread-safe: one reader per request, on one thread.
#include <systemd/sd-journal.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "server/log_options.h"

namespace systemk::server {

class JournalError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Turns journal entries into the bytes the client gets: each message as written (a newline
// after it unless journald split an over-long line there), the optional timestamp prefix,
// and no byte past limitBytes.
class LogFormatter {
public:
    LogFormatter(bool timestamps, std::optional<int64_t> limit_bytes) : timestamps_(timestamps), left_(limit_bytes) {}
    // Appends one entry to `out`; false once the byte limit is reached.
    bool append(std::string &out, int64_t realtime_usec, std::string_view message, bool newline);
    bool exhausted() const { return left_ && *left_ <= 0; }

private:
    bool timestamps_;
    std::optional<int64_t> left_;
};

struct ContainerMatch {
    std::string pod_uid;
    std::string container;
    std::string invocation_id;  // empty: every run
};

class ContainerJournal {
public:
    // Throws JournalError when the journal cannot be opened.
    explicit ContainerJournal(const ContainerMatch &match);
    ~ContainerJournal();
    ContainerJournal(const ContainerJournal &) = delete;
    ContainerJournal &operator=(const ContainerJournal &) = delete;

    // Places the reader so that the next entries are the ones the options ask for (the last
    // tailLines entries not older than since, or everything from since on).
    void position(const LogOptions &options);
    // Formats entries after the position into `out` until it holds about `budget` bytes.
    // Returns true if more entries are ready now, false at the end of what is there.
    bool read(LogFormatter &formatter, std::string &out, size_t budget);
    // For follow: a descriptor that becomes readable when the journal changes; call
    // changed() after it did.
    int wait_fd();
    void changed();

    // The invocation of the container's unit, among its runs in the journal, that ran last
    // before `current` (the run systemd reports now); nullopt if there is none.
    static std::optional<std::string> previous_invocation(const std::string &pod_uid, const std::string &container,
                                                          const std::string &current);

private:
    bool next();
    sd_journal *journal_ = nullptr;
    std::optional<int64_t> since_;
    bool pending_ = false;  // the reader stands on an entry not yet read
};

}  // namespace systemk::server
