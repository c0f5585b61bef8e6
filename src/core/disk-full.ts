/**
 * A store write that failed for want of space, or for an error that names no cause: said as such.
 *
 * LMDB reports a write(2) that wrote less than it was asked as EIO ("short write, filesystem
 * full?" in mdb.c), and a short write is what running out of space in the middle of a commit
 * gives: the user then saw "Input/output error" for a full disk. After such a write the disk has
 * next to nothing free (the write took what there was), while an EIO of a failing disk leaves its
 * free space as it was: so an EIO with under FULL_BELOW free on the store's file system is a full
 * disk.
 */
import { readFileSync, statfsSync, statSync } from 'node:fs';
import { errnoName, GritError, isWriteRefused } from './errors.js';
import { writeDenied } from './write-access.js';
import { storeFiles } from './store-file.js';

const FULL_BELOW = 1 << 20;

/**
 * LMDB makes a new store's lock file sparse and initializes it through a memory map: with no
 * block left for that page, the process dies of SIGBUS, which no try/catch turns into an error
 * (seen at 0 and 8 KiB free). A new store also needs a few pages for its meta pages and layout
 * mark; this is well above all of that.
 */
const NEW_STORE_BYTES = 64 << 10;

/** Bytes an unprivileged user may still write on the file system holding `dir`; null when it cannot be told. */
function freeBytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/** What to do about a full disk that a store write met. */
const STORE_SUGGESTION = 'free space on that disk: nothing written is lost (the WAL has it), and the next command catches the store up';

function fullDisk(dir: string, path: string, errno: string, free: number | null, suggestion = STORE_SUGGESTION): GritError {
  const quota = errno === 'EDQUOT' ? ' for this user (its disk quota is used up)' : '';
  return new GritError('io_error', `the disk holding ${dir} is full${quota} (${free ?? 'unknown'} bytes free)`, {
    details: { path, errno, free_bytes: free, disk_full: true },
    suggestion,
  });
}

/**
 * The io_error for a write to `path`, in `dir`, that failed with `err` because the disk holding
 * `dir` is full (ENOSPC, EDQUOT, or LMDB's EIO with next to nothing free), or null. Its suggestion
 * is to free space, after which the next command catches the store up; `suggestion` says what to
 * do for a file that is not the store's.
 */
export function diskFullError(dir: string, path: string, err: unknown, suggestion?: string): GritError | null {
  const errno = errnoOf(err);
  if (errno !== 'ENOSPC' && errno !== 'EDQUOT' && errno !== 'EIO') return null;
  const free = freeBytes(dir);
  if (errno === 'EIO' && (free === null || free >= FULL_BELOW)) return null;
  return fullDisk(dir, path, errno, free, suggestion);
}

/**
 * The disk-full error for the store in `dir` (its data file `path`) when its disk has next to
 * nothing free now (under FULL_BELOW, where an EIO counts as a full disk): what doctor says of a
 * store that lacks events, without writing it to find out. Null when there is room, or the free
 * space cannot be told.
 */
export function fullNow(dir: string, path: string): GritError | null {
  const free = freeBytes(dir);
  return free !== null && free < FULL_BELOW ? fullDisk(dir, path, 'ENOSPC', free) : null;
}

/** The errors a store write can meet that mean the store cannot be written now (not that it is damaged). */
const UNWRITABLE = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EFBIG', 'EROFS', 'EACCES', 'EPERM']);

/** `err` marked as a failure to write the store: it is as it was, and a read may answer from it (RepoContext.read). */
const unwritable = (err: GritError): GritError =>
  new GritError('io_error', err.message, { details: { ...err.details, store_unwritable: true }, suggestion: err.suggestion });

/**
 * The io_error for a write to the store in `dir` (its data file `path`) that failed with `err`, or
 * null when `err` is not such a failure (a GritError, an LMDB code). Its details carry
 * `store_unwritable: true`.
 */
