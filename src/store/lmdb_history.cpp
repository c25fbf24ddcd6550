// LmdbHistory: a durable History in an LMDB environment (count, age and size limits).
#include "store/lmdb_history.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "build_config.hpp"
#include "store/history_record.hpp"

namespace mercure {

namespace {

// Version of the layout (databases, keys, record encoding) this code reads and writes. A store
// with a newer one is refused; an older one would be migrated in load().
constexpr std::uint32_t format_version = 1;

// Deletes per transaction when dropping many entries (reload, expiry): bounded so that one
// commit neither fills LMDB's dirty-page list nor stalls the loop.
constexpr std::uint64_t drop_batch = 4096;

// LMDB's unnamed database, which holds the named ones.
constexpr MDB_dbi main_dbi = 1;

// Smaller maps can fill so that no transaction finds a free page, not even to delete.
constexpr std::size_t min_map_size = std::size_t{1} << 20;

constexpr const char* meta_format_version = "format_version";
constexpr const char* meta_creator_version = "creator_version";
constexpr const char* meta_next_sequence = "next_sequence";

constexpr const char* move_aside = "move it aside to start with an empty history";

// Big-endian, so that LMDB's byte order is the numeric order.
struct SequenceKey {
    unsigned char bytes[8];

    explicit SequenceKey(std::uint64_t sequence)
    {
        for (int i = 7; i >= 0; --i, sequence >>= 8)
            bytes[i] = static_cast<unsigned char>(sequence & 0xff);
    }
    MDB_val val() { return MDB_val{sizeof bytes, bytes}; }
};

// Reads a big-endian number (a sequence key or value).
std::uint64_t read_be(const MDB_val& value)
{
    const auto* p = static_cast<const unsigned char*>(value.mv_data);
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < value.mv_size; ++i)
        n = (n << 8) | p[i];
    return n;
}

// Reads a meta value; MDB_NOTFOUND when absent.
int get_meta(MDB_txn* txn, MDB_dbi meta, const char* name, MDB_val& value)
{
    MDB_val key = lmdb::val(name);
    return mdb_get(txn, meta, &key, &value);
}

// Writes a meta value.
int put_meta(MDB_txn* txn, MDB_dbi meta, const char* name, MDB_val value)
{
    MDB_val key = lmdb::val(name);
    return mdb_put(txn, meta, &key, &value, 0);
}

// Resets the reusable read transaction at the end of a read.
struct ReadScope {
    lmdb::ReadTxn& reader;
    ~ReadScope() { reader.end(); }
};

// Rounds `n` up to a multiple of `unit`.
std::size_t round_up(std::size_t n, std::size_t unit)
{
    return (n + unit - 1) / unit * unit;
}

} // namespace

LmdbHistory::DirLock::~DirLock()
{
    if (fd_ >= 0)
        ::close(fd_);
}

LmdbHistory::LmdbHistory(const LmdbOptions& options, DirLock lock, lmdb::Env env)
    : path_(options.path), max_entries_(options.max_entries), max_age_ms_(options.max_age_ms),
      max_bytes_(options.max_bytes), sync_(options.sync), map_size_(options.initial_map_size),
      max_map_size_(options.max_map_size), cache_entries_(options.cache_entries), lock_(std::move(lock)),
      env_(std::move(env))
{
}

// Batch mode flushes on the way out; None leaves the pages to the kernel.
LmdbHistory::~LmdbHistory()
{
    if (sync_ == LmdbOptions::Sync::Batch && unsynced_)
        mdb_env_sync(env_.get(), 1);
}

