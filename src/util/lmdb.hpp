// RAII owners for LMDB handles (environment, transaction, cursor) and MDB_val helpers.
#pragma once
#include <lmdb.h>

#include <memory>
#include <string_view>

namespace mercure::lmdb {

// Closes an environment: its map, its files and the locks it holds.
struct EnvClose {
    void operator()(MDB_env* env) const { mdb_env_close(env); }
};
using Env = std::unique_ptr<MDB_env, EnvClose>;

// Aborts a transaction that was not committed (a reset read-only transaction is freed too).
struct TxnAbort {
    void operator()(MDB_txn* txn) const { mdb_txn_abort(txn); }
};
using Txn = std::unique_ptr<MDB_txn, TxnAbort>;

// Closes a cursor. LMDB frees a write transaction's cursors when the transaction ends, so a
// Cursor on a write transaction must be destroyed (or reset) before commit() or the Txn's
// destruction: declare it after its Txn, in the same scope. A read-only transaction's cursor
// may outlive it and be renewed with mdb_cursor_renew().
struct CursorClose {
    void operator()(MDB_cursor* cursor) const { mdb_cursor_close(cursor); }
};
using Cursor = std::unique_ptr<MDB_cursor, CursorClose>;

// Creates an environment handle into `out`; returns an LMDB error code.
inline int env_create(Env& out)
{
    MDB_env* env = nullptr;
    int rc = mdb_env_create(&env);
    out.reset(rc == MDB_SUCCESS ? env : nullptr);
    return rc;
}

// Begins a transaction (MDB_RDONLY in `flags` for a read-only one) into `out`.
inline int txn_begin(MDB_env* env, unsigned int flags, Txn& out)
{
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env, nullptr, flags, &txn);
    out.reset(rc == MDB_SUCCESS ? txn : nullptr);
    return rc;
}

// Commits `txn`; LMDB frees the handle whatever the outcome, so `txn` is empty afterwards.
inline int commit(Txn& txn)
{
    return mdb_txn_commit(txn.release());
}

// Opens a cursor on `dbi` in `txn` into `out`.
inline int cursor_open(MDB_txn* txn, MDB_dbi dbi, Cursor& out)
{
    MDB_cursor* cursor = nullptr;
    int rc = mdb_cursor_open(txn, dbi, &cursor);
    out.reset(rc == MDB_SUCCESS ? cursor : nullptr);
    return rc;
}

// An MDB_val viewing `bytes`; LMDB only reads through it (no MDB_RESERVE).
inline MDB_val val(std::string_view bytes)
{
    return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

// The bytes an MDB_val points to; valid only until its transaction ends or writes.
inline std::string_view view(const MDB_val& value)
{
    return {static_cast<const char*>(value.mv_data), value.mv_size};
}

// A read-only transaction kept for reuse: begin() renews it and end() resets it, so a short
// read costs neither a reader-slot allocation nor a malloc. Needs an environment opened with
// MDB_NOTLS when used from more than one thread; here it serves one event loop.
class ReadTxn {
public:
    // Starts (or renews) the snapshot; returns an LMDB error code.
    int begin(MDB_env* env)
    {
        if (txn_)
            return mdb_txn_renew(txn_.get());
        return txn_begin(env, MDB_RDONLY, txn_);
    }

    // Releases the snapshot, keeping the handle for the next begin().
    void end()
    {
        if (txn_)
            mdb_txn_reset(txn_.get());
    }

    // Frees the handle (before the map is resized, for instance).
    void discard() { txn_.reset(); }

    MDB_txn* get() const { return txn_.get(); }

private:
    Txn txn_;
};

} // namespace mercure::lmdb
