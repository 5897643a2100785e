package sqlite

// Reading a chunk through SQLite's incremental blob API. A chunk selected
// as a column crosses memory three times before it reaches a body's
// buffer: SQLite copies the value out of its pages into a register, the
// driver copies the register into a new Go slice per row (whose garbage
// the collector then sweeps), and the body copies that slice into its
// buffer. sqlite3_blob_read copies the bytes once, from the pages straight
// into the buffer, and allocates nothing. The driver has no binding for
// the blob API, so the few functions are declared here (they are part of
// the SQLite the driver links, whether its own copy or the system's), and
// each connection reports its own handle through an SQL function,
// imapd_connection(), registered on every connection as it opens.

/*
#include <stdint.h>

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_blob sqlite3_blob;
typedef struct sqlite3_context sqlite3_context;
typedef struct sqlite3_value sqlite3_value;
typedef struct sqlite3_api_routines sqlite3_api_routines;

extern int sqlite3_auto_extension(void (*)(void));
extern int sqlite3_create_function(sqlite3 *, const char *, int, int, void *,
	void (*)(sqlite3_context *, int, sqlite3_value **),
	void (*)(sqlite3_context *, int, sqlite3_value **),
	void (*)(sqlite3_context *));
extern sqlite3 *sqlite3_context_db_handle(sqlite3_context *);
extern void sqlite3_result_int64(sqlite3_context *, long long);
extern int sqlite3_blob_open(sqlite3 *, const char *, const char *, const char *,
	long long, int, sqlite3_blob **);
extern int sqlite3_blob_bytes(sqlite3_blob *);
extern int sqlite3_blob_read(sqlite3_blob *, void *, int, int);
extern int sqlite3_blob_close(sqlite3_blob *);

static void imapd_connection(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
	(void)argc;
	(void)argv;
	sqlite3_result_int64(ctx, (long long)(intptr_t)sqlite3_context_db_handle(ctx));
}

static int imapd_connection_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
	(void)err;
	(void)api;
	// SQLITE_UTF8 (1), the function taking no text, and SQLITE_DIRECTONLY
	// (0x80000): a trigger or view in a database file cannot call it.
	return sqlite3_create_function(db, "imapd_connection", 0, 1 | 0x80000, 0, imapd_connection, 0, 0);
}

static int imapd_register(void) {
	return sqlite3_auto_extension((void (*)(void))imapd_connection_init);
}

// imapd_read_blob opens the blob, checks its size and reads it whole into
// buf; -1 for a blob of another size, else an SQLite result code.
static int imapd_read_blob(uintptr_t db, long long row, void *buf, int n) {
	sqlite3_blob *b = 0;
	int rc = sqlite3_blob_open((sqlite3 *)db, "main", "chunks", "data", row, 0, &b);
	if (rc != 0) {
		sqlite3_blob_close(b);
		return rc;
	}
	if (sqlite3_blob_bytes(b) != n) {
		sqlite3_blob_close(b);
		return -1;
	}
	rc = n > 0 ? sqlite3_blob_read(b, buf, n, 0) : 0;
	sqlite3_blob_close(b);
	return rc;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

func init() {
	if rc := C.imapd_register(); rc != 0 {
		panic(fmt.Sprintf("sqlite: registering imapd_connection: result %d", rc))
	}
}

// readChunk reads the chunk in row (a rowid of chunks) whole into buf,
// which must have its exact size, on the connection whose handle is conn
// (the value of imapd_connection() on it). The caller holds that
// connection, with a statement of it still open so that the read sees the
// statement's snapshot.
func readChunk(conn, row int64, buf []byte) error {
	var p unsafe.Pointer
	if len(buf) > 0 {
		p = unsafe.Pointer(&buf[0])
	}
	switch rc := C.imapd_read_blob(C.uintptr_t(conn), C.longlong(row), p, C.int(len(buf))); rc {
	case 0:
		return nil
	case -1:
		return fmt.Errorf("chunk row %d is not %d bytes long", row, len(buf))
	default:
		return fmt.Errorf("reading chunk row %d: SQLite result %d", row, int(rc))
	}
}