Result<std::unique_ptr<LmdbHistory>> LmdbHistory::open(const LmdbOptions& options)
{
    const std::string& path = options.path;
    if (path.empty())
        return Error{"history store path is empty"};
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
        return Error{"cannot create history store directory " + path + ": " + std::strerror(errno)};
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return Error{"cannot open history store " + path + ": " + std::strerror(errno)};
    if (!S_ISDIR(st.st_mode))
        return Error{"history store " + path + " is not a directory: " + move_aside};

    // Locked before LMDB opens its own lock file, so a second opener never disturbs the first
    // one's reader table (closing any descriptor of a file drops this process's POSIX locks).
    int dir_fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0)
        return Error{"cannot open history store " + path + ": " + std::strerror(errno)};
    DirLock lock(dir_fd);
    if (::flock(dir_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return Error{"history store " + path + " is already open (by another mercure process?)"};
        return Error{"cannot lock history store " + path + ": " + std::strerror(errno)};
    }

    auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    LmdbOptions opts = options;
    opts.initial_map_size = round_up(std::max(opts.initial_map_size, min_map_size), page);
    opts.max_map_size = round_up(std::max(opts.max_map_size, opts.initial_map_size), page);

    lmdb::Env env;
    int rc = lmdb::env_create(env);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_maxdbs(env.get(), 3);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_mapsize(env.get(), opts.initial_map_size);
    if (rc != MDB_SUCCESS)
        return Error{"cannot set up history store " + path + ": " + mdb_strerror(rc)};
    unsigned int flags = MDB_NOTLS | (opts.sync == LmdbOptions::Sync::Always ? 0u : unsigned{MDB_NOSYNC});
    rc = mdb_env_open(env.get(), path.c_str(), flags, 0600);
    if (rc == MDB_INVALID)
        return Error{"history store " + path + " is corrupt (its data.mdb is not an LMDB file): " + move_aside};
    if (rc == MDB_VERSION_MISMATCH)
        return Error{"history store " + path + " was written by an incompatible LMDB version: " + move_aside};
    if (rc != MDB_SUCCESS)
        return Error{"history store " + path + " is unreadable (" + mdb_strerror(rc) + "): fix it, or " + move_aside};

    std::unique_ptr<LmdbHistory> history(new LmdbHistory(opts, std::move(lock), std::move(env)));
    if (Status loaded = history->load(); !loaded)
        return loaded.error();
    return history;
}

