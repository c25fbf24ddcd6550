// LmdbHistory: a durable History in an LMDB environment (count, age and size limits).
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "store/history.hpp"
#include "util/lmdb.hpp"

namespace mercure {

struct LmdbOptions {
    // How appends are made durable.
    //
    //  Always  Each append (and each retention delete) commits with fsync: when append()
    //          returns, the update survives a crash of the hub or of the kernel and a power
    //          loss. Costs one commit with two fdatasync() calls per publish.
    //  Batch   Appends commit without fsync (MDB_NOSYNC) and flush() calls
    //          mdb_env_sync(force): the hub flushes once per loop turn before acknowledging
    //          publishers, so a burst of publishes costs one fsync (group commit). When
    //          append() returns, the update survives a crash or kill of the hub (it is in the
    //          kernel's page cache); once flush() returns it also survives a kernel crash or a
    //          power loss. A power loss between two flushes loses the appends since the last
    //          one, and on a file system that reorders writes may leave the store corrupt:
    //          open() then refuses it and says to move it aside. Destruction flushes.
    //  None    Like Batch, but flush() does nothing and neither does destruction: the kernel
    //          writes the pages back when it sees fit (vm.dirty_expire_centisecs, 30 s by
    //          default). Survives a crash of the hub; a power loss loses recent appends or
    //          corrupts the store as above.
    enum class Sync { Always, Batch, None };

    std::string path;                 // a directory, created (mode 0700) when missing
    std::size_t max_entries = 1000;   // updates kept; 0 keeps none
    std::int64_t max_age_ms = 0;      // 0: no age limit
    std::size_t max_bytes = 0;        // 0: no limit; else drop the oldest while the data exceeds it
    Sync sync = Sync::Batch;
    std::size_t initial_map_size = std::size_t{64} << 20;  // at least 1 MiB
    std::size_t max_map_size = std::size_t{16} << 30;      // at least initial_map_size
    std::size_t cache_entries = 256;  // newest entries kept decoded in memory for replays
};

// A History stored in one LMDB environment at `path`, with three named databases:
//   updates  8-byte big-endian sequence -> versioned binary record (update, published_at_ms)
//   ids      update id -> 8-byte big-endian sequence of the NEWEST entry with that id (ids that
//            LMDB cannot hold as keys, empty or over 511 bytes or starting with NUL, are keyed
//            by NUL + their SHA-256)
//   meta     format_version, creator_version, and next_sequence once the store was emptied
// Stored sequences are contiguous (appends at the end, deletes from the front), so the state
// kept in memory is the first and next sequence, the oldest entry's time and the newest id;
// sequences continue across reopens. Retention never scans: the count and size limits delete
// from the first key in the append's own transaction, the age limit in expire().
//
// The map starts at initial_map_size and doubles on MDB_MAP_FULL up to max_map_size. The data
// is kept under 3/4 of max_map_size (an implicit max_bytes), since an LMDB map without free
// pages cannot even delete; should the map fill all the same, the oldest entries are dropped
// to make room, and append() fails when even an empty store cannot take the update.
// bytes_on_disk() may exceed max_bytes: LMDB keeps freed pages in the file for reuse and never
// shrinks it; max_bytes bounds the pages the data itself occupies.
//
// Threading: one event loop uses it, from one thread at a time (the environment is opened with
// MDB_NOTLS, so the handles are not tied to a thread). A second open of the same path, in this
// process or another, is refused while this one lives.
//
// Errors: open() returns an Error naming the path for a store it cannot use (unreadable,
// corrupt, newer format) and never wipes one. append() and flush() return an Error for a
// failed write (disk full, I/O error, store full). expire() and set_limits() keep the entries
// they could not delete and leave the reason for take_error(). A read that finds the store
// corrupt (the const methods have no error channel) stops the hub with a message naming the
// path: restarting then refuses the store until it is moved aside.
class LmdbHistory final : public History {
public:
    // Opens (creating when missing) the store at options.path and applies the limits.
    static Result<std::unique_ptr<LmdbHistory>> open(const LmdbOptions& options);
    ~LmdbHistory() override;
    LmdbHistory(const LmdbHistory&) = delete;
    LmdbHistory& operator=(const LmdbHistory&) = delete;