export function storeWriteError(dir: string, path: string, err: unknown): GritError | null {
  const errno = errnoOf(err);
  if (!errno || !UNWRITABLE.has(errno)) return null;
  const denied = isWriteRefused(errno) ? writeDenied(dir, storeFiles(path)) : null;
  if (denied) return denied;
  const full = diskFullError(dir, path, err);
  if (full) return unwritable(full);
  // A commit that crossed the limit was cut short at it, which LMDB reports as EIO.
  const limited = errno === 'EFBIG' ? atFileSizeLimit(path) : errno === 'EIO' ? pastFileSizeLimit(path) : null;
  if (limited) return limited;
  const free = freeBytes(dir);
  const message = (err as Error).message || errno;
  return new GritError('io_error', `the store at ${path} could not be written: ${message} (${errno}; ${free ?? 'unknown'} bytes free on its disk)`, {
    details: { path, errno, free_bytes: free, store_unwritable: true },
    suggestion: 'check the disk (`dmesg`); the store is a cache: `grit doctor --fix` rebuilds it from the WAL',
  });
}

/**
 * Free space under which a store write is refused before LMDB tries (`noRoomForStoreWrite`): a
 * disk this full takes no commit but the smallest, and it is where a page write fails outright.
 */
const STORE_WRITE_BELOW = 64 << 10;

/**
 * The disk-full error, before a write transaction, for a store on a disk with under
 * STORE_WRITE_BELOW free; null when there is more. A page write that fails outright for want of
 * space makes lmdb-js's C code (mdb.c, mdb_page_flush) print `Write error: …` and format its
 * error, "Attempting to write page at position …", into a 100-byte buffer that a bigger store's
 * position overruns: each such failure corrupts the heap, and a process that meets a few hundred
 * (a daemon or a library caller catching a store up on a full disk) aborts with
 * `malloc(): invalid size`. Checked here, LMDB does not try; a commit bigger than the room left
 * fails part-way, once, with a short write (EIO), which overruns nothing.
 */
export function noRoomForStoreWrite(dir: string, path: string): GritError | null {
  const free = freeBytes(dir);
  return free !== null && free < STORE_WRITE_BELOW ? unwritable(fullDisk(dir, path, 'ENOSPC', free)) : null;
}

/** The store's error under a file size limit: a cache that cannot grow, nothing written lost. */
function atFileSizeLimit(path: string): GritError {
  return new GritError('io_error', `the store at ${path} cannot grow: it is at this process's file size limit`, {
    details: { path, errno: 'EFBIG', store_unwritable: true },
    suggestion: 'raise the file size limit (`ulimit -f`): nothing written is lost (the WAL has it), and the next command catches the store up',
  });
}

/**
 * This process's file size limit in bytes (`ulimit -f`, RLIMIT_FSIZE), or null when it has none or
 * the system does not say (/proc/self/limits is Linux's). Read once: only prlimit(1) from outside
 * changes it, and a daemon's worker writes thousands of times a second.
 */
let sizeLimit: number | null | undefined;
function fileSizeLimit(): number | null {
  if (sizeLimit !== undefined) return sizeLimit;
  let soft: string | undefined;
  try {
    soft = /^Max file size\s+(\d+)\s/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
  } catch {
    /* not Linux: no limit known */
  }
  return (sizeLimit = soft === undefined ? null : Number(soft));
}

/**
 * The EFBIG error, before a write transaction, for a store whose data file reaches this process's
 * file size limit; null when it does not. LMDB's own write of a page at or past the limit fails
 * with EFBIG, and lmdb-js's C code then prints `Write error: File too large position …` on
 * stderr (an fprintf no option turns off) besides grit's error: checked here, LMDB never tries.
 * (A commit that crosses the limit from below is cut short at it, which LMDB does not print.)
 */
export function pastFileSizeLimit(path: string): GritError | null {
  const limit = fileSizeLimit();
  if (limit === null) return null;
  const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
  return size >= limit ? atFileSizeLimit(path) : null;
}

/**
 * The disk-full error for a store LMDB would have to make files for (its data file or lock file
 * missing, or holding no block yet) on a disk with too little room to do so without crashing;
 * null when it may go ahead.
 */
export function noRoomForNewStore(dir: string, path: string): GritError | null {
  const fresh = storeFiles(path).some((file) => {
    try {
      return statSync(file).blocks === 0;
    } catch {
      return true;
    }
  });
  if (!fresh) return null;
  const free = freeBytes(dir);
  return free !== null && free < NEW_STORE_BYTES ? unwritable(fullDisk(dir, path, 'ENOSPC', free)) : null;
}

/** The errno name of a failure thrown by node (`ENOSPC`) or LMDB (28); null for a GritError or anything else. */
function errnoOf(err: unknown): string | null {
  return err instanceof GritError ? null : errnoName((err as { code?: unknown } | null)?.code);
}