// Opens the databases, checks the format and reads the state kept in memory.
Status LmdbHistory::load()
{
    MDB_env* env = env_.get();
    MDB_stat env_stat{};
    MDB_envinfo info{};
    mdb_env_stat(env, &env_stat);
    mdb_env_info(env, &info);
    page_size_ = env_stat.ms_psize;
    map_size_ = info.me_mapsize;
    max_key_size_ = static_cast<std::size_t>(mdb_env_get_maxkeysize(env));
    auto corrupt = [this](const std::string& what) {
        return Error{"history store " + path_ + " is corrupt (" + what + "): " + move_aside};
    };

    bool created = false;
    lmdb::Txn txn;
    int rc = lmdb::txn_begin(env, 0, txn);
    if (rc == MDB_SUCCESS)
        rc = mdb_dbi_open(txn.get(), "updates", MDB_CREATE, &updates_);
    if (rc == MDB_SUCCESS)
        rc = mdb_dbi_open(txn.get(), "ids", MDB_CREATE, &ids_);
    if (rc == MDB_SUCCESS)
        rc = mdb_dbi_open(txn.get(), "meta", MDB_CREATE, &meta_);
    if (rc == MDB_INCOMPATIBLE)
        return Error{"history store " + path_ + " is an LMDB environment of another program: " + move_aside};
    if (rc != MDB_SUCCESS)
        return corrupt(mdb_strerror(rc));

    MDB_stat stat{};
    if ((rc = mdb_stat(txn.get(), updates_, &stat)) != MDB_SUCCESS)
        return corrupt(mdb_strerror(rc));
    MDB_val value;
    rc = get_meta(txn.get(), meta_, meta_format_version, value);
    if (rc == MDB_NOTFOUND) {
        if (stat.ms_entries != 0)
            return corrupt("updates without a format version");
        MDB_stat main{};
        if (mdb_stat(txn.get(), main_dbi, &main) == MDB_SUCCESS && main.ms_entries > 3)
            return Error{"history store " + path_ + " is an LMDB environment of another program: " + move_aside};
        unsigned char version[4] = {0, 0, 0, format_version};
        const char* creator = "mercure " MERCURE_VERSION;
        rc = put_meta(txn.get(), meta_, meta_format_version, MDB_val{sizeof version, version});
        if (rc == MDB_SUCCESS)
            rc = put_meta(txn.get(), meta_, meta_creator_version, lmdb::val(creator));
        if (rc != MDB_SUCCESS)
            return error("cannot initialize", rc);
        created = true;
    } else if (rc != MDB_SUCCESS) {
        return corrupt(mdb_strerror(rc));
    } else if (value.mv_size != 4) {
        return corrupt("malformed format version");
    } else if (std::uint64_t version = read_be(value); version > format_version) {
        return Error{"history store " + path_ + " has format version " + std::to_string(version) +
                     ", newer than this mercure reads (" + std::to_string(format_version) +
                     "): upgrade mercure, or " + move_aside};
    } else if (version == 0) {
        return corrupt("format version 0");
    }

    // Sequences continue from the newest key, or from next_sequence once the store was emptied.
    rc = get_meta(txn.get(), meta_, meta_next_sequence, value);
    if (rc == MDB_SUCCESS && value.mv_size == 8)
        next_sequence_ = std::max<std::uint64_t>(read_be(value), 1);
    else if (rc != MDB_NOTFOUND)
        return corrupt(rc == MDB_SUCCESS ? "malformed next sequence" : mdb_strerror(rc));
    {
        lmdb::Cursor cursor;
        if ((rc = lmdb::cursor_open(txn.get(), updates_, cursor)) != MDB_SUCCESS)
            return corrupt(mdb_strerror(rc));
        MDB_val first_key, first_value, last_key, last_value;
        rc = mdb_cursor_get(cursor.get(), &first_key, &first_value, MDB_FIRST);
        if (rc == MDB_SUCCESS)
            rc = mdb_cursor_get(cursor.get(), &last_key, &last_value, MDB_LAST);
        if (rc == MDB_SUCCESS) {
            Update newest;
            RecordHead oldest;
            std::int64_t published_at_ms = 0;
            if (first_key.mv_size != 8 || last_key.mv_size != 8)
                return corrupt("malformed sequence key");
            if (!decode_head(lmdb::view(first_value), oldest) ||
                !decode_record(lmdb::view(last_value), newest, published_at_ms))
                return corrupt("undecodable update record");
            std::uint64_t first = read_be(first_key);
            std::uint64_t last = read_be(last_key);
            if (first == 0 || last - first + 1 != stat.ms_entries)
                return corrupt("sequences are not contiguous");
            first_sequence_ = first;
            next_sequence_ = std::max(next_sequence_, last + 1);
            oldest_published_ms_ = oldest.published_at_ms;
            last_id_ = std::move(newest.id);
        } else if (rc == MDB_NOTFOUND) {
            first_sequence_ = next_sequence_;
        } else {
            return corrupt(mdb_strerror(rc));
        }
    }
    if ((rc = lmdb::commit(txn)) != MDB_SUCCESS)
        return error("cannot initialize", rc);
    if (created && (rc = mdb_env_sync(env, 1)) != MDB_SUCCESS)
        return error("cannot sync", rc);

    if (size() > max_entries_)
        rc = drop_batches(DropRule::Oldest, size() - max_entries_, 0);
    if (rc == MDB_SUCCESS)
        rc = enforce_size_limits();
    if (rc != MDB_SUCCESS)
        return error("cannot apply the retention limits", rc);
    return Ok{};
}

// Runs `body(txn)` in a write transaction and commits it; on MDB_MAP_FULL, grows the map and
// runs it again (so `body` must reset what it reports). Returns an LMDB error code.
template <typename Body>
int LmdbHistory::write(Body body)
{
    for (;;) {
        lmdb::Txn txn;
        int rc = lmdb::txn_begin(env_.get(), 0, txn);
        if (rc == MDB_SUCCESS)
            rc = body(txn.get());
        if (rc == MDB_SUCCESS)
            rc = lmdb::commit(txn);
        txn.reset();
        if (rc == MDB_MAP_FULL && grow_map())
            continue;
        return rc;
    }
}

