// Package badgerstore implements store.Store on an embedded Badger (v4)
// database: one directory, no server, one process at a time (Badger holds
// a lock file).
//
// # Durability
//
// Badger runs with SyncWrites=false: a committed transaction sits in the
// memtable's write-ahead log and the value log, both memory-mapped, so it
// survives a crash of the process but not a power loss. Calls that must
// survive a power loss (durable Enqueue and Finish, and every
// configuration write: workspaces, users, tokens, scripts, variables,
// resources, state, schedules and their run state, key rotation, Restore)
// commit and then wait for an fsync (DB.Sync) that started after their
// commit. Such waits are grouped: while one fsync runs, every caller that
// arrives queues behind it, and the next fsync covers all of them (group
// commit, see groupSync). The job hot path — Claim, Heartbeat, Requeue,
// AppendLogs, PurgeJobs and the non-durable Enqueue/Finish — never waits
// for the disk: after a crash a job that was running shows up in Running()
// and the server requeues it.
// Leases (AcquireLease) are not fsync'd either: one lost to a power cut
// belonged to a process that stopped with it.
//
// # Key layout
//
// Strings inside keys are separated by a 0 byte (so workspace ids, paths
// and job ids may not contain one); integers are big-endian so that byte
// order is numeric order; times are Unix nanoseconds with the sign bit
// flipped.
//
//	m/format                          format version ("1")
//	w/<ws>                            Workspace
//	u/<ws>\0<name>                    User
//	t/<hash>                          Token (by SHA-256 of the token)
//	ti/<ws>\0<prefix>\0<hash>         token index: ListTokens, DeleteTokens by prefix
//	sv/<ws>\0<hash>                   Script version (immutable)
//	sl/<ws>\0<path>                   latest pointer {hash, seq, archived}
//	sh/<ws>\0<path>\0<seq u64>        history: seq → hash (newest = highest seq)
//	v/<ws>\0<path>                    Variable (secret values as AES-GCM ciphertext)
//	rs/<ws>\0<path>                   Resource
//	st/<ws>\0<key>                    state (compact JSON)
//	j/<id>                            Job (UUIDv7 ids sort by creation time)
//	jq/<^prio u64><sched u64><id>     queue: priority desc, ScheduledFor asc, id
//	jr/<id>                           running jobs
//	jd/<completed u64><id>            finished jobs by completion time (PurgeJobs)
//	l/<id>\0<offset u64>              log chunk starting at byte offset
//	sc/<ws>\0<path>                   Schedule (settings and run state)
//	le/<name>                         lease {owner, until} (the scheduler's leader)
//
// Claim does not scan jq/: every claimed job leaves a tombstone at the
// front of the index until a compaction drops it, and a scan that skips
// them got slower with every claim (~1,000 claims/s after 10,000 jobs).
// Instead a mirror of jq/ lives in memory (memQueue: a heap per
// priority, ~100 bytes per queued job), rebuilt at Open. It only proposes
// a candidate: Claim re-reads that job's jq/ key and record in a Badger
// transaction, so a claim racing with a Finish or Requeue of the same job
// fails with a conflict and is retried, and no job is handed out twice.
// Claims are serialised by a mutex (one process owns the database).
//
// # Secrets
//
// Secret variable values are sealed with AES-256-GCM under a key kept in a
// separate file (Options.KeyFile), never inside the Badger directory and
// never in a backup: back the key file up separately, or the secrets in a
// backup are lost. The file holds one hex key per line; the first is
// current, the others decrypt older ciphertexts. A ciphertext is
//
//	0x01 | key id (4 bytes) | nonce (12 bytes) | sealed value + tag
//
// with the key id the first 4 bytes of SHA-256("runlet key id\0"+key), and
// the workspace and path as additional data (a ciphertext copied to another
// variable does not open). RotateKey writes a new first key (the file is
// replaced atomically: temporary file, fsync, rename, fsync of the
// directory) and then re-encrypts every secret under it. The old keys stay
// in the file so older backups still decrypt; delete their lines by hand
// once no backup needs them. Old ciphertexts may linger in Badger's files
// until compaction rewrites them.
//
// # Memory
//
// Badger's defaults suit a database server (five 64 MiB memtables, a 256
// MiB block cache, unbounded index memory). Here: two 8 MiB memtables, 1
// MiB base tables (4 MiB level 1), a 16 MiB block cache, an 8 MiB index
// cache, two compactors, 128 MiB value-log files, no Badger metrics. The
// store then adds ~12 MiB RSS at open. Under a burst (50,000 jobs with 1
// KiB of arguments enqueued, claimed, logged and finished as fast as
// possible) the Go heap peaked at ~145 MiB — mostly the buffers of the
// table builders that flush memtables and compact (each sized to twice
// its table) — and fell back to ~25 MiB of live heap within 20 s as
// Badger's allocator pool released them. With 16 MiB memtables and 2 MiB
// tables the peak was ~230 MiB. The Go runtime returns freed memory to the
// OS lazily: set GOMEMLIMIT in the server to bound RSS. Values up to 1 MiB
// stay in the LSM tree; larger ones (big Wasm modules, bundles) go to the
// value log, which a background loop garbage-collects every
// Options.GCInterval.
package badgerstore
