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
#include <vector>

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

// Which entries are the container's output. journald takes _SYSTEMD_INVOCATION_ID from the
// unit's state when it reads a line, so the last lines of a process that is already gone can
// lack it; a run is therefore also a time window (from PID 1's first message about it, before
// its process starts, to the next run's), and an entry without the field belongs to the run
// whose window holds it.
struct ContainerMatch {
    // journald sets _SYSTEMD_UNIT itself (from the stream systemd opened for the unit), so no
    // other process can pass its lines off as the container's by sending its journal fields.
    std::string unit;
    std::string pod_uid;
    std::string container;
    std::string invocation_id;  // empty: every run
    std::optional<int64_t> from_usec;   // the run's window, when known
    std::optional<int64_t> until_usec;  // unset: the run goes on
};

// One run of a unit as PID 1 logged it.
struct UnitRunStart {
    std::string invocation_id;
    int64_t start_usec = 0;  // PID 1's first message about the run
    bool complete = false;   // that message is its "Starting …": the start is the run's own
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
    // (`who`: unit, pod UID and container; its run fields are ignored.)
    static std::optional<std::string> previous_invocation(const ContainerMatch &who, const std::string &current,
                                                          std::optional<int64_t> current_start_usec = std::nullopt);
    // The unit's last `max_runs` runs (of any pod that had its name), oldest first, from PID 1's
    // messages about it; empty when the journal no longer has them.
    static std::vector<UnitRunStart> unit_runs(const std::string &unit, size_t max_runs);
    // Whether any entry of the pod's container lies in [from, until).
    static bool has_entries(const ContainerMatch &who, int64_t from_usec, int64_t until_usec);

private:
    bool next();
    // Whether the entry the reader stands on belongs to the matched run.
    bool in_run();
    sd_journal *journal_ = nullptr;
    ContainerMatch match_;
    std::optional<int64_t> since_;
    bool pending_ = false;  // the reader stands on an entry not yet read
};

}  // namespace systemk::server