// Doubles the map, up to max_map_size; false when it is there already or cannot grow.
bool LmdbHistory::grow_map()
{
    if (map_size_ >= max_map_size_)
        return false;
    std::size_t want = map_size_ > max_map_size_ / 2 ? max_map_size_ : map_size_ * 2;
    // Allowed only with no transaction active in this process: the reusable read transaction
    // is only reset between reads, but is freed here all the same.
    reader_.discard();
    if (mdb_env_set_mapsize(env_.get(), want) != MDB_SUCCESS)
        return false;
    MDB_envinfo info{};
    mdb_env_info(env_.get(), &info);
    map_size_ = info.me_mapsize;
    return true;
}

// Pages of every B-tree (not the free ones) times the page size; O(1), no I/O.
std::size_t LmdbHistory::used_bytes(MDB_txn* txn) const
{
    std::size_t pages = 0;
    for (MDB_dbi dbi : {main_dbi, updates_, ids_, meta_}) {
        MDB_stat stat{};
        if (mdb_stat(txn, dbi, &stat) == MDB_SUCCESS)
            pages += stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages;
    }
    return pages * page_size_;
}

// The size the data is kept under: max_bytes, and at most 3/4 of max_map_size.
std::size_t LmdbHistory::byte_limit() const
{
    // A quarter of the largest map stays free for copy-on-write, free and snapshot pages: an
    // LMDB map with no free page cannot even delete.
    std::size_t map_limit = max_map_size_ / 4 * 3;
    return max_bytes_ == 0 ? map_limit : std::min(max_bytes_, map_limit);
}

// The key of an id in the ids database.
std::string LmdbHistory::id_key(std::string_view id) const
{
    // Raw keys never start with NUL, digests always do: the two kinds cannot collide.
    if (!id.empty() && id.size() <= max_key_size_ && id[0] != '\0')
        return std::string(id);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    if (EVP_Digest(id.data(), id.size(), digest, &digest_size, EVP_sha256(), nullptr) != 1) {
        std::fprintf(stderr, "mercure: history store %s: SHA-256 failed\n", path_.c_str());
        std::abort();
    }
    std::string key(1, '\0');
    key.append(reinterpret_cast<const char*>(digest), digest_size);
    return key;
}

// Deletes up to `limit` entries from the front while `rule` says so, with their id mappings;
// reports the count and the new front's time in `dropped`. Returns an LMDB error code.
int LmdbHistory::drop_front(MDB_txn* txn, DropRule rule, std::uint64_t limit, std::int64_t now_ms, Dropped& dropped)
{
    lmdb::Cursor cursor;
    if (int rc = lmdb::cursor_open(txn, updates_, cursor); rc != MDB_SUCCESS)
        return rc;
    std::uint64_t done = 0;
    std::uint64_t last_dropped = 0;
    for (;;) {
        MDB_val key, value;
        int rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_FIRST);
        if (rc == MDB_NOTFOUND)
            break;
        RecordHead head;
        if (rc == MDB_SUCCESS && (key.mv_size != 8 || !decode_head(lmdb::view(value), head)))
            rc = MDB_CORRUPTED;
        if (rc != MDB_SUCCESS)
            return rc;
        dropped.oldest_ms = head.published_at_ms;
        bool drop = done < limit &&
                    (rule == DropRule::Oldest ||
                     (rule == DropRule::TooOld && now_ms - head.published_at_ms > max_age_ms_) ||
                     (rule == DropRule::OverSize && used_bytes(txn) > byte_limit()));
        if (!drop) {
            dropped.count += done;
            return MDB_SUCCESS;
        }
        std::uint64_t sequence = read_be(key);
        std::string ik = id_key(head.id);
        MDB_val id = lmdb::val(ik), pointed;
        // The id index keeps the newest sequence: only a mapping to this entry goes with it.
        rc = mdb_get(txn, ids_, &id, &pointed);
        if (rc == MDB_SUCCESS && pointed.mv_size == 8 && read_be(pointed) == sequence)
            rc = mdb_del(txn, ids_, &id, nullptr);
        else if (rc == MDB_NOTFOUND)
            rc = MDB_SUCCESS;
        if (rc == MDB_SUCCESS)
            rc = mdb_cursor_del(cursor.get(), 0);
        if (rc != MDB_SUCCESS)
            return rc;
        ++done;
        last_dropped = sequence;
    }
    dropped.count += done;
    if (done == 0)
        return MDB_SUCCESS;
    // Emptied: the next sequence must survive a reopen with no key left to derive it from.
    SequenceKey next(last_dropped + 1);
    return put_meta(txn, meta_, meta_next_sequence, next.val());
}