    Result<std::uint64_t> append(Update update, FramePtr frame, std::int64_t now_ms) override;
    std::optional<std::uint64_t> sequence_of(std::string_view id) const override;
    HistoryEntryPtr next_after(std::uint64_t after) const override;
    std::uint64_t horizon() const override { return first_sequence_ - 1; }
    std::optional<std::string> last_id() const override { return last_id_; }
    void expire(std::int64_t now_ms) override;
    void set_limits(std::size_t max_entries, std::int64_t max_age_ms) override;
    std::size_t size() const override { return static_cast<std::size_t>(next_sequence_ - first_sequence_); }
    Status flush() override;
    bool durable() const override { return true; }

    // Changes the size limit (reload); excess entries are dropped at once.
    void set_max_bytes(std::size_t max_bytes) override;

    // Size of the data file: its high-water mark, which LMDB never shrinks.
    std::size_t bytes_on_disk() const;

    // Bytes of the pages the stored data occupies now (what max_bytes bounds).
    std::size_t bytes_used() const;

    // Current size of the memory map (grows up to max_map_size).
    std::size_t map_size() const { return map_size_; }

    // The failure expire() or set_limits() could not return, once; nullopt when none.
    std::optional<Error> take_error() override;

    const std::string& path() const { return path_; }

private:
    // Which entries drop_front() deletes, oldest first.
    enum class DropRule { Oldest, TooOld, OverSize };
    // What a transaction deleted from the front, applied to the memory state after commit.
    struct Dropped {
        std::uint64_t count = 0;
        std::int64_t oldest_ms = 0;  // published_at of the new oldest entry, if any remains
    };
    // An exclusive flock() on the store's directory, held while the store is open.
    class DirLock {
    public:
        explicit DirLock(int fd = -1) : fd_(fd) {}
        DirLock(DirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
        DirLock& operator=(DirLock&&) = delete;
        ~DirLock();

    private:
        int fd_;
    };

    LmdbHistory(const LmdbOptions& options, DirLock lock, lmdb::Env env);
    Status load();
    template <typename Body>
    int write(Body body);
    int append_txn(MDB_txn* txn, std::uint64_t sequence, std::string_view id_key, Dropped& dropped);
    int drop_front(MDB_txn* txn, DropRule rule, std::uint64_t limit, std::int64_t now_ms, Dropped& dropped);
    int drop_batches(DropRule rule, std::uint64_t limit, std::int64_t now_ms);
    int enforce_size_limits();
    void apply(const Dropped& dropped);
    bool grow_map();
    int make_room();
    std::size_t used_bytes(MDB_txn* txn) const;
    std::size_t byte_limit() const;
    MDB_txn* begin_read() const;
    HistoryEntryPtr read_entry(std::uint64_t sequence) const;
    std::string id_key(std::string_view id) const;
    [[noreturn]] void fatal(const std::string& what, int rc) const;
    Error error(const std::string& what, int rc) const;

    std::string path_;
    std::size_t max_entries_;
    std::int64_t max_age_ms_;
    std::size_t max_bytes_;
    LmdbOptions::Sync sync_;
    std::size_t map_size_;
    std::size_t max_map_size_;
    std::size_t cache_entries_;

    // Destroyed in reverse order: the read transaction, then the environment, then the lock.
    DirLock lock_;
    lmdb::Env env_;
    mutable lmdb::ReadTxn reader_;
    MDB_dbi updates_ = 0;
    MDB_dbi ids_ = 0;
    MDB_dbi meta_ = 0;
    std::size_t page_size_ = 4096;
    std::size_t max_key_size_ = 511;

    std::uint64_t first_sequence_ = 1;       // sequence of the oldest stored entry
    std::uint64_t next_sequence_ = 1;
    std::int64_t oldest_published_ms_ = 0;   // meaningful when size() > 0
    std::optional<std::string> last_id_;
    std::deque<HistoryEntryPtr> cache_;      // the newest entries, contiguous, ending at next - 1
    bool unsynced_ = false;                  // written since the last flush()
    std::optional<Error> pending_error_;
    std::string record_;                     // encoding scratch buffer
};

} // namespace mercure