// Brings the memory state in line with a committed front drop.
void LmdbHistory::apply(const Dropped& dropped)
{
    if (dropped.count == 0)
        return;
    first_sequence_ += dropped.count;
    oldest_published_ms_ = dropped.oldest_ms;
    unsynced_ = true;
    if (size() == 0)
        last_id_.reset();
    while (!cache_.empty() && cache_.front()->sequence < first_sequence_)
        cache_.pop_front();
}

// Drops up to `limit` entries by `rule` in transactions of at most drop_batch deletes.
int LmdbHistory::drop_batches(DropRule rule, std::uint64_t limit, std::int64_t now_ms)
{
    while (limit > 0 && size() > 0) {
        std::uint64_t batch = std::min(limit, drop_batch);
        if (rule == DropRule::OverSize)
            batch = std::min<std::uint64_t>(batch, size() - 1);  // keep the newest entry
        if (batch == 0)
            return MDB_SUCCESS;
        Dropped dropped;
        int rc = write([&](MDB_txn* txn) {
            dropped = {};
            return drop_front(txn, rule, batch, now_ms, dropped);
        });
        if (rc != MDB_SUCCESS)
            return rc;
        apply(dropped);
        if (dropped.count < batch)
            return MDB_SUCCESS;
        limit -= dropped.count;
    }
    return MDB_SUCCESS;
}

// Drops the oldest entries while the data exceeds byte_limit(), keeping the newest.
int LmdbHistory::enforce_size_limits()
{
    if (size() <= 1 || bytes_used() <= byte_limit())
        return MDB_SUCCESS;
    return drop_batches(DropRule::OverSize, size() - 1, 0);
}

// Frees pages in a map at max_map_size: drops an eighth of the entries (at least one).
int LmdbHistory::make_room()
{
    if (size() > 0) {
        std::uint64_t count = std::max<std::uint64_t>(1, size() / 8);
        if (int rc = drop_batches(DropRule::Oldest, count, 0); rc != MDB_SUCCESS)
            return rc;
    }
    // LMDB reuses the pages a transaction freed only two commits later: commit once more.
    SequenceKey next(next_sequence_);
    return write([&](MDB_txn* txn) { return put_meta(txn, meta_, meta_next_sequence, next.val()); });
}

// The append transaction: the record, its id mapping, then count and size retention.
int LmdbHistory::append_txn(MDB_txn* txn, std::uint64_t sequence, std::string_view id_key, Dropped& dropped)
{
    dropped = {};
    std::uint64_t stored = sequence - first_sequence_;  // before this append
    if (max_entries_ == 0) {
        int rc = drop_front(txn, DropRule::Oldest, stored, 0, dropped);
        SequenceKey next(sequence + 1);
        return rc != MDB_SUCCESS ? rc : put_meta(txn, meta_, meta_next_sequence, next.val());
    }
    SequenceKey key(sequence);
    MDB_val k = key.val(), v = lmdb::val(record_);
    int rc = mdb_put(txn, updates_, &k, &v, MDB_APPEND);
    if (rc != MDB_SUCCESS)
        return rc;
    MDB_val id = lmdb::val(id_key), seq = key.val();
    if ((rc = mdb_put(txn, ids_, &id, &seq, 0)) != MDB_SUCCESS)
        return rc;
    ++stored;
    if (stored > max_entries_)
        rc = drop_front(txn, DropRule::Oldest, stored - max_entries_, 0, dropped);
    // mdb_stat() reads the transaction's own counters: checking the size on every append is
    // a few additions, no I/O.
    if (rc == MDB_SUCCESS && used_bytes(txn) > byte_limit())
        rc = drop_front(txn, DropRule::OverSize, stored - dropped.count - 1, 0, dropped);
    return rc;
}

Result<std::uint64_t> LmdbHistory::append(Update update, FramePtr frame, std::int64_t now_ms)
{
    std::uint64_t sequence = next_sequence_;
    // Lengths are 32-bit, and an update must leave room for others in the map.
    if (std::size_t size = record_size(update); size > std::min<std::size_t>(max_map_size_ / 4, UINT32_MAX))
        return Error{"update of " + std::to_string(size) + " bytes is too large for history store " + path_ +
                     " (history max_map_size " + std::to_string(max_map_size_) + ")"};
    encode_record(update, now_ms, record_);
    std::string key = id_key(update.id);
    Dropped dropped;
    auto full = [this] {
        return Error{"history store " + path_ + " full at " + std::to_string(map_size_) + " bytes (history max_map_size)"};
    };
    bool emptied = false;
    for (int round = 0;; ++round) {
        int rc = write([&](MDB_txn* txn) { return append_txn(txn, sequence, key, dropped); });
        if (rc == MDB_SUCCESS)
            break;
        if (rc != MDB_MAP_FULL)
            return error("cannot append", rc);
        // The map is at max_map_size: drop the oldest entries to make room, while that frees
        // something (each round drops an eighth of them; the bound is a safety net).
        std::size_t before = size();
        if (round == 200 || (before == 0 && emptied))
            return full();
        emptied = before == 0;
        rc = make_room();
        if (rc == MDB_MAP_FULL && size() == before)
            return full();
        if (rc != MDB_SUCCESS && rc != MDB_MAP_FULL)
            return error("cannot make room", rc);
    }
    if (record_.capacity() > (std::size_t{1} << 20))
        std::string().swap(record_);

    bool was_empty = size() == 0;
    next_sequence_ = sequence + 1;
    if (sync_ != LmdbOptions::Sync::Always)
        unsynced_ = true;
    if (max_entries_ == 0) {
        first_sequence_ = next_sequence_;
        last_id_.reset();
        cache_.clear();
        return sequence;
    }
    if (was_empty)
        oldest_published_ms_ = now_ms;
    apply(dropped);
    last_id_ = update.id;
    if (cache_entries_ > 0) {
        if (!frame)
            frame = make_frame(encode_sse_event(update));
        auto entry = std::make_shared<HistoryEntry>();
        entry->sequence = sequence;
        entry->update = std::move(update);
        entry->frame = std::move(frame);
        entry->published_at_ms = now_ms;
        cache_.push_back(std::move(entry));
        if (cache_.size() > cache_entries_)  // apply() already dropped the evicted ones
            cache_.pop_front();
    }
    return sequence;
}

Status LmdbHistory::flush()
{
    if (sync_ != LmdbOptions::Sync::Batch || !unsynced_)
        return Ok{};
    if (int rc = mdb_env_sync(env_.get(), 1); rc != MDB_SUCCESS)
        return error("cannot sync", rc);
    unsynced_ = false;
    return Ok{};
}

// Renews the reusable read transaction; a failure stops the hub (see fatal()).
MDB_txn* LmdbHistory::begin_read() const
{
    int rc = reader_.begin(env_.get());
    if (rc == MDB_MAP_RESIZED) {
        // Another process grew the map (it cannot hold the lock, but adopting costs nothing).
        reader_.discard();
        rc = mdb_env_set_mapsize(env_.get(), 0);
        if (rc == MDB_SUCCESS)
            rc = reader_.begin(env_.get());
    }
    if (rc != MDB_SUCCESS)
        fatal("cannot begin a read", rc);
    return reader_.get();
}

std::optional<std::uint64_t> LmdbHistory::sequence_of(std::string_view id) const
{
    if (size() == 0)
        return std::nullopt;
    std::string key = id_key(id);
    MDB_txn* txn = begin_read();
    ReadScope scope{reader_};
    MDB_val k = lmdb::val(key), value;
    int rc = mdb_get(txn, ids_, &k, &value);
    if (rc == MDB_NOTFOUND)
        return std::nullopt;
    if (rc != MDB_SUCCESS || value.mv_size != 8)
        fatal("cannot read the id index", rc != MDB_SUCCESS ? rc : MDB_CORRUPTED);
    std::uint64_t sequence = read_be(value);
    if (sequence < first_sequence_ || sequence >= next_sequence_)
        return std::nullopt;
    return sequence;
}

HistoryEntryPtr LmdbHistory::next_after(std::uint64_t after) const
{
    std::uint64_t wanted = after < first_sequence_ ? first_sequence_ : after + 1;
    if (wanted >= next_sequence_ || after == UINT64_MAX)
        return nullptr;
    if (!cache_.empty() && wanted >= cache_.front()->sequence)
        return cache_[static_cast<std::size_t>(wanted - cache_.front()->sequence)];
    return read_entry(wanted);
}

// Decodes one stored entry and rebuilds its frame.
HistoryEntryPtr LmdbHistory::read_entry(std::uint64_t sequence) const
{
    auto entry = std::make_shared<HistoryEntry>();
    entry->sequence = sequence;
    {
        MDB_txn* txn = begin_read();
        ReadScope scope{reader_};
        SequenceKey key(sequence);
        MDB_val k = key.val(), value;
        int rc = mdb_get(txn, updates_, &k, &value);
        if (rc != MDB_SUCCESS)
            fatal("cannot read update " + std::to_string(sequence), rc);
        if (!decode_record(lmdb::view(value), entry->update, entry->published_at_ms))
            fatal("cannot decode update " + std::to_string(sequence), MDB_CORRUPTED);
    }
    entry->frame = make_frame(encode_sse_event(entry->update));
    return entry;
}

void LmdbHistory::expire(std::int64_t now_ms)
{
    if (max_age_ms_ <= 0 || size() == 0 || now_ms - oldest_published_ms_ <= max_age_ms_)
        return;
    if (int rc = drop_batches(DropRule::TooOld, size(), now_ms); rc != MDB_SUCCESS)
        pending_error_ = error("cannot expire old updates", rc);
}

void LmdbHistory::set_limits(std::size_t max_entries, std::int64_t max_age_ms)
{
    max_entries_ = max_entries;
    max_age_ms_ = max_age_ms;
    int rc = size() > max_entries_ ? drop_batches(DropRule::Oldest, size() - max_entries_, 0) : MDB_SUCCESS;
    if (rc != MDB_SUCCESS)
        pending_error_ = error("cannot apply the new limits", rc);
}

void LmdbHistory::set_max_bytes(std::size_t max_bytes)
{
    max_bytes_ = max_bytes;
    if (int rc = enforce_size_limits(); rc != MDB_SUCCESS)
        pending_error_ = error("cannot apply the new size limit", rc);
}

std::size_t LmdbHistory::bytes_on_disk() const
{
    MDB_envinfo info{};
    mdb_env_info(env_.get(), &info);
    return (info.me_last_pgno + 1) * page_size_;
}

std::size_t LmdbHistory::bytes_used() const
{
    MDB_txn* txn = begin_read();
    ReadScope scope{reader_};
    return used_bytes(txn);
}

std::optional<Error> LmdbHistory::take_error()
{
    std::optional<Error> taken = std::move(pending_error_);
    pending_error_.reset();
    return taken;
}

// An expected failure, naming the store.
Error LmdbHistory::error(const std::string& what, int rc) const
{
    return Error{"history store " + path_ + ": " + what + ": " + mdb_strerror(rc)};
}

// A read found the store unusable and the caller has no error channel: stop loudly.
void LmdbHistory::fatal(const std::string& what, int rc) const
{
    std::fprintf(stderr, "mercure: history store %s: %s: %s; the store is unreadable or corrupt: %s\n",
                 path_.c_str(), what.c_str(), mdb_strerror(rc), move_aside);
    std::abort();
}

} // namespace mercure
